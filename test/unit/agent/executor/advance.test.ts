import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advance as advanceWanted, type Observed } from '../../../../agent/executor/advance';
import type { DesiredState, TaskStateName } from '../../../../shared/task-state';
import { FakeController, type Call, type FakeOptions } from './fake-controller';

function observed(state: TaskStateName, o: Partial<Observed> = {}): Observed {
  return { state, message: '', err: null, pid: null, exitCode: null, paused: false, removed: false, ...o };
}

const live = (): AbortSignal => new AbortController().signal;

/** advance() with a desired state and nothing paused. */
const advance = (desired: DesiredState, cur: Observed, ctrl: FakeController, signal: AbortSignal): Promise<Observed | null> =>
  advanceWanted({ state: desired, paused: false }, cur, ctrl, signal);

/** Calls advance until it returns null; the states it went through, and the last status. */
async function drive(desired: DesiredState, from: Observed, ctrl: FakeController): Promise<{ steps: Observed[]; last: Observed }> {
  const steps: Observed[] = [];
  let cur = from;
  for (let i = 0; i < 20; i++) {
    const next = await advance(desired, cur, ctrl, live());
    if (next === null) return { steps, last: cur };
    steps.push(next);
    cur = next;
  }
  throw new Error('advance never settled');
}

describe('advance: a task through its life', () => {
  it('assigned → accepted → preparing → starting → running → complete → removed', async () => {
    const ctrl = new FakeController({ start: { ok: 777 }, wait: { ok: { exitCode: 0, signal: null } } });
    const { steps, last } = await drive('running', observed('assigned'), ctrl);
    assert.deepEqual(
      steps.map((s) => `${s.state}${s.removed ? ' removed' : ''}`),
      ['accepted', 'preparing', 'starting', 'running', 'complete', 'complete removed'],
    );
    assert.deepEqual(ctrl.calls, ['prepare', 'start', 'wait', 'remove']);
    assert.equal(steps[3]?.pid, 777, 'running carries the pid start returned');
    assert.deepEqual(last, { state: 'complete', message: 'finished', err: null, pid: null, exitCode: 0, paused: false, removed: true });
  });

  it('each step calls at most one controller method', async () => {
    const ctrl = new FakeController();
    let cur = observed('new');
    for (;;) {
      const before = ctrl.calls.length;
      const next = await advance('running', cur, ctrl, live());
      assert.ok(ctrl.calls.length - before <= 1, `from ${cur.state}: ${ctrl.calls.slice(before).join(', ')}`);
      if (next === null) break;
      cur = next;
    }
    assert.equal(cur.removed, true);
  });
});

interface Step {
  name: string;
  desired?: DesiredState;
  from: Observed;
  fake?: FakeOptions;
  /** The expected result; null when advance has nothing to do. */
  want: Partial<Observed> | null;
  calls: Call[];
}

const boom = (m: string) => ({ fail: new Error(m) });

const steps: Step[] = [
  { name: 'new is accepted', from: observed('new'), want: { state: 'accepted' }, calls: [] },
  { name: 'pending is accepted', from: observed('pending'), want: { state: 'accepted' }, calls: [] },
  { name: 'accepted moves to preparing without work', from: observed('accepted'), want: { state: 'preparing' }, calls: [] },
  { name: 'prepared: starting', from: observed('preparing'), want: { state: 'starting', err: null }, calls: ['prepare'] },
  {
    name: 'a prepare error rejects the task',
    from: observed('preparing'),
    fake: { prepare: boom('pull busybox: not found') },
    want: { state: 'rejected', message: 'preparing failed', err: 'pull busybox: not found' },
    calls: ['prepare'],
  },
  {
    name: 'a start error fails the task',
    from: observed('starting'),
    fake: { start: boom('mount /proc: EPERM') },
    want: { state: 'failed', message: 'starting failed', err: 'mount /proc: EPERM', pid: null },
    calls: ['start'],
  },
  { name: 'started: running with its pid', from: observed('starting'), fake: { start: { ok: 99 } }, want: { state: 'running', pid: 99 }, calls: ['start'] },
  {
    name: 'exit 0: complete',
    from: observed('running', { pid: 99 }),
    want: { state: 'complete', exitCode: 0, pid: null, err: null },
    calls: ['wait'],
  },
  {
    name: 'a non-zero exit fails the task with its exit code',
    from: observed('running', { pid: 99 }),
    fake: { wait: { ok: { exitCode: 3, signal: null } } },
    want: { state: 'failed', exitCode: 3, pid: null, err: 'task: non-zero exit (exit code 3)' },
    calls: ['wait'],
  },
  {
    name: 'killed by a signal fails the task',
    from: observed('running', { pid: 99 }),
    fake: { wait: { ok: { exitCode: 137, signal: 'SIGKILL' } } },
    want: { state: 'failed', pid: null, exitCode: 137, err: 'task: non-zero exit (killed by SIGKILL)' },
    calls: ['wait'],
  },
  {
    name: 'a signal fails the task even when the exit code reads 0',
    from: observed('running', { pid: 99 }),
    fake: { wait: { ok: { exitCode: 0, signal: 'SIGTERM' } } },
    want: { state: 'failed', pid: null, exitCode: 0, err: 'task: non-zero exit (killed by SIGTERM)' },
    calls: ['wait'],
  },
  {
    name: 'losing the container fails the task',
    from: observed('running', { pid: 99 }),
    fake: { wait: boom('no such container') },
    want: { state: 'failed', message: 'lost the container', err: 'no such container', pid: null },
    calls: ['wait'],
  },
  {
    name: 'desired shutdown while running: shutdown',
    desired: 'shutdown',
    from: observed('running', { pid: 99 }),
    want: { state: 'shutdown', pid: null },
    calls: ['shutdown'],
  },
  {
    name: 'desired remove while running: shutdown',
    desired: 'remove',
    from: observed('running', { pid: 99 }),
    want: { state: 'shutdown', pid: null },
    calls: ['shutdown'],
  },
  { name: 'desired shutdown before preparing: never started', desired: 'shutdown', from: observed('accepted'), want: { state: 'shutdown' }, calls: [] },
  { name: 'desired shutdown while assigned: never started', desired: 'shutdown', from: observed('assigned'), want: { state: 'shutdown' }, calls: [] },
  { name: 'desired shutdown while preparing: never started', desired: 'shutdown', from: observed('preparing'), want: { state: 'shutdown' }, calls: [] },
  { name: 'a terminal task is released', from: observed('failed', { err: 'x', exitCode: 1 }), want: { state: 'failed', err: 'x', exitCode: 1, removed: true }, calls: ['remove'] },
  { name: 'a terminal task is released even if desired running', from: observed('shutdown'), want: { state: 'shutdown', removed: true }, calls: ['remove'] },
  { name: 'a released task: nothing to do', from: observed('complete', { removed: true }), want: null, calls: [] },
  { name: 'a released task desired shutdown: nothing to do', desired: 'shutdown', from: observed('rejected', { removed: true }), want: null, calls: [] },
];

describe('advance: one step', () => {
  for (const s of steps) {
    it(s.name, async () => {
      const ctrl = new FakeController(s.fake);
      const got = await advance(s.desired ?? 'running', s.from, ctrl, live());
      assert.deepEqual(got, s.want === null ? null : { ...s.from, err: null, ...s.want, ...(s.want.message === undefined && got ? { message: got.message } : {}) });
      assert.deepEqual(ctrl.calls, s.calls);
    });
  }

  it('desired shutdown before start never calls start', async () => {
    for (const state of ['assigned', 'accepted', 'preparing', 'starting'] as const) {
      const ctrl = new FakeController();
      const { last } = await drive('shutdown', observed(state), ctrl);
      assert.equal(last.state, 'shutdown', `from ${state}`);
      assert.equal(last.removed, true);
      assert.ok(!ctrl.calls.includes('start'), `from ${state}: ${ctrl.calls.join(', ')}`);
      assert.ok(!ctrl.calls.includes('prepare'), `from ${state}: ${ctrl.calls.join(', ')}`);
    }
  });

  it('an aborted wait returns null and changes nothing', async () => {
    const ctrl = new FakeController({ wait: 'hang' });
    const ac = new AbortController();
    const p = advance('running', observed('running', { pid: 5 }), ctrl, ac.signal);
    await ctrl.waiting;
    ac.abort();
    assert.equal(await p, null);
    assert.deepEqual(ctrl.calls, ['wait']);
  });

  it('an aborted prepare returns null, not rejected', async () => {
    const ctrl = new FakeController({ prepare: 'hang' });
    const ac = new AbortController();
    const p = advance('running', observed('preparing'), ctrl, ac.signal);
    await ctrl.preparing;
    ac.abort();
    assert.equal(await p, null);
  });

  it('a prepare error sets err; the next step clears nothing it should keep', async () => {
    const ctrl = new FakeController({ prepare: boom('denied') });
    const rejected = await advance('running', observed('preparing'), ctrl, live());
    assert.ok(rejected);
    const released = await advance('running', rejected, ctrl, live());
    assert.deepEqual(released, { ...rejected, removed: true }, 'the error survives the release');
  });
});

describe('advance: pause', () => {
  it('a running task the manager wants paused is frozen, not waited on', async () => {
    const ctrl = new FakeController({ wait: 'hang' });
    const got = await advanceWanted({ state: 'running', paused: true }, observed('running', { pid: 5 }), ctrl, live());
    assert.deepEqual(got, observed('running', { pid: 5, paused: true, message: 'paused' }));
    assert.deepEqual(ctrl.calls, ['pause true']);
  });

  it('unpause thaws it, then the wait goes on', async () => {
    const ctrl = new FakeController({ wait: { ok: { exitCode: 0, signal: null } } });
    const resumed = await advanceWanted({ state: 'running', paused: false }, observed('running', { pid: 5, paused: true }), ctrl, live());
    assert.deepEqual(resumed, observed('running', { pid: 5, paused: false, message: 'resumed' }));
    assert.ok(resumed);
    const done = await advanceWanted({ state: 'running', paused: false }, resumed, ctrl, live());
    assert.equal(done?.state, 'complete');
    assert.deepEqual(ctrl.calls, ['pause false', 'wait']);
  });

  it('a paused task that is stopped is thawed first, so it can act on SIGTERM', async () => {
    const ctrl = new FakeController();
    const got = await advanceWanted({ state: 'shutdown', paused: true }, observed('running', { pid: 5, paused: true }), ctrl, live());
    assert.equal(got?.state, 'shutdown');
    assert.equal(got?.paused, false);
    assert.deepEqual(ctrl.calls, ['pause false', 'shutdown']);
  });

  it('a failed pause keeps the task running unpaused, with the error', async () => {
    const ctrl = new FakeController({ pause: { fail: new Error('no freezer') } });
    const got = await advanceWanted({ state: 'running', paused: true }, observed('running', { pid: 5 }), ctrl, live());
    assert.equal(got?.state, 'running');
    assert.equal(got?.paused, false);
    assert.equal(got?.err, 'no freezer');
  });

  it('paused is only for running tasks: a starting one starts first', async () => {
    const ctrl = new FakeController({ start: { ok: 9 } });
    const got = await advanceWanted({ state: 'running', paused: true }, observed('starting'), ctrl, live());
    assert.equal(got?.state, 'running');
    assert.deepEqual(ctrl.calls, ['start']);
  });
});
