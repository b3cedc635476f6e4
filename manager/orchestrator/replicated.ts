/**
 * Replicated services: exactly `replicas` live tasks, one per slot 1..N.
 * Pure: (service, tasks, nodes) → actions. A task is live while its desired
 * state is running. A live task that ended on its own is retired and its slot
 * refilled as the restart policy says (restart.ts). A task whose node is down
 * or gone is orphaned and replaced at once. A task on a draining node is
 * replaced new first: it keeps running until its replacement runs (or has had
 * DRAIN_HANDOVER_MS to get there, so a drain always empties the node). A task
 * of an older spec stays until the updater (update/) replaces it.
 */
import type { ClusterNode, Service, Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';
import { emptyActions, type TaskActions } from './actions';
import { newTask, withDesired } from './task-factory';
import { refill } from './restart';
import { keepers } from './keepers';
import { nodeMeetsConstraints } from '../../shared/constraints';

export const DRAIN_HANDOVER_MS = 10_000;

/** Why a task's node cannot run it any more, or null when it can (or the task has no node yet). */
export function lostReason(t: Task, nodes: Map<string, ClusterNode> | null): string | null {
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

export function reconcileReplicated(service: Service, tasks: Task[], now: string, nodeList: ClusterNode[] | null = null): TaskActions {
  const out = emptyActions();
  const nodes = nodeList === null ? null : new Map(nodeList.map((n) => [n.id, n]));
  const draining = (t: Task) => t.nodeId !== null && nodes?.get(t.nodeId)?.availability === 'drain';
  const lost = (t: Task) => lostReason(t, nodes) !== null;
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
    let orphaned = false;
    for (const t of live) {
      const why = lostReason(t, nodes);
      if (why !== null) {
        out.update.push(retired(t, why, now));
        orphaned = true;
      } else if (constraintsLost(t, nodes) || isTerminal(t.status.state)) {
        out.update.push(withDesired(t, 'shutdown'));
      } else continue;
      handled.add(t);
    }
    const candidates = live.filter((t) => !handled.has(t));
    // Keep the slot's tasks on nodes that are not draining.
    const kept = keepers(candidates.filter((t) => !draining(t)), service);
    const keep = kept.current ?? kept.older;
    // A task on a draining node stays until its replacement runs.
    const leaving = keepers(candidates.filter(draining), service);
    const leaver = leaving.current ?? leaving.older;
    const handover = leaver !== undefined && leaver.status.state === 'running' &&
      (keep === undefined || (keep.status.state !== 'running' && nowMs - Date.parse(keep.createdAt) < DRAIN_HANDOVER_MS));
    for (const t of candidates) {
      if (t === kept.current || t === kept.older || (handover && t === leaver)) continue;
      out.update.push(withDesired(t, 'shutdown'));
    }
    if (keep) continue;
    // An orphan is not the container's failure: replaced at once.
    if (orphaned) {
      out.create.push(newTask(service, slot, null, now));
      continue;
    }
    const r = refill(history.get(slot) ?? [], service, now, lost);
    if (r.kind === 'now') out.create.push(newTask(service, slot, null, now, r.restarts));
  }
  for (const [slot, live] of bySlot) {
    if (slot <= want) continue;
    for (const t of live) out.update.push(retired(t, lostReason(t, nodes), now));
  }
  return out;
}
