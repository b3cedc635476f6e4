/**
 * One assignments message from the manager, decoded, and how two queued ones
 * fold into one. While the agent applies a message, the manager may send
 * several more (a deploy changes the network views with every task that
 * starts); applying only their sum saves the agent from walking through every
 * intermediate view.
 */
import type { AssignedTask, NetworkView, NodeBlob, PortRule } from '../../shared/proto/codec';
import type { NetworkKeyring } from '../../shared/network-keys';

export interface Assignments {
  /** Authoritative: the node's whole set of tasks, anything else is no longer its own. */
  full: boolean;
  tasks: AssignedTask[];
  removed: string[];
  networks: NetworkView[];
  removedNetworks: string[];
  /** The node's whole set of published ports, or null when unchanged. */
  ports: PortRule[] | null;
  /** The encrypted networks' keyring (empty: this node needs none), or null when unchanged. */
  networkKeys: NetworkKeyring | null;
  /** Secrets and configs the node's tasks need and it does not hold yet (all of them when full), and those it may drop. */
  blobs: NodeBlob[];
  removedBlobs: string[];
}

/** What applying `a` and then `b` amounts to. */
export function mergeAssignments(a: Assignments, b: Assignments): Assignments {
  if (b.full) return b;
  const { items: tasks, removed } = fold(a.tasks, a.removed, b.tasks, b.removed);
  const { items: networks, removed: removedNetworks } = fold(a.networks, a.removedNetworks, b.networks, b.removedNetworks);
  const { items: blobs, removed: removedBlobs } = fold(a.blobs, a.removedBlobs, b.blobs, b.removedBlobs);
  return { full: a.full, tasks, removed, networks, removedNetworks, ports: b.ports ?? a.ports, networkKeys: b.networkKeys ?? a.networkKeys, blobs, removedBlobs };
}

/** Later versions replace earlier ones; a removal drops an earlier version, a later version undoes a removal. */
function fold<T extends { id: string }>(aItems: T[], aRemoved: string[], bItems: T[], bRemoved: string[]): { items: T[]; removed: string[] } {
  const items = new Map(aItems.map((x) => [x.id, x]));
  const removed = new Set(aRemoved);
  for (const id of bRemoved) {
    items.delete(id);
    removed.add(id);
  }
  for (const x of bItems) {
    items.set(x.id, x);
    removed.delete(x.id);
  }
  return { items: [...items.values()], removed: [...removed] };
}
