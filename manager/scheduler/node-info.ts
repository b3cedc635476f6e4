/**
 * What one scheduling pass knows of a node: the node, the tasks it runs and the capacity their
 * reservations leave (SwarmKit's NodeInfo). Built from the store's tasks at the start of a pass and
 * updated as the pass places tasks, so each placement sees the ones made before it in the same pass.
 */
import type { ClusterNode, Task } from '../../shared/types';
import { TaskState, isTerminal } from '../../shared/task-state';

export interface Capacity {
  memoryBytes: number;
  nanoCpus: number;
  /** Generic resources by kind (`gpu`); a kind the node does not offer is absent (none). */
  generic: Map<string, number>;
}

export interface NodeInfo {
  readonly node: ClusterNode;
  /** Tasks placed here and meant to run: what spread and max-replicas count (Swarm's active tasks). */
  active: number;
  activeByService: Map<string, number>;
  /** The node's capacity minus the reservations of the tasks placed here that have not stopped. */
  free: Capacity;
}

/** Placed on its node (assigned or later) and not stopped yet: its container may be running there. */
function isPlaced(t: Task): boolean {
  return t.nodeId !== null && TaskState[t.status.state] >= TaskState.assigned && !isTerminal(t.status.state);
}

/**
 * A task holds its reservation while it is placed, whatever its desired state: one being shut down
 * still runs and uses its memory until the agent reports it stopped, and that report starts the
 * pass that hands the capacity on (SwarmKit does the same). Only desired-running ones count as load.
 */
export function addTask(info: NodeInfo, t: Task): void {
  const r = t.spec.resources.reservations;
  info.free.memoryBytes -= r.memoryBytes ?? 0;
  info.free.nanoCpus -= r.nanoCpus ?? 0;
  for (const [kind, n] of Object.entries(r.generic)) info.free.generic.set(kind, (info.free.generic.get(kind) ?? 0) - n);
  if (t.desiredState !== 'running') return;
  info.active++;
  info.activeByService.set(t.serviceId, (info.activeByService.get(t.serviceId) ?? 0) + 1);
}

export function capacityOf(node: ClusterNode): Capacity {
  return { memoryBytes: node.resources.memoryBytes, nanoCpus: node.resources.nanoCpus, generic: new Map(Object.entries(node.resources.generic ?? {})) };
}

/** One NodeInfo per node, in the nodes' order, with the placed tasks of `tasks` counted in. */
export function nodeInfos(nodes: ClusterNode[], tasks: Task[]): NodeInfo[] {
  const infos = nodes.map((node): NodeInfo => ({ node, active: 0, activeByService: new Map(), free: capacityOf(node) }));
  const byId = new Map(infos.map((i) => [i.node.id, i]));
  for (const t of tasks) {
    const info = t.nodeId === null ? undefined : byId.get(t.nodeId);
    if (info && isPlaced(t)) addTask(info, t);
  }
  return infos;
}
