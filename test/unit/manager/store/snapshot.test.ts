import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskActions } from '../../../../manager/orchestrator/actions';
import { taskWrites, type Snapshot } from '../../../../manager/store/snapshot';
import { Keys } from '../../../../shared/keys';
import type { Task } from '../../../../shared/types';
import { service, task } from '../../fixtures';

const svc = service();
const t = (id: string): Task => task(svc, { id });

function snap(revisions: Record<string, string>): Snapshot {
  return { services: [], tasks: [], nodes: [], revisions: new Map(Object.entries(revisions).map(([id, rev]) => [Keys.task(id), rev])) };
}

function actions(a: Partial<TaskActions>): TaskActions {
  return { create: [], update: [], remove: [], ...a };
}

describe('taskWrites', () => {
  it('creates are guarded absent', () => {
    const n = t('new1');
    assert.deepEqual(taskWrites(actions({ create: [n] }), snap({})), [{ put: Keys.task('new1'), value: n, guard: { absent: true } }]);
  });

  it('updates are guarded by the revision read', () => {
    const u = t('u1');
    assert.deepEqual(taskWrites(actions({ update: [u] }), snap({ u1: '17' })), [{ put: Keys.task('u1'), value: u, guard: { modRevision: '17' } }]);
  });

  it('deletes are guarded by the revision read', () => {
    assert.deepEqual(taskWrites(actions({ remove: ['r1'] }), snap({ r1: '9' })), [{ del: Keys.task('r1'), guard: { modRevision: '9' } }]);
  });

  it('remove wins over update of the same task', () => {
    const ops = taskWrites(actions({ update: [t('x')], remove: ['x'] }), snap({ x: '5' }));
    assert.deepEqual(ops, [{ del: Keys.task('x'), guard: { modRevision: '5' } }]);
  });

  it('remove wins whatever the order it is listed in', () => {
    const ops = taskWrites(actions({ remove: ['x', 'y'], update: [t('y'), t('x'), t('z')] }), snap({ x: '5', y: '6', z: '7' }));
    assert.deepEqual(
      ops.map((o) => ('put' in o ? `put ${o.put}` : `del ${o.del}`)),
      [`put ${Keys.task('z')}`, `del ${Keys.task('x')}`, `del ${Keys.task('y')}`],
    );
  });

  it('a task updated twice is written once (the first update)', () => {
    const first = { ...t('x'), desiredState: 'shutdown' as const };
    const second = { ...t('x'), desiredState: 'remove' as const };
    const ops = taskWrites(actions({ update: [first, second] }), snap({ x: '5' }));
    assert.deepEqual(ops, [{ put: Keys.task('x'), value: first, guard: { modRevision: '5' } }]);
  });

  it('a task removed twice is deleted once', () => {
    const ops = taskWrites(actions({ remove: ['x', 'x'] }), snap({ x: '5' }));
    assert.equal(ops.length, 1);
  });

  it('a task missing from the snapshot gets no revision guard', () => {
    assert.deepEqual(taskWrites(actions({ update: [t('u')], remove: ['r'] }), snap({})), [
      { put: Keys.task('u'), value: t('u'), guard: null },
      { del: Keys.task('r'), guard: null },
    ]);
  });

  it('no actions, no writes', () => {
    assert.deepEqual(taskWrites(actions({}), snap({ a: '1' })), []);
  });

  it('creates, then updates, then deletes', () => {
    const ops = taskWrites(actions({ create: [t('c')], update: [t('u')], remove: ['r'] }), snap({ u: '2', r: '3' }));
    assert.deepEqual(
      ops.map((o) => ('put' in o ? (o.guard && 'absent' in o.guard ? 'create' : 'update') : 'delete')),
      ['create', 'update', 'delete'],
    );
  });
});
