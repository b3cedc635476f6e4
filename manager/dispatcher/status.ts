/**
 * Applies agents' task status reports. Observed state only moves forward; a
 * report that would move it back (a late message) is dropped.
 */
import type { Task } from '../../shared/types';
import { canMove } from '../../shared/task-state';
import type { StatusUpdate } from '../../shared/proto/codec';

/** Returns the task with the report applied, or null when the report changes nothing or goes backwards. */
export function applyStatus(task: Task, u: StatusUpdate, fromNode: string): Task | null {
  if (task.nodeId !== fromNode) return null;
  const sameState = task.status.state === u.state;
  if (!sameState && !canMove(task.status.state, u.state)) return null;
  const health = u.health ?? null;
  const healthLog = u.healthLog ?? [];
  const sameHealth = (task.status.health ?? null) === health && JSON.stringify(task.status.healthLog ?? []) === JSON.stringify(healthLog);
  if (sameState && sameHealth && task.status.pid === u.pid && task.status.err === u.err && task.status.message === u.message && task.status.paused === u.paused) return null;
  return {
    ...task,
    status: {
      state: u.state,
      message: u.message,
      err: u.err,
      timestamp: u.timestamp,
      pid: u.pid,
      exitCode: u.exitCode,
      paused: u.paused,
      ...(health !== null ? { health } : {}),
      ...(healthLog.length > 0 ? { healthLog } : {}),
    },
  };
}
