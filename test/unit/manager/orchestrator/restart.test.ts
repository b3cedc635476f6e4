import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileReplicated } from '../../../../manager/orchestrator/replicated';
import { reconcileGlobal } from '../../../../manager/orchestrator/global';
import { refill } from '../../../../manager/orchestrator/restart';
import type { RestartPolicy, Service } from '../../../../shared/types';
import { DEFAULT_RESTART_DELAY_MS } from '../../../../shared/task-spec';
import { node, service, task, type TaskOptions } from '../../fixtures';

const NOW = '2026-01-01T00:00:10.000Z';
const ago = (ms: number) => new Date(Date.parse(NOW) - ms).toISOString();

function svc(policy: Partial<RestartPolicy> | null = null): Service {
  const s = service({ replicas: 1 });
  return { ...s, spec: { ...s.spec, task: { ...s.spec.task, restartPolicy: policy === null ? null : { condition: 'any', delayMs: 0, maxAttempts: null, windowMs: null, ...policy } } } };
}
const ended = (s: Service, ms: number, state: TaskOptions['state'] = 'failed', o: TaskOptions = {}) =>
  task(s, { id: `t${ms}`, slot: 1, state, desiredState: 'running', status: { timestamp: ago(ms) }, createdAt: ago(ms + 1000), ...o });

describe('restart delay (default policy)', () => {
  const s = svc();
  const cases: { name: string; ended: number; state?: TaskOptions['state']; refill: boolean }[] = [
    { name: 'a task that failed just now waits', ended: 100, refill: false },
    { name: 'a task that completed just now waits', ended: 100, state: 'complete', refill: false },
    { name: 'a task that failed longer ago is replaced', ended: DEFAULT_RESTART_DELAY_MS + 10, refill: true },
    { name: 'a task shut down on purpose is replaced at once', ended: 100, state: 'shutdown', refill: true },
  ];
  for (const c of cases) {
    it(`replicated: ${c.name}`, () => {
      const out = reconcileReplicated(s, [ended(s, c.ended, c.state)], NOW);
      assert.deepEqual(out.update.map((t) => [t.id, t.desiredState]), [[`t${c.ended}`, 'shutdown']]);
      assert.equal(out.create.length, c.refill ? 1 : 0);
    });
  }

  it('a slot whose failed task is already retired is refilled once the delay has passed', () => {
    const retired = task(s, { id: 'old', slot: 1, state: 'failed', desiredState: 'shutdown', status: { timestamp: ago(300) } });
    assert.equal(reconcileReplicated(s, [retired], NOW).create.length, 0);
    assert.equal(reconcileReplicated(s, [retired], new Date(Date.parse(NOW) + 800).toISOString()).create.length, 1);
  });

  it('global: a node whose task just failed waits too', () => {
    const g = service({ mode: 'global' });
    const t = (ms: number) => task(g, { id: 'g', slot: null, nodeId: 'n1', state: 'failed', desiredState: 'shutdown', status: { timestamp: ago(ms) } });
    assert.equal(reconcileGlobal(g, [node('n1')], [t(100)], NOW).create.length, 0);
    assert.equal(reconcileGlobal(g, [node('n1')], [t(DEFAULT_RESTART_DELAY_MS + 10)], NOW).create.length, 1);
  });
});

describe('restart policy', () => {
  it('condition none: a task that ended is never replaced', () => {
    const s = svc({ condition: 'none' });
    for (const state of ['failed', 'complete', 'rejected'] as const) assert.equal(refill([ended(s, 5000, state)], s, NOW).kind, 'never', state);
  });

  it('condition on-failure: exit 0 stays complete, a failure is replaced', () => {
    const s = svc({ condition: 'on-failure' });
    assert.equal(refill([ended(s, 5000, 'complete')], s, NOW).kind, 'never');
    assert.equal(refill([ended(s, 5000, 'failed')], s, NOW).kind, 'now');
    // The complete task is retired, but its slot gets nothing new.
    const out = reconcileReplicated(s, [ended(s, 5000, 'complete')], NOW);
    assert.deepEqual([out.create.length, out.update.map((t) => t.desiredState)], [0, ['shutdown']]);
    const again = reconcileReplicated(s, [{ ...ended(s, 5000, 'complete'), desiredState: 'shutdown' }], NOW);
    assert.equal(again.create.length, 0, 'not on the next pass either');
  });

  it('the delay counts from when the task ended', () => {
    const s = svc({ delayMs: 3000 });
    assert.deepEqual(refill([ended(s, 2000)], s, NOW), { kind: 'wait', reason: 'delay' });
    assert.equal(refill([ended(s, 3001)], s, NOW).kind, 'now');
  });

  it('max_attempts: restarts are carried from task to task and stop at the limit', () => {
    const s = svc({ maxAttempts: 2 });
    const first = refill([ended(s, 5000)], s, NOW);
    assert.deepEqual(first, { kind: 'now', restarts: [NOW] });
    assert.equal(refill([ended(s, 5000, 'failed', { restarts: [ago(9000)] })], s, NOW).kind, 'now');
    const last = refill([ended(s, 5000, 'failed', { restarts: [ago(9000), ago(7000)] })], s, NOW);
    assert.equal(last.kind, 'never');
    const made = reconcileReplicated(s, [ended(s, 5000, 'failed', { restarts: [ago(9000)] })], NOW).create[0]!;
    assert.deepEqual(made.restarts, [ago(9000), NOW], 'the new task carries the count');
  });

  it('max_attempts 0 means no limit', () => {
    const s = svc({ maxAttempts: 0 });
    assert.equal(refill([ended(s, 5000, 'failed', { restarts: Array.from({ length: 50 }, (_, i) => ago(9000 + i)) })], s, NOW).kind, 'now');
  });

  it('window: only restarts within it count', () => {
    const s = svc({ maxAttempts: 2, windowMs: 60_000 });
    const r = refill([ended(s, 5000, 'failed', { restarts: [ago(120_000), ago(90_000), ago(30_000)] })], s, NOW);
    assert.deepEqual(r, { kind: 'now', restarts: [ago(30_000), NOW] });
    assert.equal(refill([ended(s, 5000, 'failed', { restarts: [ago(40_000), ago(30_000)] })], s, NOW).kind, 'never');
  });

  it('only the newest task of the slot decides', () => {
    const s = svc({ condition: 'none' });
    const older = ended(s, 9000, 'complete', { id: 'older', createdAt: ago(20_000) });
    const newer = task(s, { id: 'newer', slot: 1, state: 'shutdown', desiredState: 'shutdown', createdAt: ago(8000) });
    assert.equal(refill([older, newer], s, NOW).kind, 'now', 'the newest was stopped on purpose (a scale down)');
  });

  it('a task of an older spec that ended is replaced by the new spec whatever the policy', () => {
    const s = svc({ condition: 'none' });
    assert.equal(refill([ended(s, 100, 'complete', { specVersion: 0 })], s, NOW).kind, 'now');
  });

  it('waits for a retired task that is still stopping on a live node', () => {
    const s = svc();
    const stopping = task(s, { id: 'stopping', slot: 1, nodeId: 'n1', desiredState: 'shutdown', state: 'running' });
    assert.deepEqual(refill([stopping], s, NOW), { kind: 'wait', reason: 'stopping' });
    assert.equal(refill([stopping], s, NOW, () => true).kind, 'now', 'unless its node is lost');
    const never = task(s, { id: 'pending', slot: 1, desiredState: 'shutdown', state: 'pending' });
    assert.equal(refill([never], s, NOW).kind, 'now', 'a task that never reached a node holds nothing up');
    assert.equal(reconcileReplicated(s, [stopping], NOW, [node('n1')]).create.length, 0);
  });
});
