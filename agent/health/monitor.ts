/**
 * A running task's health check, with Docker's rules: the probe runs `interval` after the last
 * one (`start_interval` while the start period lasts), is a failure when it exits non-zero or takes
 * longer than `timeout`, and the state goes
 *   starting → healthy on the first success,
 *   starting|healthy → unhealthy after `retries` failures in a row (failures within the start
 *   period do not count, as Docker's).
 * Each change of state, and each failure, is reported with the last probes' results (for
 * `inspect`); a success that changes nothing is not, so a healthy task costs no status traffic.
 * The probe itself (a process inside the container) is the controller's: this file only decides.
 */
import type { HealthCheck, HealthProbe, HealthState } from '../../shared/types';
import { HEALTH_INTERVAL_MS, HEALTH_RETRIES, HEALTH_START_INTERVAL_MS, HEALTH_TIMEOUT_MS } from '../../shared/task-spec';

/** Docker's defaults (HealthConfig), in ms. */
export const HEALTH_DEFAULTS = { intervalMs: HEALTH_INTERVAL_MS, timeoutMs: HEALTH_TIMEOUT_MS, startPeriodMs: 0, startIntervalMs: HEALTH_START_INTERVAL_MS, retries: HEALTH_RETRIES };
/** Docker keeps 5 results and 4 KiB of each one's output. */
export const HEALTH_LOG_LENGTH = 5;
export const HEALTH_OUTPUT_BYTES = 4096;

export interface HealthReport {
  state: HealthState;
  failingStreak: number;
  log: HealthProbe[];
}

/** Runs the check once; `null` when it was not run (the container is frozen). */
export type Probe = (timeoutMs: number, signal: AbortSignal) => Promise<{ exitCode: number; output: string } | null>;

export interface ResolvedHealth {
  /** What to run in the container: `CMD` args as they are, `CMD-SHELL` through `/bin/sh -c`. */
  args: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

/**
 * The service's check over the image's (a service `test: []` keeps the image's test, its other
 * fields override the image's timings). Null when there is none or it is `NONE`.
 */
export function resolveHealth(service: HealthCheck | null, image: HealthCheck | null): ResolvedHealth | null {
  const test = service !== null && service.test.length > 0 ? service.test : image?.test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return null;
  const args = test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test.slice(1).join(' ')] : test[0] === 'CMD' ? test.slice(1) : test;
  if (args.length === 0) return null;
  // Docker reads 0 as "the default" in every timing.
  const pick = (k: 'intervalMs' | 'timeoutMs' | 'startPeriodMs' | 'startIntervalMs' | 'retries') => {
    const v = service?.[k] ?? image?.[k] ?? null;
    return v === null || v === 0 ? HEALTH_DEFAULTS[k] : v;
  };
  return { args, intervalMs: pick('intervalMs'), timeoutMs: pick('timeoutMs'), startPeriodMs: service?.startPeriodMs ?? image?.startPeriodMs ?? 0, startIntervalMs: pick('startIntervalMs'), retries: pick('retries') };
}

export class HealthMonitor {
  private state: HealthState = 'starting';
  private streak = 0;
  private log: HealthProbe[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();
  private stopped = false;
  private readonly startedAt: number;
  private inStartPeriod: boolean;
  private unhealthyWaiters: (() => void)[] = [];

  constructor(
    private readonly cfg: ResolvedHealth,
    private readonly probe: Probe,
    private readonly report: (r: HealthReport) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    this.inStartPeriod = cfg.startPeriodMs > 0;
  }

  get current(): HealthReport {
    return { state: this.state, failingStreak: this.streak, log: [...this.log] };
  }

  /** Resolves once the task is unhealthy. */
  unhealthy(): Promise<void> {
    if (this.state === 'unhealthy') return Promise.resolve();
    return new Promise((resolve) => this.unhealthyWaiters.push(resolve));
  }

  start(): void {
    this.report(this.current);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    const within = this.inStartPeriod && this.now() - this.startedAt < this.cfg.startPeriodMs;
    this.timer = setTimeout(() => void this.run(), within ? this.cfg.startIntervalMs : this.cfg.intervalMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const start = new Date(this.now()).toISOString();
    let result: { exitCode: number; output: string } | null;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.cfg.timeoutMs);
    const onStop = () => timeout.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    try {
      result = await this.probe(this.cfg.timeoutMs, timeout.signal);
    } catch (e) {
      result = timeout.signal.aborted && !this.stopped
        ? { exitCode: -1, output: `Health check exceeded timeout (${this.cfg.timeoutMs}ms)` }
        : { exitCode: -1, output: (e as Error).message };
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
    if (this.stopped) return;
    if (result !== null) this.record(start, result);
    this.schedule();
  }

  private record(start: string, r: { exitCode: number; output: string }): void {
    const output = Buffer.byteLength(r.output) > HEALTH_OUTPUT_BYTES ? Buffer.from(r.output).subarray(0, HEALTH_OUTPUT_BYTES).toString('utf8') : r.output;
    this.log = [...this.log, { start, end: new Date(this.now()).toISOString(), exitCode: r.exitCode, output }].slice(-HEALTH_LOG_LENGTH);
    const before = this.state;
    if (r.exitCode === 0) {
      this.streak = 0;
      this.inStartPeriod = false;
      this.state = 'healthy';
    } else if (this.inStartPeriod && this.now() - this.startedAt < this.cfg.startPeriodMs) {
      // Failures while the task starts up do not count.
    } else {
      this.inStartPeriod = false;
      this.streak++;
      if (this.streak >= this.cfg.retries) this.state = 'unhealthy';
    }
    if (this.state !== before || r.exitCode !== 0) this.report(this.current);
    if (this.state === 'unhealthy' && before !== 'unhealthy') {
      for (const w of this.unhealthyWaiters.splice(0)) w();
    }
  }
}
