import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyStatus } from '../../../../manager/dispatcher/status';
import type { StatusUpdate } from '../../../../shared/proto/codec';
import type { TaskStateName } from '../../../../shared/task-state';
import type { Task } from '../../../../shared/types';
import { at, NOW, service, task } from '../../fixtures';

const svc = service();
const LATER = at(10);

function on(state: TaskStateName, o: Partial<Task['status']> = {}): Task {
  return task(svc, { id: 't1', nodeId: 'n1', state, status: { message: 'm', pid: null, ...o } });
}

function report(state: TaskStateName, o: Partial<StatusUpdate> = {}): StatusUpdate {
  return { taskId: 't1', state, message: 'm', err: null, pid: null, exitCode: null, timestamp: LATER, paused: false, ...o };
}

describe('applyStatus', () => {
  const applied: { name: string; task: Task; u: StatusUpdate }[] = [
    { name: 'assigned → accepted', task: on('assigned'), u: report('accepted') },
    { name: 'assigned → running (skipping states)', task: on('assigned'), u: report('running', { pid: 42 }) },
    { name: 'running → failed with exit code', task: on('running', { pid: 42 }), u: report('failed', { err: 'exit 3', exitCode: 3 }) },
    { name: 'running → complete with exit code 0', task: on('running', { pid: 42 }), u: report('complete', { exitCode: 0 }) },
    { name: 'preparing → rejected', task: on('preparing'), u: report('rejected', { err: 'no such image' }) },
    { name: 'same state with a new pid', task: on('running', { pid: 42 }), u: report('running', { pid: 43 }) },
    { name: 'same state with a new message', task: on('preparing'), u: report('preparing', { message: 'pulling busybox' }) },
    { name: 'same state with a new error', task: on('failed', { err: 'a' }), u: report('failed', { err: 'b' }) },
  ];
  for (const c of applied) {
    it(`applies ${c.name}`, () => {
      const got = applyStatus(c.task, c.u, 'n1');
      assert.deepEqual(got, {
        ...c.task,
        status: { state: c.u.state, message: c.u.message, err: c.u.err, timestamp: c.u.timestamp, pid: c.u.pid, exitCode: c.u.exitCode, paused: c.u.paused },
      });
    });
  }

  const ignored: { name: string; task: Task; u: StatusUpdate; from?: string }[] = [
    { name: 'a backward move (running → starting)', task: on('running', { pid: 42 }), u: report('starting') },
    { name: 'a backward move (failed → running)', task: on('failed'), u: report('running', { pid: 42 }) },
    { name: 'a backward move (complete → assigned)', task: on('complete'), u: report('assigned') },
    { name: "another node's report", task: on('assigned'), u: report('running', { pid: 42 }), from: 'n2' },
    { name: 'a report for a task with no node', task: { ...on('pending'), nodeId: null }, u: report('running') },
    { name: 'a repeat of the same status', task: on('running', { pid: 42 }), u: report('running', { pid: 42 }) },
  ];
  for (const c of ignored) {
    it(`ignores ${c.name}`, () => {
      assert.equal(applyStatus(c.task, c.u, c.from ?? 'n1'), null);
    });
  }

  it('does not change the task it is given', () => {
    const t = on('assigned');
    const copy = structuredClone(t);
    applyStatus(t, report('running', { pid: 1 }), 'n1');
    assert.deepEqual(t, copy);
  });

  it('keeps desired state, spec and node', () => {
    const t = { ...on('running'), desiredState: 'shutdown' as const };
    const got = applyStatus(t, report('shutdown'), 'n1');
    assert.ok(got);
    assert.equal(got.desiredState, 'shutdown');
    assert.equal(got.nodeId, 'n1');
    assert.equal(got.spec, t.spec);
    assert.equal(got.createdAt, NOW);
  });
});
