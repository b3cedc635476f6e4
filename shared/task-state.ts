/**
 * Task states, spaced so that "at or past running" is a numeric comparison
 * (the SwarmKit convention). A task's observed state only ever moves forward.
 */
export const TaskState = {
  new: 0,
  pending: 64,
  assigned: 192,
  accepted: 256,
  preparing: 320,
  starting: 384,
  running: 512,
  complete: 576,
  shutdown: 640,
  failed: 704,
  rejected: 768,
  remove: 800,
  orphaned: 832,
} as const;

export type TaskStateName = keyof typeof TaskState;

export function stateValue(s: TaskStateName): number {
  return TaskState[s];
}

/** True once a task has stopped for good (complete, shutdown, failed, rejected, orphaned...). */
export function isTerminal(s: TaskStateName): boolean {
  return TaskState[s] > TaskState.running;
}

/** A transition is legal only when it moves forward. */
export function canMove(from: TaskStateName, to: TaskStateName): boolean {
  return TaskState[to] > TaskState[from];
}

export type DesiredState = 'running' | 'shutdown' | 'remove';

/**
 * Running, and healthy where it has a health check: what a task must be to count as up (for a
 * rolling update to move on, for a start-first replacement to take over, for VIP backends).
 */
export function isReady(status: { state: TaskStateName; health?: 'starting' | 'healthy' | 'unhealthy' | null }): boolean {
  return status.state === 'running' && (status.health === undefined || status.health === null || status.health === 'healthy');
}
