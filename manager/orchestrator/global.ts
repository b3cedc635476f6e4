/**
 * Global services: one live task on every node that is ready and active.
 * Drained nodes lose theirs; down and paused nodes keep a healthy one but get
 * no new one. A task that ended on its own is replaced as the restart policy
 * says (restart.ts); one of an older spec stays until the updater (update/)
 * replaces it. Pure: (service, nodes, tasks) → actions.
 */
import type { ClusterNode, Service, Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';
import { emptyActions, type TaskActions } from './actions';
import { newTask, withDesired } from './task-factory';
import { refill } from './restart';
import { keepers } from './keepers';
import { nodeMeetsConstraints } from '../../shared/constraints';

export function nodeIsEligible(n: ClusterNode): boolean {
  return n.status.state === 'ready' && n.availability === 'active';
}

/** The nodes a global service should run on now. */
export function globalNodes(service: Service, nodes: ClusterNode[]): ClusterNode[] {
  return nodes.filter((n) => n.availability !== 'drain' && nodeMeetsConstraints(service.spec.task.placement.constraints, n));
}

export function reconcileGlobal(service: Service, nodes: ClusterNode[], tasks: Task[], now: string): TaskActions {
  const out = emptyActions();
  const byNode = new Map<string, Task[]>();
  const history = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.serviceId !== service.id || t.nodeId === null) continue;
    history.set(t.nodeId, [...(history.get(t.nodeId) ?? []), t]);
    if (t.desiredState !== 'running') continue;
    const list = byNode.get(t.nodeId) ?? [];
    list.push(t);
    byNode.set(t.nodeId, list);
  }
  const wanted = new Set(globalNodes(service, nodes).map((n) => n.id));
  const down = new Set(nodes.filter((n) => n.status.state === 'down').map((n) => n.id));
  for (const node of nodes) {
    const live = byNode.get(node.id) ?? [];
    // As Swarm: a global service runs only on the nodes its constraints admit, and leaves a node
    // that stops meeting them (a label removed).
    if (!wanted.has(node.id)) {
      for (const t of live) out.update.push(withDesired(t, 'shutdown'));
      continue;
    }
    const candidates = live.filter((t) => !isTerminal(t.status.state));
    const kept = keepers(candidates, service);
    // A node that is down or paused keeps the task it has (it cannot run anywhere
    // else, and a node back from a short absence should not restart it), but gets no new one.
    for (const t of live) if (t !== kept.current && t !== kept.older) out.update.push(withDesired(t, 'shutdown'));
    if (kept.current ?? kept.older) continue;
    if (!nodeIsEligible(node)) continue;
    const r = refill(history.get(node.id) ?? [], service, now, (t) => t.nodeId !== null && down.has(t.nodeId));
    if (r.kind === 'now') out.create.push(newTask(service, null, node, now, r.restarts));
  }
  // Tasks on nodes that no longer exist.
  const known = new Set(nodes.map((n) => n.id));
  for (const [nodeId, live] of byNode) {
    if (known.has(nodeId)) continue;
    for (const t of live) out.update.push(withDesired(t, 'shutdown'));
  }
  return out;
}
