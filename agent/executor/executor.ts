/**
 * The executor: keeps one runner per task assigned to this node. A full
 * assignment set replaces what it knows (tasks not in it are stopped and
 * released); containers left from before an agent restart are re-attached
 * when their task is still wanted, removed otherwise.
 */
import type { AssignedTask, StatusUpdate } from '../../shared/proto/codec';
import type { Logger } from '../../shared/log';
import { isTerminal, TaskState } from '../../shared/task-state';
import type { Controller } from './controller';
import type { Observed } from './advance';
import { TaskRunner, type Reporter } from './runner';

export type ControllerFactory = (task: AssignedTask) => Controller;

export class Executor {
  private readonly runners = new Map<string, TaskRunner>();
  /** Last status reported per task, replayed after a reconnect. */
  private readonly lastStatus = new Map<string, StatusUpdate>();

  constructor(
    private readonly makeController: ControllerFactory,
    private readonly report: Reporter,
    private readonly log: Logger,
    /** Ids of containers that exist on this host (from the runtime), for re-attach and clean-up. */
    private readonly existing: () => Promise<string[]>,
    /** A task has left this node (its container removed): its image may be unused now. */
    private readonly released: () => void = () => undefined,
  ) {}

  private emit = (u: StatusUpdate) => {
    this.lastStatus.set(u.taskId, u);
    this.report(u);
  };

  replayStatus(): StatusUpdate[] {
    return [...this.lastStatus.values()];
  }

  async assign(tasks: AssignedTask[], removed: string[], full: boolean): Promise<void> {
    const ids = new Set(tasks.map((t) => t.id));
    if (full) {
      for (const [id, r] of this.runners) if (!ids.has(id)) this.release(id, r);
      // Containers nobody assigns any more (e.g. removed while the agent was down).
      for (const id of await this.existing()) {
        if (!ids.has(id) && !this.runners.has(id)) {
          this.log.info(`removing container ${id.slice(0, 12)}: no longer assigned here`);
          await this.makeController({ id } as AssignedTask).remove().catch((e: Error) => this.log.warn(e.message));
        }
      }
    }
    for (const id of removed) {
      const r = this.runners.get(id);
      if (r) this.release(id, r);
      this.lastStatus.delete(id);
    }
    for (const t of tasks) {
      const r = this.runners.get(t.id);
      if (r) {
        r.setDesired(t.desiredState);
        r.setPaused(t.paused);
        continue;
      }
      await this.adopt(t);
    }
  }

  /** Starts a runner for a task we have not seen in this process. */
  private async adopt(t: AssignedTask): Promise<void> {
    const ctrl = this.makeController(t);
    let initial: Observed = { state: 'assigned', message: 'assigned', err: null, pid: null, exitCode: null, paused: false, removed: false };
    const observed = TaskState[t.observedState];
    if (observed > TaskState.assigned) {
      // We ran this task before a restart: re-attach if its container still runs.
      const pid = await ctrl.running().catch(() => null);
      if (pid !== null) {
        // A frozen container stays frozen: the agent's restart is no reason to thaw it.
        const paused = await ctrl.paused().catch(() => false);
        initial = { state: 'running', message: 're-attached', err: null, pid, exitCode: null, paused, removed: false };
      } else if (observed > TaskState.running) {
        initial = { state: t.observedState, message: 'finished', err: null, pid: null, exitCode: null, paused: false, removed: false };
      } else {
        initial = { state: 'failed', message: 'container lost', err: 'container lost while the agent was away', pid: null, exitCode: null, paused: false, removed: false };
        this.emit({ taskId: t.id, state: 'failed', message: initial.message, err: initial.err, pid: null, exitCode: null, timestamp: new Date().toISOString(), paused: false });
      }
    }
    const runner = new TaskRunner(t, ctrl, this.emit, this.log, initial);
    this.runners.set(t.id, runner);
    void runner.start().catch((e: Error) => this.log.error(`task ${t.id.slice(0, 12)}: ${e.message}`));
  }

  /** The manager no longer gives us this task: stop it and release it, then forget it. */
  private release(id: string, r: TaskRunner): void {
    r.setDesired('remove');
    void r.start().finally(() => {
      if (this.runners.get(id) === r) this.runners.delete(id);
      this.released();
    });
  }

  /**
   * Whether a task's container is gone for good (it reached a final state here): true; still to
   * come or running: false; a task this agent does not know (never its own, or forgotten): null.
   */
  taskEnded(id: string): boolean | null {
    const r = this.runners.get(id);
    if (r !== undefined) return isTerminal(r.state.state);
    const last = this.lastStatus.get(id);
    return last === undefined ? null : isTerminal(last.state);
  }

  count(): number {
    return this.runners.size;
  }

  /** The images of every task this node has: what image garbage collection must keep. */
  imageRefs(): string[] {
    return [...this.runners.values()].map((r) => r.task.spec.container.image);
  }

  /** Leaves containers running (they belong to their shims) and stops driving them. */
  detachAll(): void {
    for (const r of this.runners.values()) r.detach();
    this.runners.clear();
  }
}
