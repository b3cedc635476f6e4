/**
 * The restart policy (compose `deploy.restart_policy`, `--restart-*`): whether a slot (or a global
 * service's node) whose task is gone gets a new one now, later, or never. Only the slot's newest
 * task decides, so the answer survives a leader change:
 *
 *   - it is still stopping on a live node (retired by an update, a scale or a constraint): wait
 *     until it has stopped, so a stop-first update never runs two tasks of one slot;
 *   - it was stopped on purpose, orphaned by a lost node, or made from an older spec: now;
 *   - it ended on its own (complete, failed, rejected): condition `none` never, `on-failure`
 *     never after exit 0; at most `max_attempts` restarts (0: no limit) counted within `window`;
 *     and not before `delay` has passed since it ended.
 *
 * The restarts of a slot are carried from task to task (`Task.restarts`), not read from the
 * history the reaper trims.
 */
import type { Service, Task } from '../../shared/types';
import { isTerminal, TaskState } from '../../shared/task-state';
import { DEFAULT_RESTART_DELAY_MS, defaultRestartPolicy } from '../../shared/task-spec';
import { isCurrent } from '../../shared/service-versions';

export type Refill =
  | { kind: 'now'; restarts: string[] }
  | { kind: 'wait'; reason: 'stopping' | 'delay' }
  | { kind: 'never'; reason: string };

const ENDED_ON_ITS_OWN = new Set(['complete', 'failed', 'rejected']);

/** A task retired but not yet stopped by the agent that holds it. */
export function stillStopping(t: Task, lost: (t: Task) => boolean): boolean {
  return t.desiredState !== 'running' && !isTerminal(t.status.state) && TaskState[t.status.state] >= TaskState.assigned && !lost(t);
}

/** `history`: every task of the slot, live or not; called when the slot has no live task left. */
export function refill(history: Task[], service: Service, now: string, lost: (t: Task) => boolean = () => false): Refill {
  if (history.some((t) => stillStopping(t, lost))) return { kind: 'wait', reason: 'stopping' };
  const newest = history.reduce<Task | null>((a, t) => (a === null || t.createdAt > a.createdAt ? t : a), null);
  if (newest === null || !ENDED_ON_ITS_OWN.has(newest.status.state) || !isCurrent(newest, service)) return { kind: 'now', restarts: [] };
  const policy = service.spec.task.restartPolicy ?? defaultRestartPolicy();
  if (policy.condition === 'none') return { kind: 'never', reason: 'restart condition none' };
  if (policy.condition === 'on-failure' && newest.status.state === 'complete') return { kind: 'never', reason: 'completed; restart condition on-failure' };
  const nowMs = Date.parse(now);
  const counted = (newest.restarts ?? []).filter((at) => policy.windowMs === null || policy.windowMs === 0 || nowMs - Date.parse(at) < policy.windowMs);
  if (policy.maxAttempts !== null && policy.maxAttempts > 0 && counted.length >= policy.maxAttempts) {
    return { kind: 'never', reason: `restarted ${counted.length} times; max_attempts ${policy.maxAttempts}` };
  }
  const delay = policy.delayMs ?? DEFAULT_RESTART_DELAY_MS;
  if (nowMs - Date.parse(newest.status.timestamp) < delay) return { kind: 'wait', reason: 'delay' };
  return { kind: 'now', restarts: [...counted, now] };
}
