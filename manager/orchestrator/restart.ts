/**
 * Restart policy "any" with a delay: a slot (or a global service's node)
 * whose task stopped on its own is refilled only once RESTART_DELAY_MS have
 * passed since it stopped, so a crashing container restarts at a bounded rate
 * instead of in a hot loop. A task stopped on purpose (shutdown) or orphaned by
 * a lost node is replaced at once.
 */
import type { Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';

export const RESTART_DELAY_MS = 1000;

/** True when the newest task that ended on its own ended less than delayMs before now. */
export function restartPending(tasks: Task[], now: string, delayMs: number): boolean {
  if (delayMs <= 0) return false;
  const t = Date.parse(now);
  // Shut down on purpose, or orphaned by a lost node: neither is the container's failure.
  return tasks.some((x) => isTerminal(x.status.state) && x.status.state !== 'shutdown' && x.status.state !== 'orphaned' && t - Date.parse(x.status.timestamp) < delayMs);
}
