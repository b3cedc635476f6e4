/**
 * Global services: one live task on every node that is ready and active.
 * Drained nodes lose theirs; down and paused nodes keep a healthy one but get
 * no new one. Pure: (service, nodes, tasks) → actions.
 */
import type { ClusterNode, Service, Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';
import { emptyActions, type TaskActions } from './actions';
import { newTask, withDesired } from './task-factory';
import { restartPending } from './restart';
import { nodeMeetsConstraints } from '../../shared/constraints';

export function nodeIsEligible(n: ClusterNode): boolean {
  return n.status.state === 'ready' && n.availability === 'active';
}

export function reconcileGlobal(service: Service, nodes: ClusterNode[], tasks: Task[], now: string, restartDelayMs = 0): TaskActions {
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
  const eligible = new Set(nodes.filter(nodeIsEligible).map((n) => n.id));
  for (const node of nodes) {
    const live = byNode.get(node.id) ?? [];
    // As Swarm: a global service runs only on the nodes its constraints admit, and leaves a node
    // that stops meeting them (a label removed).
    if (node.availability === 'drain' || !nodeMeetsConstraints(service.spec.task.placement.constraints, node)) {
      for (const t of live) out.update.push(withDesired(t, 'shutdown'));
      continue;
    }
    const healthy = live.filter((t) => !isTerminal(t.status.state) && t.specVersion === service.specVersion);
    const keep = healthy.find((t) => t.status.state === 'running') ?? healthy[0];
    // A node that is down or paused keeps the task it has (it cannot run anywhere
    // else, and a node back from a short absence should not restart it), but gets no new one.
    for (const t of live) if (t !== keep) out.update.push(withDesired(t, 'shutdown'));
    if (!keep && eligible.has(node.id) && !restartPending(history.get(node.id) ?? [], now, restartDelayMs)) out.create.push(newTask(service, null, node, now));
  }
  // Tasks on nodes that no longer exist.
  const known = new Set(nodes.map((n) => n.id));
  for (const [nodeId, live] of byNode) {
    if (known.has(nodeId)) continue;
    for (const t of live) out.update.push(withDesired(t, 'shutdown'));
  }
  return out;
}
