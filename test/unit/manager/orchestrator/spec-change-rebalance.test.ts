import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withSpec } from '../../../../manager/orchestrator/update/spec-change';
import { planUpdate } from '../../../../manager/orchestrator/update/plan';
import { specDigest } from '../../../../shared/service-versions';
import type { Service, Task } from '../../../../shared/types';
import { defaultUpdateConfig } from '../../../../shared/task-spec';
import { at, node, NOW, service, serviceSpec, task } from '../../fixtures';

/**
 * A service change that leaves the digest alone (a scale, a label, `service update` with nothing
 * new) resumes a paused update (withSpec). A paused rebalance resumed that way must go on as a
 * rebalance: start-first, paused rather than rolled back on a failure.
 */
describe('withSpec over a paused rebalance', () => {
  const update = { ...defaultUpdateConfig(), order: 'stop-first' as const, failureAction: 'rollback' as const };
  const made = service({
    id: 'svc-a',
    replicas: 3,
    update,
    previousSpec: serviceSpec({ name: 'web', container: { image: 'busybox:1.35' } }),
    updateStatus: { state: 'paused', startedAt: at(-60), completedAt: null, message: 'rebalance paused due to failure or early termination of task bad2', rebalance: true },
  });
  // The real digest (the fixtures' is a stand-in), so that withSpec sees the spec unchanged.
  const paused: Service = { ...made, specDigest: specDigest(made.spec) };
  const stay = (slot: number): Task => task(paused, { id: `t${slot}`, slot, nodeId: 'a', createdAt: at(-600), status: { timestamp: at(-600) } });
  const tasks = [stay(1), { ...stay(2), move: true }, { ...stay(3), move: true }];

  it('resumes it as a rebalance (rebalance: true kept)', () => {
    const next = withSpec(paused, { ...paused.spec, labels: { team: 'a' } }, NOW);
    assert.equal(next.specVersion, paused.specVersion, 'no new spec');
    assert.equal(next.updateStatus?.state, 'updating');
    assert.equal(next.updateStatus?.rebalance, true, `status after resume: ${JSON.stringify(next.updateStatus)}`);
  });

  it('so that the updater goes on start-first and never stops a marked task first', () => {
    const next = withSpec(paused, { ...paused.spec, labels: { team: 'a' } }, NOW);
    const p = planUpdate(next, tasks, [node('a'), node('b'), node('c')], at(1));
    assert.deepEqual(p.actions.update.filter((t) => t.desiredState === 'shutdown').map((t) => t.id), [], 'a marked task stopped before its replacement runs');
    assert.deepEqual(p.actions.create.map((t) => t.slot), [2]);
  });

  it('and a failure then pauses it rather than rolling the service back to its previous spec', () => {
    const next = withSpec(paused, { ...paused.spec, labels: { team: 'a' } }, NOW);
    const bad = task(paused, { id: 'bad2', slot: 2, nodeId: 'b', state: 'failed', createdAt: at(1) });
    const p = planUpdate(next, [...tasks, bad], [node('a'), node('b'), node('c')], at(2));
    assert.equal(p.service?.updateStatus?.state, 'paused', `status: ${JSON.stringify(p.service?.updateStatus)}`);
    assert.equal(p.service?.specVersion, paused.specVersion, 'rolled back to the previous spec');
  });
});
