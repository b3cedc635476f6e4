/**
 * A reconcile loop: watch the prefixes it depends on, mark dirty on any
 * event, and reconcile after a quiet gap (debounced: 20 ms gap, 1 s at most),
 * so bursts of events become one pass and one batch of writes. It makes a
 * full pass when it starts, since events are lost across leader changes.
 * (SwarmKit waits 50 ms; our writers commit a whole batch in one transaction,
 * so one event burst is one batch already and 20 ms is enough.)
 *
 * A pass writes through the leader's fenced writer; a write refused because
 * the term is over (NotLeaderError) stops the loop instead of being retried:
 * the election has been told and stops every loop of the term.
 */
import type { Store } from '../store/store';
import type { StoreView } from '../store/view';
import type { Logger } from '../../shared/log';
import { NotLeaderError } from '../../shared/errors';

/** `againInMs`: run a pass again after that long even if nothing changes (a time-based decision is due then). */
export type Pass = () => Promise<{ retry: boolean; againInMs?: number | null }>;

export interface LoopOptions {
  name: string;
  store: Store;
  /** When the loop reads the manager's watch-fed view, its changes start passes (not a watch of its own). */
  view?: StoreView;
  prefixes: string[];
  pass: Pass;
  log: Logger;
  gapMs?: number;
  maxDelayMs?: number;
  /** Also run a pass at this period, for time-based decisions (heartbeats, backoff). */
  periodMs?: number;
}

type State = 'idle' | 'running' | 'stopped';

export class ReconcileLoop {
  private state: State = 'idle';
  private dirty = false;
  private firstDirtyAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private busy = false;
  private stopWatch: (() => Promise<void>) | null = null;
  private failures = 0;
  private alarm: NodeJS.Timeout | null = null;

  constructor(private readonly opts: LoopOptions) {}

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`loop ${this.opts.name} already ${this.state}`);
    this.state = 'running';
    // From the view, a pass starts after the view has the change: what the pass reads includes it.
    const view = this.opts.view;
    const unsubscribe = view?.subscribe(this.opts.prefixes, () => this.markDirty());
    const stopWatch = unsubscribe
      ? async () => unsubscribe()
      : await this.opts.store.watch(
          this.opts.prefixes,
          () => this.markDirty(),
          (e) => this.opts.log.warn(`${this.opts.name}: watch error: ${e.message}`),
        );
    if (this.state !== 'running') {
      // Stopped while the watch was being set up (the term ended that soon).
      await stopWatch();
      return;
    }
    this.stopWatch = stopWatch;
    if (this.opts.periodMs) this.ticker = setInterval(() => this.markDirty(), this.opts.periodMs);
    this.markDirty();
  }

  markDirty(): void {
    if (this.state !== 'running') return;
    const now = Date.now();
    if (!this.dirty) {
      this.dirty = true;
      this.firstDirtyAt = now;
    }
    if (this.timer) clearTimeout(this.timer);
    const gap = this.opts.gapMs ?? 20;
    const max = this.opts.maxDelayMs ?? 1000;
    const wait = Math.max(0, Math.min(gap, this.firstDirtyAt + max - now));
    this.timer = setTimeout(() => void this.run(), wait);
  }

  private async run(): Promise<void> {
    this.timer = null;
    if (this.state !== 'running') return;
    if (this.busy) {
      // A pass is under way; run again when it ends.
      return;
    }
    this.busy = true;
    this.dirty = false;
    let again = false;
    let deposed = false;
    try {
      const { retry, againInMs } = await this.opts.pass();
      again = retry;
      this.failures = 0;
      this.setAlarm(againInMs ?? null);
    } catch (e) {
      if (e instanceof NotLeaderError) {
        this.opts.log.warn(`${this.opts.name}: ${e.message}; stopping`);
        deposed = true;
      } else {
        this.failures++;
        this.opts.log.warn(`${this.opts.name}: pass failed: ${(e as Error).message}`);
        again = true;
      }
    } finally {
      this.busy = false;
    }
    if (deposed) await this.stop();
    if (this.state !== 'running') return;
    if (again) {
      const backoff = Math.min(2000, 20 * 2 ** Math.min(this.failures, 7));
      setTimeout(() => this.markDirty(), backoff).unref();
    } else if (this.dirty) {
      this.markDirty();
    }
  }

  /** One pending time-based pass at most: each pass says when the next one is due. */
  private setAlarm(ms: number | null): void {
    if (this.alarm) clearTimeout(this.alarm);
    this.alarm = null;
    if (ms === null || this.state !== 'running') return;
    this.alarm = setTimeout(() => {
      this.alarm = null;
      this.markDirty();
    }, Math.max(1, ms));
    this.alarm.unref();
  }

  /** Stops the loop; a pass under way finishes (its writes are the fence's to refuse). */
  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.alarm) clearTimeout(this.alarm);
    this.alarm = null;
    if (this.timer) clearTimeout(this.timer);
    if (this.ticker) clearInterval(this.ticker);
    this.timer = null;
    this.ticker = null;
    const stopWatch = this.stopWatch;
    this.stopWatch = null;
    if (stopWatch) await stopWatch();
  }
}
