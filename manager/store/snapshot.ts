/** A consistent-enough read of what the reconcilers need, with revisions for guarded writes. */
import type { ClusterNode, Service, Task } from '../../shared/types';
import { Keys } from '../../shared/keys';
import type { Store, Versioned, WriteOp } from './store';
import type { StoreView } from './view';
import type { TaskActions } from '../orchestrator/actions';

export interface Snapshot {
  services: Service[];
  tasks: Task[];
  nodes: ClusterNode[];
  revisions: Map<string, string>;
}

function collect<T>(items: Versioned<T>[], revisions: Map<string, string>): T[] {
  for (const i of items) revisions.set(i.key, i.modRevision);
  return items.map((i) => i.value);
}

function snapshotOf(services: Versioned<Service>[], tasks: Versioned<Task>[], nodes: Versioned<ClusterNode>[]): Snapshot {
  const revisions = new Map<string, string>();
  return { services: collect(services, revisions), tasks: collect(tasks, revisions), nodes: collect(nodes, revisions), revisions };
}

export async function readSnapshot(store: Store): Promise<Snapshot> {
  const [services, tasks, nodes] = await Promise.all([
    store.list<Service>(Keys.services),
    store.list<Task>(Keys.tasks),
    store.list<ClusterNode>(Keys.nodes),
  ]);
  return snapshotOf(services, tasks, nodes);
}

/**
 * The same from the manager's watch-fed view, without a round trip. It may lag etcd by a watch
 * event (the writer's own last write included): fine for passes whose every write is guarded by a
 * mod revision, which then conflicts and is tried again; not for ones that create tasks.
 */
export function viewSnapshot(view: StoreView): Snapshot {
  return snapshotOf(view.list<Service>(Keys.services), view.list<Task>(Keys.tasks), view.list<ClusterNode>(Keys.nodes));
}

/** Turns task actions into guarded writes against the snapshot they were computed from. */
export function taskWrites(actions: TaskActions, snap: Snapshot): WriteOp[] {
  const guard = (key: string) => {
    const rev = snap.revisions.get(key);
    return rev === undefined ? null : { modRevision: rev };
  };
  const ops: WriteOp[] = [];
  // An id may be both updated and removed in one pass; removal wins.
  const removed = new Set(actions.remove);
  const updated = new Set<string>();
  for (const t of actions.create) ops.push({ put: Keys.task(t.id), value: t, guard: { absent: true } });
  for (const t of actions.update) {
    if (removed.has(t.id) || updated.has(t.id)) continue;
    updated.add(t.id);
    ops.push({ put: Keys.task(t.id), value: t, guard: guard(Keys.task(t.id)) });
  }
  for (const id of removed) ops.push({ del: Keys.task(id), guard: guard(Keys.task(id)) });
  return ops;
}
