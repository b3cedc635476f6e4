/**
 * Rebalance (beyond Swarm, which leaves tasks where they are when a node joins or returns): which
 * replicas of a service move so that the nodes that can take its tasks hold as even a share as
 * they can, and the update that moves them. Pure.
 *
 * The nodes counted are those the scheduler may place the service's tasks on now (ready, active,
 * meeting its constraints, below max_replicas_per_node); a task may move off such a node only
 * (one on a paused node stays, as Swarm keeps a paused node's tasks). While the fullest node holds
 * two more than the emptiest, one of its ready tasks is chosen, and counted on the emptiest. The
 * chosen tasks are marked `move`: they count as out of date, so the updater (update/plan.ts)
 * replaces them as an update would, start-first always (never fewer running than desired), with
 * the service's update_config otherwise; the scheduler places each replacement on the node with
 * the fewest of the service's tasks, which is an emptier one, since the task it replaces still
 * counts where it runs.
 */
import type { ClusterNode, Service, Task, UpdateStatus } from '../../shared/types';
import { isReady, isTerminal } from '../../shared/task-state';
import { isCurrent, updateActive } from '../../shared/service-versions';
import { nodeMeetsConstraints } from '../../shared/constraints';

/** How long an uneven spread must last before `rebalance: auto` moves anything (a node that flaps moves nothing). */
export const AUTO_REBALANCE_AFTER_MS = 10_000;

function liveOf(service: Service, tasks: Task[]): Task[] {
  return tasks.filter((t) => t.serviceId === service.id && t.desiredState === 'running' && !isTerminal(t.status.state));
}

/** The tasks to move (unmarked copies of the service's tasks), none when the spread is as even as it can be. */
export function rebalanceMoves(service: Service, tasks: Task[], nodes: ClusterNode[]): Task[] {
  if (service.spec.mode !== 'replicated') return [];
  const live = liveOf(service, tasks);
  const eligible = nodes.filter((n) => n.status.state === 'ready' && n.availability === 'active' && nodeMeetsConstraints(service.spec.task.placement.constraints, n));
  if (eligible.length < 2) return [];
  const cap = service.spec.task.placement.maxReplicas > 0 ? service.spec.task.placement.maxReplicas : Infinity;
  const on = new Map<string, Task[]>(eligible.map((n) => [n.id, []]));
  for (const t of live) if (t.nodeId !== null) on.get(t.nodeId)?.push(t);
  const count = new Map<string, number>([...on].map(([id, l]) => [id, l.length]));
  // Ready tasks of the current spec move; by slot, the highest first (a scale-up's newest ones).
  const movable = new Map<string, Task[]>([...on].map(([id, l]) => [id, l.filter((t) => isReady(t.status) && isCurrent(t, service)).sort((a, b) => (b.slot ?? 0) - (a.slot ?? 0))]));
  const moves: Task[] = [];
  for (;;) {
    const ids = [...count.keys()].sort();
    const fullest = ids.filter((id) => movable.get(id)!.length > 0).sort((a, b) => count.get(b)! - count.get(a)!)[0];
    const emptiest = ids.filter((id) => count.get(id)! < cap).sort((a, b) => count.get(a)! - count.get(b)!)[0];
    if (fullest === undefined || emptiest === undefined || count.get(fullest)! - count.get(emptiest)! <= 1) break;
    moves.push(movable.get(fullest)!.shift()!);
    count.set(fullest, count.get(fullest)! - 1);
    count.set(emptiest, count.get(emptiest)! + 1);
  }
  return moves;
}

export type RebalanceStart = { service: Service; tasks: Task[] } | { nothing: string };

/**
 * Starts a rebalance of `service`: its update status says so and the tasks to move are marked.
 * Refused (a reason) while an update is under way or a slot is still being replaced; a paused
 * rebalance is taken up again.
 */
export function startRebalance(service: Service, tasks: Task[], nodes: ClusterNode[], now: string): RebalanceStart {
  if (service.spec.mode === 'global') return { nothing: `${service.spec.name} is global: it runs one task per node already` };
  const st = service.updateStatus;
  if (st !== null && updateActive(st)) return { nothing: `${service.spec.name} is ${st.rebalance ? 'being rebalanced' : 'updating'}: try again once that is done` };
  const live = liveOf(service, tasks);
  const resumed = st !== null && st.state === 'paused' && st.rebalance === true && live.some((t) => t.move === true);
  if (!resumed && live.some((t) => !isCurrent(t, service))) return { nothing: `${service.spec.name} has tasks of an older spec: update it first (tsswarm service update)` };
  const slots = new Set<number>();
  for (const t of live) {
    if (t.slot === null) continue;
    if (slots.has(t.slot) && !resumed) return { nothing: `${service.spec.name} is still replacing a task: try again once it is done` };
    slots.add(t.slot);
  }
  const moves = resumed ? [] : rebalanceMoves(service, tasks, nodes).map((t) => ({ ...t, move: true }));
  if (!resumed && moves.length === 0) return { nothing: `${service.spec.name} is balanced already` };
  const n = resumed ? live.filter((t) => t.move === true).length : moves.length;
  const status: UpdateStatus = { state: 'updating', startedAt: now, completedAt: null, message: `rebalance: moving ${n} task${n === 1 ? '' : 's'} to emptier nodes`, rebalance: true };
  return { service: { ...service, updateStatus: status, updatedAt: now }, tasks: moves };
}

/**
 * `rebalance: auto`: whether to start one now. `unevenSince` (the caller's, in memory) remembers
 * since when each service's spread has been uneven; the rebalance starts once that has lasted
 * AUTO_REBALANCE_AFTER_MS, never over an update or a paused one (an operator's to look at).
 */
export function autoRebalance(service: Service, tasks: Task[], nodes: ClusterNode[], now: string, unevenSince: Map<string, number>): RebalanceStart | { waitMs: number } | null {
  const st = service.updateStatus;
  const idle = st === null || st.state === 'completed' || st.state === 'rollback_completed';
  if (service.spec.rebalance !== 'auto' || !idle || rebalanceMoves(service, tasks, nodes).length === 0) {
    unevenSince.delete(service.id);
    return null;
  }
  const nowMs = Date.parse(now);
  const since = unevenSince.get(service.id) ?? nowMs;
  unevenSince.set(service.id, since);
  if (nowMs - since < AUTO_REBALANCE_AFTER_MS) return { waitMs: since + AUTO_REBALANCE_AFTER_MS - nowMs };
  unevenSince.delete(service.id);
  const start = startRebalance(service, tasks, nodes, now);
  return 'nothing' in start ? null : start;
}
