import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observed } from '../../../../agent/executor/advance';
import { TaskRunner } from '../../../../agent/executor/runner';
import type { Logger } from '../../../../shared/log';
import type { AssignedTask, StatusUpdate } from '../../../../shared/proto/codec';
import type { TaskStateName } from '../../../../shared/task-state';
import { taskSpec } from '../../fixtures';
import { FakeController, type FakeOptions } from './fake-controller';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

const assigned: AssignedTask = {
  id: 'task-0123456789abcdef',
  serviceId: 'svc',
  serviceName: 'web',
  slot: 1,
  desiredState: 'running',
  spec: taskSpec(),
  observedState: 'assigned', networks: [], paused: false, serviceLabels: {},
};

const initial: Observed = { state: 'assigned', message: '', err: null, pid: null, exitCode: null, paused: false, removed: false };

/** A runner with a fake controller; `reached(state)` resolves when that state is reported. */
function setup(fake: FakeOptions) {
  const ctrl = new FakeController(fake);
  const reports: StatusUpdate[] = [];
  const waiters = new Map<TaskStateName, () => void>();
  const reachedP = new Map<TaskStateName, Promise<void>>();
  const reached = (s: TaskStateName): Promise<void> => {
    let p = reachedP.get(s);
    if (!p) {
      p = new Promise<void>((r) => waiters.set(s, r));
      reachedP.set(s, p);
      if (reports.some((u) => u.state === s)) waiters.get(s)?.();
    }
    return p;
  };
  const runner = new TaskRunner(
    assigned,
    ctrl,
    (u) => {
      reports.push(u);
      waiters.get(u.state)?.();
    },
    quiet,
    initial,
  );
  return { ctrl, reports, runner, reached };
}

describe('TaskRunner', () => {
  it('reports every state of a task that runs to completion, then stops', async () => {
    const { ctrl, reports, runner } = setup({ start: { ok: 31 } });
    await runner.start();
    assert.deepEqual(
      reports.map((u) => u.state),
      ['accepted', 'preparing', 'starting', 'running', 'complete'],
    );
    assert.ok(reports.every((u) => u.taskId === assigned.id));
    assert.equal(reports[3]?.pid, 31);
    assert.equal(reports[4]?.exitCode, 0);
    assert.equal(reports[4]?.pid, null);
    assert.deepEqual(ctrl.calls, ['prepare', 'start', 'wait', 'remove']);
    assert.equal(runner.finished, true);
    assert.equal(runner.state.state, 'complete');
  });

  it('reports a failure with its exit code', async () => {
    const { reports, runner } = setup({ wait: { ok: { exitCode: 2, signal: null } } });
    await runner.start();
    const last = reports.at(-1);
    assert.equal(last?.state, 'failed');
    assert.equal(last?.exitCode, 2);
    assert.match(last?.err ?? '', /exit code 2/);
  });

  it('reports a rejection when prepare fails and never starts', async () => {
    const { ctrl, reports, runner } = setup({ prepare: { fail: new Error('image not found') } });
    await runner.start();
    assert.deepEqual(
      reports.map((u) => u.state),
      ['accepted', 'preparing', 'rejected'],
    );
    assert.equal(reports.at(-1)?.err, 'image not found');
    assert.deepEqual(ctrl.calls, ['prepare', 'remove']);
  });

  it("setDesired('shutdown') while running stops the container", async () => {
    const { ctrl, reports, runner, reached } = setup({ wait: 'hang' });
    const done = runner.start();
    await reached('running');
    await ctrl.waiting;
    runner.setDesired('shutdown');
    await done;
    assert.deepEqual(
      reports.map((u) => u.state),
      ['accepted', 'preparing', 'starting', 'running', 'shutdown'],
    );
    assert.deepEqual(ctrl.calls, ['prepare', 'start', 'wait', 'shutdown', 'remove']);
    assert.equal(reports.at(-1)?.pid, null);
    assert.equal(runner.finished, true);
  });

  it("setDesired('shutdown') while preparing stops without starting", async () => {
    const { ctrl, reports, runner } = setup({ prepare: 'hang' });
    const done = runner.start();
    await ctrl.preparing;
    runner.setDesired('shutdown');
    await done;
    assert.deepEqual(
      reports.map((u) => u.state),
      ['accepted', 'preparing', 'shutdown'],
    );
    assert.ok(!ctrl.calls.includes('start'), ctrl.calls.join(', '));
    assert.equal(runner.finished, true);
  });

  it("setDesired('running') when already running changes nothing", async () => {
    const { ctrl, runner, reached } = setup({ wait: 'hang' });
    const done = runner.start();
    await reached('running');
    await ctrl.waiting;
    runner.setDesired('running');
    assert.equal(runner.finished, false);
    runner.detach();
    await done;
  });

  it('detach stops driving the task without touching the container', async () => {
    const { ctrl, reports, runner, reached } = setup({ wait: 'hang' });
    const done = runner.start();
    await reached('running');
    await ctrl.waiting;
    runner.detach();
    await done;
    assert.deepEqual(ctrl.calls, ['prepare', 'start', 'wait']);
    assert.equal(reports.at(-1)?.state, 'running');
    assert.equal(runner.finished, false);
  });

  it('start() twice runs one loop', async () => {
    const { ctrl, runner } = setup({});
    const a = runner.start();
    const b = runner.start();
    assert.equal(a, b);
    await a;
    assert.deepEqual(ctrl.calls, ['prepare', 'start', 'wait', 'remove']);
  });
});
