import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newService, rolledBack, withSpec } from '../../../../manager/orchestrator/update/spec-change';
import { isCurrent, specDigest } from '../../../../shared/service-versions';
import { NOW, at, serviceSpec, task } from '../../fixtures';

describe('service spec changes', () => {
  const base = newService(serviceSpec({ replicas: 2 }), NOW);

  it('a new service has version 1, its digest and no update', () => {
    assert.deepEqual([base.specVersion, base.specDigest, base.previousSpec, base.updateStatus], [1, specDigest(base.spec), null, null]);
  });

  it('what a container is made from starts an update and keeps the spec it replaces', () => {
    const next = withSpec(base, serviceSpec({ replicas: 2, container: { env: ['V=2'] } }), at(1));
    assert.equal(next.specVersion, 2);
    assert.notEqual(next.specDigest, base.specDigest);
    assert.deepEqual(next.previousSpec, base.spec);
    assert.deepEqual(next.updateStatus, { state: 'updating', startedAt: at(1), completedAt: null, message: 'update in progress' });
  });

  it('replicas, labels and update_config change no digest, start no update', () => {
    for (const spec of [
      serviceSpec({ replicas: 9 }),
      serviceSpec({ replicas: 2, labels: { team: 'a' } }),
      serviceSpec({ replicas: 2, update: { parallelism: 3, delayMs: 0, failureAction: 'pause', monitorMs: null, maxFailureRatio: 0, order: 'start-first' } }),
    ]) {
      const next = withSpec(base, spec, at(1));
      assert.deepEqual([next.specVersion, next.specDigest, next.updateStatus, next.previousSpec], [1, base.specDigest, null, null]);
      assert.deepEqual(next.spec, spec);
    }
  });

  it('key order does not change the digest', () => {
    const s = serviceSpec({ container: { env: ['A=1'] } });
    const reordered = Object.fromEntries(Object.entries(s).reverse()) as typeof s;
    assert.equal(specDigest(reordered), specDigest(s));
  });

  it('any update of a paused update resumes it', () => {
    const paused = { ...base, updateStatus: { state: 'paused' as const, startedAt: NOW, completedAt: null, message: 'update paused due to ...' } };
    assert.equal(withSpec(paused, paused.spec, at(5)).updateStatus?.state, 'updating');
    const rbPaused = { ...base, updateStatus: { state: 'rollback_paused' as const, startedAt: NOW, completedAt: null, message: '' } };
    assert.equal(withSpec(rbPaused, rbPaused.spec, at(5)).updateStatus?.state, 'rollback_started');
  });

  it('a rollback swaps the spec with the previous one, keeping the replica count', () => {
    const updated = withSpec(base, serviceSpec({ replicas: 2, container: { env: ['V=2'] } }), at(1));
    const scaled = withSpec(updated, { ...updated.spec, replicas: 5 }, at(2));
    const back = rolledBack(scaled, at(3), 'manually requested rollback')!;
    assert.deepEqual(back.spec, { ...base.spec, replicas: 5 });
    assert.deepEqual(back.previousSpec, scaled.spec);
    assert.equal(back.specVersion, 3);
    assert.equal(back.specDigest, base.specDigest, 'the tasks that still run the old spec are current again');
    assert.equal(back.updateStatus?.state, 'rollback_started');
    assert.equal(rolledBack(base, at(3), 'x'), null, 'nothing to roll back to');
    const oldTask = task(base, { id: 'old' });
    assert.equal(isCurrent(oldTask, back), true);
    assert.equal(isCurrent(oldTask, updated), false);
  });

  it('records from before digests compare versions', () => {
    const legacy = { ...task(base, { id: 'legacy' }), specDigest: '' };
    assert.equal(isCurrent(legacy, base), true);
    assert.equal(isCurrent({ ...legacy, specVersion: 0 }, base), false);
  });
});
