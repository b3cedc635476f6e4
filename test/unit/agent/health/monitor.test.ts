import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthMonitor, resolveHealth, type HealthReport, type Probe, type ResolvedHealth } from '../../../../agent/health/monitor';

const cfg = (o: Partial<ResolvedHealth> = {}): ResolvedHealth => ({ args: ['true'], intervalMs: 2, timeoutMs: 1000, startPeriodMs: 0, startIntervalMs: 2, retries: 2, ...o });

/** A probe that answers from a script (the last answer repeats), counting its runs. */
function scripted(codes: (number | 'hang' | null)[]): { probe: Probe; runs: () => number } {
  let n = 0;
  const probe: Probe = (_t, signal) => {
    const c = codes[Math.min(n++, codes.length - 1)]!;
    if (c === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    return Promise.resolve(c === null ? null : { exitCode: c, output: `run ${n}` });
  };
  return { probe, runs: () => n };
}

/** Keeps the event loop alive while `p` is pending (the monitor's timers do not hold the agent open). */
async function alive<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => undefined, 1000);
  try {
    return await p;
  } finally {
    clearInterval(keep);
  }
}

async function until(what: string, f: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('resolveHealth', () => {
  const none = { intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null };
  it('CMD-SHELL runs in a shell, CMD as it is, NONE and [] without an image test mean none', () => {
    assert.deepEqual(resolveHealth({ test: ['CMD-SHELL', 'curl -f localhost'], ...none }, null)?.args, ['/bin/sh', '-c', 'curl -f localhost']);
    assert.deepEqual(resolveHealth({ test: ['CMD', 'test', '-f', '/ok'], ...none }, null)?.args, ['test', '-f', '/ok']);
    assert.equal(resolveHealth({ test: ['NONE'], ...none }, { test: ['CMD', 'true'], ...none }), null);
    assert.equal(resolveHealth({ test: [], ...none }, null), null);
    assert.equal(resolveHealth(null, null), null);
  });
  it("a service without a test keeps the image's, with its own timings over the image's, Docker's defaults under both", () => {
    const r = resolveHealth({ test: [], ...none, intervalMs: 1000 }, { test: ['CMD', 'probe'], ...none, intervalMs: 5000, retries: 7 })!;
    assert.deepEqual([r.args, r.intervalMs, r.retries, r.timeoutMs, r.startIntervalMs], [['probe'], 1000, 7, 30_000, 5000]);
  });
});

describe('HealthMonitor', () => {
  it('starts as starting, turns healthy on the first success and reports only changes and failures', async () => {
    const reports: HealthReport[] = [];
    const s = scripted([1, 0, 0, 0]);
    const m = new HealthMonitor(cfg(), s.probe, (r) => reports.push(r));
    m.start();
    await until('4 runs', () => s.runs() >= 4);
    m.stop();
    assert.deepEqual(reports.map((r) => [r.state, r.failingStreak]), [['starting', 0], ['starting', 1], ['healthy', 0]]);
    assert.equal(reports[2]!.log.length, 2);
  });

  it('turns unhealthy after `retries` failures in a row, and says so to whoever waits', async () => {
    const reports: HealthReport[] = [];
    const s = scripted([0, 1, 0, 1, 1]);
    const m = new HealthMonitor(cfg({ retries: 2 }), s.probe, (r) => reports.push(r));
    const sick = m.unhealthy();
    m.start();
    await alive(sick);
    m.stop();
    assert.equal(s.runs(), 5, 'a success in between resets the streak');
    assert.deepEqual(reports.at(-1)!.state, 'unhealthy');
    assert.equal(reports.at(-1)!.failingStreak, 2);
  });

  it('does not count failures within the start period', async () => {
    const s = scripted([1]);
    const m = new HealthMonitor(cfg({ startPeriodMs: 60_000, retries: 1 }), s.probe, () => undefined);
    m.start();
    await until('5 runs', () => s.runs() >= 5);
    assert.equal(m.current.state, 'starting');
    assert.equal(m.current.failingStreak, 0);
    m.stop();
  });

  it('a probe that outlives its timeout is a failure', async () => {
    const s = scripted(['hang']);
    const m = new HealthMonitor(cfg({ timeoutMs: 5, retries: 1 }), s.probe, () => undefined);
    const sick = m.unhealthy();
    m.start();
    await alive(sick);
    m.stop();
    assert.equal(m.current.log.at(-1)!.exitCode, -1);
    assert.match(m.current.log.at(-1)!.output, /exceeded timeout/);
  });

  it('a probe that was not run (a frozen container) changes nothing', async () => {
    const s = scripted([null]);
    const m = new HealthMonitor(cfg({ retries: 1 }), s.probe, () => undefined);
    m.start();
    await until('3 runs', () => s.runs() >= 3);
    m.stop();
    assert.deepEqual([m.current.state, m.current.log.length], ['starting', 0]);
  });

  it('keeps the last 5 results', async () => {
    const s = scripted([1, 1, 1, 1, 1, 1, 1, 1]);
    const m = new HealthMonitor(cfg({ retries: 100 }), s.probe, () => undefined);
    m.start();
    await until('8 runs', () => s.runs() >= 8);
    m.stop();
    assert.ok(m.current.log.length <= 5);
  });
});
