/**
 * The whole task lifecycle in one function: compare the observed state with
 * the desired one, call exactly one controller method, return the next
 * observed status (or null when there is nothing to do until something
 * changes). Errors sort here: before the container starts they reject the
 * task, after they fail it.
 */
import type { DesiredState, TaskStateName } from '../../shared/task-state';
import { isTerminal } from '../../shared/task-state';
import type { Controller } from './controller';
import { UnhealthyError } from './errors';
import type { HealthReport } from '../health/monitor';

export interface Observed {
  state: TaskStateName;
  message: string;
  err: string | null;
  pid: number | null;
  exitCode: number | null;
  /** The running container is frozen. */
  paused: boolean;
  /** Resources released after a terminal state. */
  removed: boolean;
  /** The health check's last report while running (set by the runner, not by advance). */
  health?: HealthReport | null;
}

/** What the manager wants of a task: its desired state, and whether a running one is frozen. */
export interface Wanted {
  state: DesiredState;
  paused: boolean;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

export async function advance(wanted: Wanted, cur: Observed, ctrl: Controller, signal: AbortSignal): Promise<Observed | null> {
  const desired = wanted.state;
  const next = (state: TaskStateName, message: string, extra: Partial<Observed> = {}): Observed => ({ ...cur, state, message, err: null, ...extra });

  if (isTerminal(cur.state)) {
    if (cur.removed) return null;
    await ctrl.remove();
    return { ...cur, removed: true };
  }

  if (desired !== 'running') {
    if (cur.state === 'starting' || cur.state === 'running') {
      // A frozen process cannot act on SIGTERM: thaw it first, so it stops as it would running.
      if (cur.paused) await ctrl.pause(false);
      await ctrl.shutdown();
      return next('shutdown', 'stopped', { pid: null, paused: false });
    }
    return next('shutdown', 'stopped before it started', { pid: null });
  }

  switch (cur.state) {
    case 'new':
    case 'pending':
    case 'assigned':
      return next('accepted', 'accepted');
    case 'accepted':
      return next('preparing', 'preparing');
    case 'preparing':
      try {
        await ctrl.prepare(signal);
        return next('starting', 'starting');
      } catch (e) {
        if (isAbort(e)) return null;
        return next('rejected', 'preparing failed', { err: errText(e) });
      }
    case 'starting':
      try {
        const pid = await ctrl.start();
        return next('running', 'started', { pid });
      } catch (e) {
        return next('failed', 'starting failed', { err: errText(e) });
      }
    case 'running':
      if (wanted.paused !== cur.paused) {
        try {
          await ctrl.pause(wanted.paused);
          return next('running', wanted.paused ? 'paused' : 'resumed', { paused: wanted.paused });
        } catch (e) {
          // The container goes on as it was; the error is the task's until the manager asks again.
          return { ...next('running', wanted.paused ? 'pause failed' : 'unpause failed'), err: errText(e), paused: cur.paused };
        }
      }
      try {
        const exit = await ctrl.wait(signal);
        const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
        if (exit.exitCode === 0 && !exit.signal) return next('complete', 'finished', { exitCode: 0, pid: null, paused: false });
        return next('failed', 'task exited', { err: `task: non-zero exit (${how})`, exitCode: exit.exitCode, pid: null, paused: false });
      } catch (e) {
        if (isAbort(e)) return null;
        if (e instanceof UnhealthyError) return next('failed', 'unhealthy', { err: e.message, pid: null, paused: false });
        return next('failed', 'lost the container', { err: errText(e), pid: null });
      }
    default:
      return null;
  }
}
