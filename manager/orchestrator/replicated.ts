/**
 * Replicated services: exactly `replicas` live tasks, one per slot 1..N.
 * Pure: (service, tasks, nodes) → actions. A task is live while its desired
 * state is running; a live task that has stopped is retired and its slot
 * refilled (restart policy "any", after the restart delay); a task made from
 * an older spec version is replaced. A task whose node is down or gone is
 * orphaned and replaced at once. A task on a draining node is replaced new
 * first: it keeps running until its replacement runs (or has had
 * DRAIN_HANDOVER_MS to get there, so a drain always empties the node).
 */
import type { ClusterNode, Service, Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';
import { emptyActions, type TaskActions } from './actions';
import { newTask, withDesired } from './task-factory';
import { restartPending } from './restart';
import { nodeMeetsConstraints } from '../../shared/constraints';

export const DRAIN_HANDOVER_MS = 10_000;

/** Why a task's node cannot run it any more, or null when it can (or the task has no node yet). */
function lostReason(t: Task, nodes: Map<string, ClusterNode> | null): string | null {
  if (nodes === null || t.nodeId === null) return null;
  const n = nodes.get(t.nodeId);
  if (n === undefined) return 'node removed from the cluster';
  if (n.status.state === 'down') return 'node down';
  return null;
}

/**
 * SwarmKit's constraint enforcer: a task whose node no longer meets its placement constraints (a
 * label removed) leaves it; its replacement goes where they hold, or waits with the reason.
 */
function constraintsLost(t: Task, nodes: Map<string, ClusterNode> | null): boolean {
  if (nodes === null || t.nodeId === null || isTerminal(t.status.state)) return false;
  const n = nodes.get(t.nodeId);
  return n !== undefined && !nodeMeetsConstraints(t.spec.placement.constraints, n);
}

/** A live task going away: told to shut down, and marked orphaned when its node is lost while it ran. */
function retired(t: Task, lost: string | null, now: string): Task {
  if (lost === null || isTerminal(t.status.state)) return withDesired(t, 'shutdown');
  return { ...t, desiredState: 'shutdown', status: { ...t.status, state: 'orphaned', message: lost, err: null, timestamp: now } };
}

const runningFirst = (a: Task, b: Task) => (a.status.state === 'running' ? -1 : 0) - (b.status.state === 'running' ? -1 : 0);

export function reconcileReplicated(service: Service, tasks: Task[], now: string, restartDelayMs = 0, nodeList: ClusterNode[] | null = null): TaskActions {
  const out = emptyActions();
  const nodes = nodeList === null ? null : new Map(nodeList.map((n) => [n.id, n]));
  const draining = (t: Task) => t.nodeId !== null && nodes?.get(t.nodeId)?.availability === 'drain';
  const bySlot = new Map<number, Task[]>();
  const history = new Map<number, Task[]>();
  for (const t of tasks) {
    if (t.serviceId !== service.id || t.slot === null) continue;
    history.set(t.slot, [...(history.get(t.slot) ?? []), t]);
    if (t.desiredState !== 'running') continue;
    const list = bySlot.get(t.slot) ?? [];
    list.push(t);
    bySlot.set(t.slot, list);
  }
  const want = service.spec.replicas;
  const nowMs = Date.parse(now);
  for (let slot = 1; slot <= want; slot++) {
    const live = bySlot.get(slot) ?? [];
    const handled = new Set<Task>();
    for (const t of live) {
      const why = lostReason(t, nodes);
      if (why !== null) out.update.push(retired(t, why, now));
      else if (constraintsLost(t, nodes)) out.update.push(withDesired(t, 'shutdown'));
      else continue;
      handled.add(t);
    }
    const healthy = live.filter((t) => !handled.has(t) && !isTerminal(t.status.state) && t.specVersion === service.specVersion);
    // Keep the most advanced healthy task of the slot on a node that is not draining.
    const keep = healthy.filter((t) => !draining(t)).sort(runningFirst)[0];
    // A task on a draining node stays until its replacement runs.
    const leaving = healthy.filter(draining).sort(runningFirst)[0];
    const handover = leaving !== undefined && leaving.status.state === 'running' &&
      (keep === undefined || (keep.status.state !== 'running' && nowMs - Date.parse(keep.createdAt) < DRAIN_HANDOVER_MS));
    for (const t of live) {
      if (handled.has(t) || t === keep || (handover && t === leaving)) continue;
      out.update.push(withDesired(t, 'shutdown'));
    }
    if (keep) continue;
    // An orphan is not the container's failure: replaced without the restart delay.
    if (handled.size > 0 || !restartPending(history.get(slot) ?? [], now, restartDelayMs)) out.create.push(newTask(service, slot, null, now));
  }
  for (const [slot, live] of bySlot) {
    if (slot <= want) continue;
    for (const t of live) out.update.push(retired(t, lostReason(t, nodes), now));
  }
  return out;
}
