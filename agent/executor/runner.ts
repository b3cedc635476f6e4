/**
 * Runs one task: loops advance() until the task is terminal and released,
 * reporting each new status, and wakes up when the manager changes the
 * desired state.
 */
import type { AssignedTask, StatusUpdate } from '../../shared/proto/codec';
import type { DesiredState } from '../../shared/task-state';
import type { Logger } from '../../shared/log';
import type { Controller } from './controller';
import { advance, type Observed } from './advance';

export type Reporter = (u: StatusUpdate) => void;

export class TaskRunner {
  private desired: DesiredState;
  private wantPaused: boolean;
  private observed: Observed;
  private abort = new AbortController();
  private wake: (() => void) | null = null;
  private done: Promise<void> | null = null;
  private stopped = false;

  constructor(
    readonly task: AssignedTask,
    private readonly ctrl: Controller,
    private readonly report: Reporter,
    private readonly log: Logger,
    initial: Observed,
  ) {
    this.desired = task.desiredState;
    this.wantPaused = task.paused;
    this.observed = initial;
    // A health report changes nothing in the lifecycle: it is reported with the state as it is.
    ctrl.onHealth?.((h) => {
      if (this.observed.state !== 'running') return;
      this.observed = { ...this.observed, health: h };
      this.send(this.observed);
    });
  }

  private send(o: Observed): void {
    this.report({
      taskId: this.task.id,
      state: o.state,
      message: o.message,
      err: o.err,
      pid: o.pid,
      exitCode: o.exitCode,
      timestamp: new Date().toISOString(),
      paused: o.paused,
      health: o.state === 'running' ? o.health?.state ?? null : null,
      healthLog: o.health?.log ?? [],
    });
  }

  get state(): Observed {
    return this.observed;
  }

  get finished(): boolean {
    return this.observed.removed;
  }

  start(): Promise<void> {
    this.done ??= this.loop();
    return this.done;
  }

  setDesired(d: DesiredState): void {
    if (d === this.desired) return;
    this.desired = d;
    if (d !== 'running') this.abort.abort();
    this.wake?.();
  }

  /** The manager froze or thawed the task: a running task's wait is interrupted to act on it. */
  setPaused(p: boolean): void {
    if (p === this.wantPaused) return;
    this.wantPaused = p;
    if (this.observed.state === 'running') this.abort.abort();
    this.wake?.();
  }

  /** Stops driving the task without touching the container (agent shutdown). */
  detach(): void {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
  }

  /** A running task whose frozen state is not the wanted one (a failed pause is not retried in a loop). */
  private pauseDiffers(): boolean {
    return this.observed.state === 'running' && this.observed.paused !== this.wantPaused && this.observed.err === null;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let next: Observed | null;
      try {
        next = await advance({ state: this.desired, paused: this.wantPaused }, this.observed, this.ctrl, this.abort.signal);
      } catch (e) {
        this.log.warn(`task ${this.task.id.slice(0, 12)}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (this.stopped) return;
      if (next === null) {
        if (this.observed.removed) return;
        if (this.abort.signal.aborted && this.desired === 'running') this.abort = new AbortController();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.abort.signal.aborted || this.desired !== 'running' || this.pauseDiffers()) resolve();
        });
        this.wake = null;
        // Avoid spinning when aborted and nothing else can happen.
        if (this.desired === 'running' && this.abort.signal.aborted) this.abort = new AbortController();
        continue;
      }
      const changed = next.state !== this.observed.state || next.pid !== this.observed.pid || next.err !== this.observed.err || next.paused !== this.observed.paused;
      // The latest health report, not the one the step started with: its results stay with the
      // task after it ends (why an unhealthy task failed), its state only counts while it runs.
      this.observed = { ...next, health: this.observed.health };
      if (changed) this.send(this.observed);
      if (next.removed) return;
    }
  }
}
