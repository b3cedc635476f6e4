import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planUpdate } from '../../../../manager/orchestrator/update/plan';
import type { Service, Task, UpdateConfig, UpdateStatus } from '../../../../shared/types';
import { defaultUpdateConfig } from '../../../../shared/task-spec';
import { at, ids, node, NOW, service, serviceSpec, task } from '../../fixtures';

const START = at(-60);
const updating: UpdateStatus = { state: 'updating', startedAt: START, completedAt: null, message: 'update in progress' };

function svc(update: Partial<UpdateConfig> = {}, o: Parameters<typeof service>[0] = {}): Service {
  return service({ id: 'svc-a', replicas: 3, specVersion: 2, updateStatus: updating, previousSpec: serviceSpec({ name: 'web' }), update: { ...defaultUpdateConfig(), ...update }, ...o });
}

/** An old (version 1) running task of a slot, made before the update started. */
const old = (s: Service, slot: number, o: Parameters<typeof task>[1] = {}): Task => task(s, { id: `old${slot}`, slot, specVersion: 1, createdAt: at(-600), ...o });
/** A task of the current spec, made after the update started and running (ready) since `since`. */
const cur = (s: Service, slot: number, since = at(-30), o: Parameters<typeof task>[1] = {}): Task =>
  task(s, { id: `new${slot}`, slot, createdAt: at(-40), ...o, status: { timestamp: since, ...o.status } });

const retired = (p: ReturnType<typeof planUpdate>) => ids(p.actions.update.filter((t) => t.desiredState === 'shutdown'));

describe('planUpdate', () => {
  it('does nothing for a service that is not updating', () => {
    for (const updateStatus of [null, { ...updating, state: 'paused' as const }, { ...updating, state: 'completed' as const }]) {
      const s = svc({}, { updateStatus });
      const p = planUpdate(s, [old(s, 1)], [], NOW);
      assert.deepEqual(p, { actions: { create: [], update: [], remove: [] }, service: null, againInMs: null });
    }
  });

  it('stop-first, parallelism 1: retires the first old task only', () => {
    const s = svc();
    const p = planUpdate(s, [old(s, 1), old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual(retired(p), ['old1']);
    assert.equal(p.actions.create.length, 0);
    assert.equal(p.service, null);
  });

  it('waits while a slot is being refilled (its old task stopping, nothing live)', () => {
    const s = svc();
    const stopping = old(s, 1, { desiredState: 'shutdown' });
    const p = planUpdate(s, [stopping, old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual(p.actions, { create: [], update: [], remove: [] });
  });

  it('waits while the new task of a slot is not ready yet', () => {
    const s = svc();
    const p = planUpdate(s, [cur(s, 1, at(-1), { state: 'starting', createdAt: at(-1) }), old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual([p.actions.update, p.service], [[], null]);
    const unhealthy = planUpdate(s, [cur(s, 1, at(-1), { status: { health: 'starting' }, createdAt: at(-1) }), old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual([unhealthy.actions.update, unhealthy.service], [[], null], 'a task whose health check has not passed is not ready');
  });

  it('moves on once the new task is ready', () => {
    const s = svc();
    const p = planUpdate(s, [cur(s, 1), old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual(retired(p), ['old2']);
  });

  it('keeps parallelism slots busy: 2 at a time, 0 for all at once', () => {
    const s2 = svc({ parallelism: 2 });
    assert.deepEqual(retired(planUpdate(s2, [old(s2, 1), old(s2, 2), old(s2, 3)], [], NOW)), ['old1', 'old2']);
    assert.deepEqual(retired(planUpdate(s2, [cur(s2, 1, at(-1), { state: 'starting', createdAt: at(-1) }), old(s2, 2), old(s2, 3)], [], NOW)), ['old2']);
    const all = svc({ parallelism: 0 });
    assert.deepEqual(retired(planUpdate(all, [old(all, 1), old(all, 2), old(all, 3)], [], NOW)), ['old1', 'old2', 'old3']);
  });

  it('waits `delay` after a task is ready before the next, and says when to look again', () => {
    const s = svc({ delayMs: 10_000, monitorMs: 1000 });
    const p = planUpdate(s, [cur(s, 1, at(-4)), old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual(p.actions.update, []);
    assert.equal(p.againInMs, 6000);
    assert.deepEqual(retired(planUpdate(s, [cur(s, 1, at(-11)), old(s, 2), old(s, 3)], [], NOW)), ['old2']);
  });

  it('start-first: makes the new task beside the old one', () => {
    const s = svc({ order: 'start-first' });
    const p = planUpdate(s, [old(s, 1), old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual(p.actions.update, []);
    assert.deepEqual(p.actions.create.map((t) => [t.slot, t.specDigest, t.desiredState]), [[1, s.specDigest, 'running']]);
    // The old task of slot 1 is still there while the new one starts: nothing more yet.
    const next = planUpdate(s, [old(s, 1), cur(s, 1, NOW, { state: 'starting' }), old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual(next.actions, { create: [], update: [], remove: [] });
  });

  it('pauses on the first failure of a new task, naming it', () => {
    const s = svc();
    const failed = cur(s, 1, at(-5), { id: 'bad1', state: 'failed' });
    const p = planUpdate(s, [failed, old(s, 2), old(s, 3)], [], NOW);
    assert.deepEqual(p.actions, { create: [], update: [], remove: [] });
    assert.equal(p.service?.updateStatus?.state, 'paused');
    assert.equal(p.service?.updateStatus?.message, 'update paused due to failure or early termination of task bad1');
    assert.equal(p.service?.updateStatus?.startedAt, START);
  });

  it('a failure from before the update started does not count', () => {
    const s = svc();
    const earlier = cur(s, 1, at(-100), { id: 'before', state: 'failed', createdAt: at(-100) });
    assert.equal(planUpdate(s, [earlier, cur(s, 1), old(s, 2), old(s, 3)], [], NOW).service, null);
  });

  it('a new task not ready within monitor counts as failed', () => {
    const s = svc({ monitorMs: 5000 });
    const stuck = cur(s, 1, at(-1), { id: 'stuck', state: 'pending', createdAt: at(-6) });
    assert.equal(planUpdate(s, [stuck, old(s, 2), old(s, 3)], [], NOW).service?.updateStatus?.state, 'paused');
    const young = cur(s, 1, at(-1), { id: 'young', state: 'pending', createdAt: at(-2) });
    const p = planUpdate(s, [young, old(s, 2), old(s, 3)], [], NOW);
    assert.equal(p.service, null);
    assert.equal(p.againInMs, 3000, 'looks again when its monitor period ends');
  });

  it('a running task whose health check has not answered yet gets the time the check needs', () => {
    const s = svc({ monitorMs: 5000 });
    const slow = (since: string) => {
      const t = cur(s, 1, since, { id: 'slow', createdAt: at(-12), status: { health: 'starting' } });
      return { ...t, spec: { ...t.spec, container: { ...t.spec.container, healthcheck: { test: ['CMD', 'true'], intervalMs: 10_000, timeoutMs: 2000, startPeriodMs: null, startIntervalMs: null, retries: null } } } };
    };
    const waiting = planUpdate(s, [slow(at(-8)), old(s, 2), old(s, 3)], [], NOW);
    assert.equal(waiting.service, null, 'within its first interval + timeout (12 s) after it started');
    assert.equal(waiting.againInMs, 4000);
    assert.equal(planUpdate(s, [slow(at(-13)), old(s, 2), old(s, 3)], [], NOW).service?.updateStatus?.state, 'paused', 'past it');
  });

  it('failure_action continue keeps going; max_failure_ratio tolerates that share', () => {
    const s = svc({ failureAction: 'continue' });
    const p = planUpdate(s, [cur(s, 1, at(-5), { id: 'bad1', state: 'failed' }), old(s, 2), old(s, 3)], [], NOW);
    assert.equal(p.service, null);
    const four = svc({ maxFailureRatio: 0.5 }, { replicas: 4 });
    const fails = (n: number) => Array.from({ length: n }, (_, i) => cur(four, i + 1, at(-5), { id: `bad${i + 1}`, state: 'failed' }));
    assert.equal(planUpdate(four, [...fails(2), old(four, 3), old(four, 4)], [], NOW).service, null, '2 of 4 is not more than half');
    assert.equal(planUpdate(four, [...fails(3), old(four, 4)], [], NOW).service?.updateStatus?.state, 'paused');
  });

  it('failure_action rollback goes back to the previous spec, which becomes the rollback', () => {
    const s = svc({ failureAction: 'rollback' });
    const p = planUpdate(s, [cur(s, 1, at(-5), { id: 'bad1', state: 'failed' }), old(s, 2), old(s, 3)], [], NOW);
    const back = p.service!;
    assert.equal(back.updateStatus?.state, 'rollback_started');
    assert.equal(back.updateStatus?.message, 'update rolled back due to failure or early termination of task bad1');
    assert.deepEqual(back.spec, { ...s.previousSpec!, replicas: 3 });
    assert.deepEqual(back.previousSpec, s.spec);
    assert.equal(back.specVersion, 3);
    assert.notEqual(back.specDigest, s.specDigest);
  });

  it('a rollback that fails pauses (a rollback is not rolled back)', () => {
    const s = svc({}, { updateStatus: { ...updating, state: 'rollback_started' }, rollback: { ...defaultUpdateConfig(), failureAction: 'pause' } });
    const p = planUpdate(s, [cur(s, 1, at(-5), { id: 'bad1', state: 'failed' }), old(s, 2), old(s, 3)], [], NOW);
    assert.equal(p.service?.updateStatus?.state, 'rollback_paused');
    assert.match(p.service?.updateStatus?.message ?? '', /^rollback paused due to failure/);
  });

  it('completes once every slot runs the new spec and the last task has been ready for monitor', () => {
    const s = svc({ monitorMs: 5000 });
    const within = planUpdate(s, [cur(s, 1, at(-30)), { ...cur(s, 2, at(-30)), id: 'n2' }, { ...cur(s, 3, at(-2)), id: 'n3' }], [], NOW);
    assert.equal(within.service, null);
    assert.equal(within.againInMs, 3000);
    const p = planUpdate(s, [cur(s, 1), { ...cur(s, 2), id: 'n2' }, { ...cur(s, 3), id: 'n3' }], [], NOW);
    assert.deepEqual(p.service?.updateStatus, { state: 'completed', startedAt: START, completedAt: NOW, message: 'update completed' });
  });

  it('does not complete while an old task is still live beside a ready new one', () => {
    const s = svc({ order: 'start-first' });
    const p = planUpdate(s, [cur(s, 1), old(s, 1), { ...cur(s, 2), id: 'n2' }, { ...cur(s, 3), id: 'n3' }], [], NOW);
    assert.equal(p.service, null);
  });

  it('a rollback completes as rollback_completed', () => {
    const s = svc({}, { updateStatus: { ...updating, state: 'rollback_started' } });
    const p = planUpdate(s, [cur(s, 1), { ...cur(s, 2), id: 'n2' }, { ...cur(s, 3), id: 'n3' }], [], NOW);
    assert.equal(p.service?.updateStatus?.state, 'rollback_completed');
  });

  it('global services update node by node; a down node is left to the reconciler', () => {
    const s = svc({}, { mode: 'global' });
    const nodes = [node('n1'), node('n2'), node('n3', { state: 'down' })];
    const on = (n: string) => old(s, 0, { id: `old-${n}`, slot: null, nodeId: n });
    const p = planUpdate(s, [on('n1'), on('n2'), on('n3')], nodes, NOW);
    assert.deepEqual(retired(p), ['old-n1']);
    const sf = svc({ order: 'start-first', parallelism: 0 }, { mode: 'global' });
    const made = planUpdate(sf, [on('n1'), on('n2'), on('n3')], nodes, NOW).actions.create;
    assert.deepEqual(made.map((t) => [t.nodeId, t.slot]).sort(), [['n1', null], ['n2', null]]);
  });
});
