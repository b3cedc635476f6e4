import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileReplicated } from '../../../../manager/orchestrator/replicated';
import { reconcileGlobal } from '../../../../manager/orchestrator/global';
import { restartPending } from '../../../../manager/orchestrator/restart';
import { node, service, task } from '../../fixtures';

const NOW = '2026-01-01T00:00:10.000Z';
const ago = (ms: number) => new Date(Date.parse(NOW) - ms).toISOString();

describe('restart delay', () => {
  const svc = service({ replicas: 1 });
  const failed = (ms: number, state: 'failed' | 'complete' | 'shutdown' = 'failed') =>
    task(svc, { id: `t${ms}`, slot: 1, state, desiredState: 'running', status: { timestamp: ago(ms) } });

  const cases: { name: string; ended: number; state?: 'failed' | 'complete' | 'shutdown'; refill: boolean }[] = [
    { name: 'a task that failed just now waits', ended: 100, refill: false },
    { name: 'a task that completed just now waits', ended: 100, state: 'complete', refill: false },
    { name: 'a task that failed longer ago is replaced', ended: 5000, refill: true },
    { name: 'a task shut down on purpose is replaced at once', ended: 100, state: 'shutdown', refill: true },
  ];
  for (const c of cases) {
    it(`replicated: ${c.name}`, () => {
      const out = reconcileReplicated(svc, [failed(c.ended, c.state)], NOW, 1000);
      assert.deepEqual(out.update.map((t) => [t.id, t.desiredState]), [[`t${c.ended}`, 'shutdown']]);
      assert.equal(out.create.length, c.refill ? 1 : 0);
    });
  }

  it('a slot whose failed task is already retired is refilled once the delay has passed', () => {
    const retired = task(svc, { id: 'old', slot: 1, state: 'failed', desiredState: 'shutdown', status: { timestamp: ago(300) } });
    assert.equal(reconcileReplicated(svc, [retired], NOW, 1000).create.length, 0);
    assert.equal(reconcileReplicated(svc, [retired], new Date(Date.parse(NOW) + 800).toISOString(), 1000).create.length, 1);
  });

  it('global: a node whose task just failed waits too', () => {
    const g = service({ mode: 'global' });
    const n = node('n1');
    const t = task(g, { id: 'g', slot: null, nodeId: 'n1', state: 'failed', desiredState: 'shutdown', status: { timestamp: ago(100) } });
    assert.equal(reconcileGlobal(g, [n], [t], NOW, 1000).create.length, 0);
    assert.equal(reconcileGlobal(g, [n], [t], NOW, 0).create.length, 1);
  });

  it('restartPending ignores tasks that have not ended', () => {
    assert.equal(restartPending([task(svc, { id: 'r', slot: 1, state: 'running', status: { timestamp: ago(10) } })], NOW, 1000), false);
  });
});
