import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planUpdate } from '../../../../manager/orchestrator/update/plan';
import { startRebalance } from '../../../../manager/orchestrator/rebalance';
import type { Service, Task, UpdateConfig, UpdateStatus } from '../../../../shared/types';
import { defaultUpdateConfig } from '../../../../shared/task-spec';
import { at, ids, node, NOW, service, serviceSpec, task, type TaskOptions } from '../../fixtures';

const START = at(-60);
const rebalancing: UpdateStatus = { state: 'updating', startedAt: START, completedAt: null, message: 'rebalance: moving 2 tasks to emptier nodes', rebalance: true };

/**
 * A service of 3 replicas being rebalanced. Its update_config is stop-first with failure_action
 * rollback, and it has a previous spec: what a rebalance must not use.
 */
function svc(update: Partial<UpdateConfig> = {}): Service {
  return service({
    id: 'svc-a',
    replicas: 3,
    updateStatus: rebalancing,
    previousSpec: serviceSpec({ name: 'web', container: { image: 'busybox:1.35' } }),
    update: { ...defaultUpdateConfig(), order: 'stop-first', failureAction: 'rollback', ...update },
  });
}

/** A task of slot `slot` that has run (ready) for long, from before the rebalance. */
const stay = (s: Service, slot: number, o: TaskOptions = {}): Task =>
  task(s, { id: `t${slot}`, slot, nodeId: 'a', createdAt: at(-600), ...o, status: { timestamp: at(-600), ...o.status } });
/** The same, marked by the rebalance to move. */
const marked = (s: Service, slot: number): Task => ({ ...stay(s, slot), move: true });
/** The replacement of slot `slot`, made after the rebalance started, ready since `since`. */
const fresh = (s: Service, slot: number, since = at(-30), o: TaskOptions = {}): Task =>
  task(s, { id: `new${slot}`, slot, nodeId: 'b', createdAt: at(-40), ...o, status: { timestamp: since, ...o.status } });

const nodes = [node('a'), node('b'), node('c')];
const retired = (p: ReturnType<typeof planUpdate>) => ids(p.actions.update.filter((t) => t.desiredState === 'shutdown'));

describe('planUpdate during a rebalance', () => {
  it('makes the replacement beside the marked task (start-first) though update_config says stop-first', () => {
    const s = svc();
    const p = planUpdate(s, [stay(s, 1), marked(s, 2), marked(s, 3)], nodes, NOW);
    assert.deepEqual(retired(p), [], 'no marked task is stopped first');
    assert.deepEqual(p.actions.create.map((t) => [t.slot, t.specDigest, t.desiredState, t.move]), [[2, s.specDigest, 'running', undefined]]);
    assert.equal(p.service, null);
  });

  it('respects parallelism: 2 at a time, 0 for all at once', () => {
    const two = svc({ parallelism: 2 });
    const tasks = (s: Service) => [marked(s, 1), marked(s, 2), marked(s, 3)];
    assert.deepEqual(planUpdate(two, tasks(two), nodes, NOW).actions.create.map((t) => t.slot), [1, 2]);
    const all = svc({ parallelism: 0 });
    assert.deepEqual(planUpdate(all, tasks(all), nodes, NOW).actions.create.map((t) => t.slot), [1, 2, 3]);
    const one = svc();
    assert.deepEqual(planUpdate(one, tasks(one), nodes, NOW).actions.create.map((t) => t.slot), [1]);
  });

  it('waits while a replacement starts, then moves on to the next marked slot', () => {
    const s = svc();
    const starting = planUpdate(s, [stay(s, 1), marked(s, 2), fresh(s, 2, at(-1), { state: 'starting', createdAt: at(-1) }), marked(s, 3)], nodes, NOW);
    assert.deepEqual([starting.actions, starting.service], [{ create: [], update: [], remove: [] }, null]);
    // new2 ready; the marked t2 beside it is the reconciler's to stop (keepers.ts): slot 3 is next.
    const next = planUpdate(s, [stay(s, 1), marked(s, 2), fresh(s, 2), marked(s, 3)], nodes, NOW);
    assert.deepEqual(next.actions.create.map((t) => t.slot), [3]);
    assert.deepEqual(retired(next), []);
  });

  it('a failed replacement pauses it, as a rebalance, though failure_action is rollback', () => {
    const s = svc();
    const p = planUpdate(s, [stay(s, 1), marked(s, 2), fresh(s, 2, at(-5), { id: 'bad2', state: 'failed' }), marked(s, 3)], nodes, NOW);
    assert.deepEqual(p.actions, { create: [], update: [], remove: [] });
    const back = p.service;
    assert.ok(back !== null);
    assert.deepEqual(back.updateStatus, { state: 'paused', startedAt: START, completedAt: null, message: 'rebalance paused due to failure or early termination of task bad2', rebalance: true });
    assert.match(back.updateStatus?.message ?? '', /^rebalance paused/);
    assert.deepEqual([back.spec, back.specVersion, back.specDigest, back.previousSpec], [s.spec, s.specVersion, s.specDigest, s.previousSpec], 'not rolled back');
  });

  it('a replacement not ready within monitor pauses it too', () => {
    const s = svc({ monitorMs: 5000, failureAction: 'rollback' });
    const stuck = fresh(s, 2, at(-1), { id: 'stuck', state: 'pending', createdAt: at(-6) });
    const p = planUpdate(s, [stay(s, 1), marked(s, 2), stuck, marked(s, 3)], nodes, NOW);
    assert.equal(p.service?.updateStatus?.state, 'paused');
    assert.match(p.service?.updateStatus?.message ?? '', /^rebalance paused .* task stuck$/);
    assert.equal(p.service?.specVersion, s.specVersion);
  });

  it('failure_action pause pauses; continue goes on', () => {
    const failed = (s: Service) => [stay(s, 1), marked(s, 2), fresh(s, 2, at(-5), { id: 'bad2', state: 'failed' }), marked(s, 3)];
    const paused = svc({ failureAction: 'pause' });
    assert.equal(planUpdate(paused, failed(paused), nodes, NOW).service?.updateStatus?.state, 'paused');
    const goOn = svc({ failureAction: 'continue' });
    const p = planUpdate(goOn, failed(goOn), nodes, NOW);
    assert.equal(p.service, null);
    assert.deepEqual(p.actions.create.map((t) => t.slot), [2], 'slot 2 gets another replacement');
  });

  it('completes once the marked tasks are gone and the new ones have been ready for monitor; keeps rebalance: true', () => {
    const s = svc({ monitorMs: 5000 });
    const within = planUpdate(s, [stay(s, 1), fresh(s, 2, at(-30)), fresh(s, 3, at(-2))], nodes, NOW);
    assert.equal(within.service, null);
    assert.equal(within.againInMs, 3000);
    const notYet = planUpdate(s, [stay(s, 1), fresh(s, 2), marked(s, 3), fresh(s, 3)], nodes, NOW);
    assert.equal(notYet.service, null, 'a marked task still live beside its ready replacement');
    const p = planUpdate(s, [stay(s, 1), fresh(s, 2), fresh(s, 3)], nodes, NOW);
    assert.deepEqual(p.service?.updateStatus, { state: 'completed', startedAt: START, completedAt: NOW, message: 'rebalance completed', rebalance: true });
    assert.deepEqual(p.actions, { create: [], update: [], remove: [] });
  });

  it('from start to end: started, paused by a failure, resumed, completed', () => {
    const s0 = service({ id: 'svc-a', replicas: 3, update: { ...defaultUpdateConfig(), failureAction: 'rollback' }, previousSpec: serviceSpec({ name: 'web' }) });
    const base = [1, 2, 3].map((slot) => stay(s0, slot));
    const started = startRebalance(s0, base, [node('a'), node('b'), node('c')], at(-60));
    assert.ok('service' in started);
    assert.deepEqual(started.tasks.map((t) => t.slot), [3, 2]);
    const s1 = started.service;
    const tasks1 = base.map((t) => started.tasks.find((m) => m.id === t.id) ?? t);
    const first = planUpdate(s1, tasks1, nodes, at(-59));
    assert.deepEqual(first.actions.create.map((t) => t.slot), [2]);

    // Slot 2's replacement fails: paused, as a rebalance.
    const bad = fresh(s1, 2, at(-40), { id: 'bad2', state: 'failed', createdAt: at(-50) });
    const pause = planUpdate(s1, [...tasks1, bad], nodes, at(-30));
    const s2 = pause.service;
    assert.ok(s2 !== null);
    assert.deepEqual([s2.updateStatus?.state, s2.updateStatus?.rebalance, s2.specVersion], ['paused', true, s0.specVersion]);

    // Resumed (`service rebalance` again): the marked tasks are still there; the old failure no longer counts.
    const resumed = startRebalance(s2, [...tasks1, bad], [node('a'), node('b'), node('c')], at(-20));
    assert.ok('service' in resumed, JSON.stringify(resumed));
    assert.deepEqual(resumed.tasks, []);
    const again = planUpdate(resumed.service, [...tasks1, bad], nodes, at(-19));
    assert.equal(again.service, null);
    assert.deepEqual(again.actions.create.map((t) => t.slot), [2]);

    const done = planUpdate(resumed.service, [stay(s0, 1), fresh(s0, 2, at(-10), { createdAt: at(-15) }), fresh(s0, 3, at(-10), { createdAt: at(-15) })], nodes, NOW);
    assert.deepEqual(done.service?.updateStatus, { state: 'completed', startedAt: at(-20), completedAt: NOW, message: 'rebalance completed', rebalance: true });
  });
});
