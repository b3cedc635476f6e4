/** reconcileReplicated with nodes: orphans of down or removed nodes, and drains (new first). */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DRAIN_HANDOVER_MS, reconcileReplicated } from '../../../../manager/orchestrator/replicated';
import type { Task } from '../../../../shared/types';
import { NOW, node, service, task, type TaskOptions } from '../../fixtures';

const svc = service({ replicas: 2 });
const t = (id: string, slot: number, nodeId: string | null, o: TaskOptions = {}): Task => task(svc, { id, slot, nodeId, ...o });
const later = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString();

describe('reconcileReplicated: lost nodes', () => {
  it('orphans the tasks of a down node and replaces them at once, ignoring the restart delay', () => {
    const nodes = [node('n1'), node('n2', { state: 'down' })];
    // A recent failure in slot 2 would hold a normal restart back.
    const tasks = [t('a', 1, 'n1'), t('b', 2, 'n2'), t('old', 2, 'n1', { desiredState: 'shutdown', state: 'failed' })];
    const out = reconcileReplicated(svc, tasks, NOW, nodes);
    assert.deepEqual(out.update.map((u) => [u.id, u.desiredState, u.status.state, u.status.message]), [['b', 'shutdown', 'orphaned', 'node down']]);
    assert.deepEqual(out.create.map((c) => [c.slot, c.nodeId]), [[2, null]]);
  });

  it('treats a task on a node that no longer exists like one on a down node', () => {
    const out = reconcileReplicated(svc, [t('a', 1, 'n1'), t('b', 2, 'gone')], NOW, [node('n1')]);
    assert.deepEqual(out.update.map((u) => [u.id, u.status.state, u.status.message]), [['b', 'orphaned', 'node removed from the cluster']]);
    assert.equal(out.create.length, 1);
  });

  it('orphans an extra task on a down node when scaling down', () => {
    const out = reconcileReplicated(service({ replicas: 1 }), [t('a', 1, 'n1'), t('b', 2, 'n2')], NOW, [node('n1'), node('n2', { state: 'down' })]);
    assert.deepEqual(out.update.map((u) => [u.id, u.desiredState, u.status.state]), [['b', 'shutdown', 'orphaned']]);
    assert.equal(out.create.length, 0);
  });

  it('leaves tasks on ready and paused nodes alone', () => {
    const nodes = [node('n1'), node('n2', { availability: 'pause' })];
    const out = reconcileReplicated(svc, [t('a', 1, 'n1'), t('b', 2, 'n2')], NOW, nodes);
    assert.deepEqual(out, { create: [], update: [], remove: [] });
  });

  it('is stable once the orphan is recorded', () => {
    const nodes = [node('n1'), node('n2', { state: 'down' })];
    const tasks = [t('a', 1, 'n1'), t('b', 2, 'n2')];
    const out = reconcileReplicated(svc, tasks, NOW, nodes);
    const updated = new Map(out.update.map((u) => [u.id, u]));
    const next = [...tasks.map((x) => updated.get(x.id) ?? x), ...out.create];
    assert.deepEqual(reconcileReplicated(svc, next, NOW, nodes), { create: [], update: [], remove: [] });
  });
});

describe('reconcileReplicated: drain', () => {
  const nodes = [node('n1'), node('n2', { availability: 'drain' })];

  it('starts a replacement first and keeps the running task on the draining node meanwhile', () => {
    const out = reconcileReplicated(svc, [t('a', 1, 'n1'), t('b', 2, 'n2')], NOW, nodes);
    assert.deepEqual(out.update, []);
    assert.deepEqual(out.create.map((c) => c.slot), [2]);
  });

  it('keeps the old task while the replacement is on its way, and does not create a second one', () => {
    const tasks = [t('a', 1, 'n1'), t('b', 2, 'n2'), t('b2', 2, null, { state: 'pending' })];
    assert.deepEqual(reconcileReplicated(svc, tasks, NOW, nodes), { create: [], update: [], remove: [] });
  });

  it('stops the old task once the replacement runs', () => {
    const tasks = [t('a', 1, 'n1'), t('b', 2, 'n2'), t('b2', 2, 'n1', { state: 'running' })];
    const out = reconcileReplicated(svc, tasks, NOW, nodes);
    assert.deepEqual(out.update.map((u) => [u.id, u.desiredState]), [['b', 'shutdown']]);
    assert.equal(out.create.length, 0);
  });

  it('stops the old task anyway when the replacement has not run within the handover time', () => {
    const tasks = [t('a', 1, 'n1'), t('b', 2, 'n2'), t('b2', 2, null, { state: 'pending' })];
    const out = reconcileReplicated(svc, tasks, later(DRAIN_HANDOVER_MS + 1), nodes);
    assert.deepEqual(out.update.map((u) => [u.id, u.desiredState]), [['b', 'shutdown']]);
  });

  it('stops a task on a draining node that is not running yet without waiting', () => {
    const out = reconcileReplicated(svc, [t('a', 1, 'n1'), t('b', 2, 'n2', { state: 'preparing' })], NOW, nodes);
    assert.deepEqual(out.update.map((u) => [u.id, u.desiredState]), [['b', 'shutdown']]);
    assert.deepEqual(out.create.map((c) => c.slot), [2]);
  });
});

describe('reconcileReplicated: constraints that stop holding', () => {
  const constrained = service({ id: 'svc-db', replicas: 1, placement: { constraints: ['node.labels.db == true'] } });
  const labelled = { ...node('n1'), labels: { db: 'true' } };

  it('moves a task off a node that lost its label, at once', () => {
    const running = task(constrained, { id: 'a', slot: 1, nodeId: 'n1' });
    const out = reconcileReplicated(constrained, [running], NOW, [node('n1')]);
    assert.deepEqual(out.update.map((u) => [u.id, u.desiredState, u.status.state]), [['a', 'shutdown', 'running']]);
    assert.deepEqual(out.create.map((c) => [c.slot, c.nodeId]), [[1, null]]);
  });

  it('leaves a task whose node still meets them', () => {
    const running = task(constrained, { id: 'a', slot: 1, nodeId: 'n1' });
    const out = reconcileReplicated(constrained, [running], NOW, [labelled]);
    assert.equal(out.update.length + out.create.length, 0);
  });
});
