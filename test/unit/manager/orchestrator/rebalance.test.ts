import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTO_REBALANCE_AFTER_MS, autoRebalance, rebalanceMoves, startRebalance } from '../../../../manager/orchestrator/rebalance';
import type { ClusterNode, Service, Task, UpdateStatus } from '../../../../shared/types';
import { at, ids, node, NOW, service, task, type ServiceOptions, type TaskOptions } from '../../fixtures';

const three = (): ClusterNode[] => [node('a'), node('b'), node('c')];

/** A replicated service `svc-a` of `replicas` (default: as many as the spread given). */
const svc = (o: ServiceOptions = {}): Service => service({ id: 'svc-a', replicas: 6, ...o });

/**
 * Tasks spread as `counts` says over `nodeIds` (slots numbered in that order from 1): `[6, 0, 0]`
 * puts slots 1..6 on the first node. Ids are `t<slot>`.
 */
function spread(s: Service, counts: number[], nodeIds = ['a', 'b', 'c']): Task[] {
  const out: Task[] = [];
  let slot = 1;
  counts.forEach((n, i) => {
    for (let k = 0; k < n; k++, slot++) out.push(task(s, { id: `t${slot}`, slot, nodeId: nodeIds[i]! }));
  });
  return out;
}

const on = (s: Service, slot: number, nodeId: string, o: TaskOptions = {}): Task => task(s, { id: `t${slot}`, slot, nodeId, ...o });

/** How many moves leave each node. */
function fromNodes(moves: Task[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of moves) out[m.nodeId!] = (out[m.nodeId!] ?? 0) + 1;
  return out;
}

describe('rebalanceMoves', () => {
  it('6 replicas all on one of three nodes: 4 move (2/2/2), the highest slots first', () => {
    const s = svc();
    const moves = rebalanceMoves(s, spread(s, [6, 0, 0]), three());
    assert.deepEqual(moves.map((t) => t.slot), [6, 5, 4, 3]);
    assert.deepEqual(fromNodes(moves), { a: 4 });
    assert.ok(moves.every((t) => t.move === undefined), 'the moves are unmarked copies');
  });

  it('3/3/0: 2 move, one from each full node', () => {
    const s = svc();
    const moves = rebalanceMoves(s, spread(s, [3, 3, 0]), three());
    assert.equal(moves.length, 2);
    assert.deepEqual(fromNodes(moves), { a: 1, b: 1 });
  });

  it('2/2/1 and 2/2/2 are as even as they can be: nothing moves', () => {
    const s5 = svc({ replicas: 5 });
    assert.deepEqual(rebalanceMoves(s5, spread(s5, [2, 2, 1]), three()), []);
    const s6 = svc();
    assert.deepEqual(rebalanceMoves(s6, spread(s6, [2, 2, 2]), three()), []);
  });

  const unusable: [string, ClusterNode][] = [
    ['drained', node('c', { availability: 'drain' })],
    ['paused', node('c', { availability: 'pause' })],
    ['down', node('c', { state: 'down' })],
    ['unknown', node('c', { state: 'unknown' })],
  ];
  for (const [title, c] of unusable) {
    it(`a ${title} node receives nothing and does not count as empty`, () => {
      const s = svc({ replicas: 4 });
      // a: 2, b: 2, c: nothing; without c the spread is even.
      assert.deepEqual(rebalanceMoves(s, spread(s, [2, 2]), [node('a'), node('b'), c]), []);
      // a: 4, b: 0: the moves go to b only (2), not on to c (which would make 3).
      assert.equal(rebalanceMoves(s, spread(s, [4]), [node('a'), node('b'), c]).length, 2);
    });
  }

  it('a node that fails a constraint receives nothing', () => {
    const s = svc({ replicas: 4, placement: { constraints: ['node.id != c'] } });
    assert.deepEqual(rebalanceMoves(s, spread(s, [2, 2]), three()), []);
    assert.equal(rebalanceMoves(s, spread(s, [4]), three()).length, 2);
  });

  it('a task on a paused or drained node stays where it is (it is not counted or moved)', () => {
    const s = svc({ replicas: 4 });
    const nodes = [node('a', { availability: 'pause' }), node('b'), node('c')];
    assert.deepEqual(rebalanceMoves(s, spread(s, [4, 0, 0]), nodes), []);
  });

  it('max_replicas_per_node caps what a node may receive', () => {
    const capped = svc({ placement: { maxReplicas: 2 } });
    // Two nodes, 6 on a: without a cap 3 move (3/3); capped at 2, b takes 2 and a keeps 4.
    const moves = rebalanceMoves(capped, spread(capped, [6, 0], ['a', 'b']), [node('a'), node('b')]);
    assert.deepEqual(moves.map((t) => t.slot), [6, 5]);
    const free = svc();
    assert.equal(rebalanceMoves(free, spread(free, [6, 0], ['a', 'b']), [node('a'), node('b')]).length, 3);
  });

  it('only ready tasks of the current spec move: not a starting, an unhealthy or an out-of-date one', () => {
    const s = svc({ replicas: 5 });
    const tasks = [
      on(s, 1, 'a'),
      on(s, 2, 'a'),
      on(s, 3, 'a', { state: 'starting' }),
      on(s, 4, 'a', { status: { health: 'unhealthy' } }),
      on(s, 5, 'a', { specVersion: 0 }),
    ];
    // a holds 5 (all count), but only slots 1 and 2 may leave it.
    const moves = rebalanceMoves(s, tasks, three());
    assert.deepEqual(ids(moves), ['t1', 't2']);
    const health = rebalanceMoves(s, [on(s, 1, 'a', { status: { health: 'starting' } }), on(s, 2, 'a', { status: { health: 'starting' } })], three());
    assert.deepEqual(health, [], 'a task whose health check has not passed yet is not ready');
  });

  it('a task already marked to move does not move twice', () => {
    const s = svc({ replicas: 4 });
    const tasks = spread(s, [4, 0, 0]).map((t) => ({ ...t, move: true }));
    assert.deepEqual(rebalanceMoves(s, tasks, three()), []);
  });

  it('tasks that are not live or are of another service are not counted', () => {
    const s = svc({ replicas: 2 });
    const other = service({ id: 'svc-b', name: 'db' });
    const tasks = [
      on(s, 1, 'a'),
      on(s, 2, 'a'),
      task(other, { id: 'o1', slot: 1, nodeId: 'b' }),
      task(other, { id: 'o2', slot: 2, nodeId: 'b' }),
      on(s, 3, 'a', { id: 'gone', state: 'failed' }),
      on(s, 4, 'a', { id: 'stopping', desiredState: 'shutdown' }),
    ];
    // a: 2, b: 0 of this service: one moves.
    assert.deepEqual(ids(rebalanceMoves(s, tasks, [node('a'), node('b')])), ['t2']);
  });

  it('a global service has nothing to move', () => {
    const g = svc({ mode: 'global' });
    assert.deepEqual(rebalanceMoves(g, spread(g, [6, 0, 0]), three()), []);
  });

  it('fewer than 2 eligible nodes: nothing moves', () => {
    const s = svc();
    assert.deepEqual(rebalanceMoves(s, spread(s, [6]), [node('a')]), []);
    assert.deepEqual(rebalanceMoves(s, spread(s, [6]), [node('a'), node('b', { availability: 'drain' }), node('c', { state: 'down' })]), []);
    assert.deepEqual(rebalanceMoves(s, spread(s, [6]), []), []);
  });
});

const updating = (o: Partial<UpdateStatus> = {}): UpdateStatus => ({ state: 'updating', startedAt: at(-60), completedAt: null, message: 'update in progress', ...o });
const LATER = at(100);

describe('startRebalance', () => {
  it('marks the moves and starts an update that says it is a rebalance', () => {
    const s = svc();
    const r = startRebalance(s, spread(s, [6, 0, 0]), three(), LATER);
    assert.ok('service' in r, JSON.stringify(r));
    assert.deepEqual(r.tasks.map((t) => [t.id, t.move]), [['t6', true], ['t5', true], ['t4', true], ['t3', true]]);
    assert.deepEqual(r.service.updateStatus, { state: 'updating', startedAt: LATER, completedAt: null, message: 'rebalance: moving 4 tasks to emptier nodes', rebalance: true });
    assert.equal(r.service.updatedAt, LATER);
    assert.deepEqual([r.service.spec, r.service.specVersion, r.service.specDigest], [s.spec, s.specVersion, s.specDigest], 'not a new spec');
  });

  it('one move is "1 task"', () => {
    const s = svc({ replicas: 2 });
    const r = startRebalance(s, spread(s, [2, 0], ['a', 'b']), [node('a'), node('b')], LATER);
    assert.ok('service' in r);
    assert.equal(r.service.updateStatus?.message, 'rebalance: moving 1 task to emptier nodes');
  });

  it('may start over a finished update or rebalance', () => {
    for (const st of [updating({ state: 'completed' }), updating({ state: 'rollback_completed' }), updating({ state: 'completed', rebalance: true })]) {
      const s = svc({ updateStatus: st });
      assert.ok('service' in startRebalance(s, spread(s, [6, 0, 0]), three(), LATER), st.state);
    }
  });

  it('refuses during an active update, rollback or rebalance', () => {
    const cases: [UpdateStatus, RegExp][] = [
      [updating(), /is updating/],
      [updating({ state: 'rollback_started' }), /is updating/],
      [updating({ rebalance: true }), /is being rebalanced/],
    ];
    for (const [st, pattern] of cases) {
      const s = svc({ updateStatus: st });
      const r = startRebalance(s, spread(s, [6, 0, 0]), three(), LATER);
      assert.ok('nothing' in r, st.state);
      assert.match(r.nothing, pattern);
    }
  });

  it('refuses a global service', () => {
    const g = svc({ mode: 'global' });
    const r = startRebalance(g, spread(g, [6, 0, 0]), three(), LATER);
    assert.ok('nothing' in r);
    assert.match(r.nothing, /global/);
  });

  it('refuses while tasks of an older spec exist', () => {
    const s = svc({ specVersion: 2 });
    const tasks = spread(s, [6, 0, 0]);
    tasks[0] = { ...tasks[0]!, specVersion: 1, specDigest: 'sha256:v1' };
    const r = startRebalance(s, tasks, three(), LATER);
    assert.ok('nothing' in r);
    assert.match(r.nothing, /older spec/);
  });

  it('refuses while a slot has two live tasks (one still being replaced)', () => {
    const s = svc();
    const tasks = [...spread(s, [6, 0, 0]), on(s, 1, 'b', { id: 'again1', state: 'starting' })];
    const r = startRebalance(s, tasks, three(), LATER);
    assert.ok('nothing' in r);
    assert.match(r.nothing, /still replacing a task/);
  });

  it('says "balanced already" when nothing would move', () => {
    const s = svc();
    const r = startRebalance(s, spread(s, [2, 2, 2]), three(), LATER);
    assert.deepEqual(r, { nothing: 'web is balanced already' });
  });

  it('resumes a paused rebalance whose marked tasks are still there, marking nothing new', () => {
    const s = svc({ updateStatus: updating({ state: 'paused', rebalance: true, message: 'rebalance paused due to failure or early termination of task x' }) });
    const tasks = spread(s, [6, 0, 0]).map((t) => (t.slot! >= 5 ? { ...t, move: true } : t));
    // Slot 6 also has the failed-then-retried replacement starting beside it: no refusal for that.
    tasks.push(on(s, 6, 'b', { id: 'again6', state: 'starting' }));
    const r = startRebalance(s, tasks, three(), LATER);
    assert.ok('service' in r, JSON.stringify(r));
    assert.deepEqual(r.tasks, []);
    assert.deepEqual(r.service.updateStatus, { state: 'updating', startedAt: LATER, completedAt: null, message: 'rebalance: moving 2 tasks to emptier nodes', rebalance: true });
  });

  it('a paused rebalance whose marked tasks are gone starts afresh', () => {
    const s = svc({ updateStatus: updating({ state: 'paused', rebalance: true }) });
    const r = startRebalance(s, spread(s, [6, 0, 0]), three(), LATER);
    assert.ok('service' in r);
    assert.equal(r.tasks.length, 4);
    assert.deepEqual(startRebalance(s, spread(s, [2, 2, 2]), three(), LATER), { nothing: 'web is balanced already' });
  });
});

describe('autoRebalance', () => {
  const auto = (o: ServiceOptions = {}) => svc({ rebalance: 'auto', ...o });

  it('null for a service without rebalance: auto', () => {
    for (const rebalance of [undefined, 'manual' as const]) {
      const s = svc({ rebalance });
      const uneven = new Map<string, number>();
      assert.equal(autoRebalance(s, spread(s, [6, 0, 0]), three(), NOW, uneven), null);
      assert.equal(autoRebalance(s, spread(s, [6, 0, 0]), three(), at(60), uneven), null);
      assert.equal(uneven.size, 0);
    }
  });

  it('null while an update or rebalance is under way or paused', () => {
    const states: UpdateStatus[] = [
      updating(),
      updating({ state: 'rollback_started' }),
      updating({ state: 'paused' }),
      updating({ state: 'rollback_paused' }),
      updating({ rebalance: true }),
      updating({ state: 'paused', rebalance: true }),
    ];
    for (const st of states) {
      const s = auto({ updateStatus: st });
      const uneven = new Map([[s.id, Date.parse(at(-3600))]]);
      assert.equal(autoRebalance(s, spread(s, [6, 0, 0]), three(), NOW, uneven), null, `${st.state}${st.rebalance ? ' (rebalance)' : ''}`);
      assert.equal(uneven.has(s.id), false, 'the clock starts again once it is idle');
    }
  });

  it('an even spread: null, and no clock', () => {
    const s = auto();
    const uneven = new Map<string, number>();
    assert.equal(autoRebalance(s, spread(s, [2, 2, 2]), three(), NOW, uneven), null);
    assert.equal(uneven.size, 0);
  });

  it('an uneven spread waits AUTO_REBALANCE_AFTER_MS, then starts', () => {
    assert.equal(AUTO_REBALANCE_AFTER_MS, 10_000);
    const s = auto();
    const tasks = spread(s, [6, 0, 0]);
    const uneven = new Map<string, number>();
    assert.deepEqual(autoRebalance(s, tasks, three(), NOW, uneven), { waitMs: 10_000 });
    assert.equal(uneven.get(s.id), Date.parse(NOW));
    assert.deepEqual(autoRebalance(s, tasks, three(), at(4), uneven), { waitMs: 6000 });
    assert.equal(uneven.get(s.id), Date.parse(NOW), 'the clock is not restarted by a later look');
    const r = autoRebalance(s, tasks, three(), at(10), uneven);
    assert.ok(r !== null && 'service' in r, JSON.stringify(r));
    assert.equal(r.tasks.length, 4);
    assert.ok(r.tasks.every((t) => t.move === true));
    assert.deepEqual(r.service.updateStatus, { state: 'updating', startedAt: at(10), completedAt: null, message: 'rebalance: moving 4 tasks to emptier nodes', rebalance: true });
    assert.equal(uneven.has(s.id), false);
  });

  it('may start over a completed update or rebalance', () => {
    for (const st of [updating({ state: 'completed' }), updating({ state: 'rollback_completed' }), updating({ state: 'completed', rebalance: true })]) {
      const s = auto({ updateStatus: st });
      const uneven = new Map([[s.id, Date.parse(at(-60))]]);
      const r = autoRebalance(s, spread(s, [6, 0, 0]), three(), NOW, uneven);
      assert.ok(r !== null && 'service' in r, st.state);
    }
  });

  it('becoming even in between resets the clock', () => {
    const s = auto();
    const uneven = new Map<string, number>();
    assert.deepEqual(autoRebalance(s, spread(s, [6, 0, 0]), three(), NOW, uneven), { waitMs: 10_000 });
    assert.equal(autoRebalance(s, spread(s, [2, 2, 2]), three(), at(5), uneven), null);
    assert.equal(uneven.has(s.id), false);
    // Uneven again: a full wait from now, not from the first time.
    assert.deepEqual(autoRebalance(s, spread(s, [6, 0, 0]), three(), at(10), uneven), { waitMs: 10_000 });
    assert.deepEqual(autoRebalance(s, spread(s, [6, 0, 0]), three(), at(19), uneven), { waitMs: 1000 });
  });

  it('a node that comes back within the wait moves nothing: its going away made no spread uneven', () => {
    const s = auto({ replicas: 4 });
    const uneven = new Map<string, number>();
    // c down: a 2, b 2 over the two eligible nodes is even.
    assert.equal(autoRebalance(s, spread(s, [2, 2]), [node('a'), node('b'), node('c', { state: 'down' })], NOW, uneven), null);
    assert.equal(uneven.size, 0);
  });

  it('keeps each service its own clock', () => {
    const a = auto();
    const b = auto({ id: 'svc-b', name: 'db' });
    const uneven = new Map<string, number>();
    autoRebalance(a, spread(a, [6, 0, 0]), three(), NOW, uneven);
    assert.deepEqual(autoRebalance(b, spread(b, [6, 0, 0]), three(), at(5), uneven), { waitMs: 10_000 });
    assert.deepEqual([...uneven].sort(), [['svc-a', Date.parse(NOW)], ['svc-b', Date.parse(at(5))]]);
  });

  it('null when, once due, the start is refused (a slot still being replaced)', () => {
    const s = auto();
    const tasks = [...spread(s, [6, 0, 0]), on(s, 1, 'b', { id: 'again1', state: 'starting' })];
    const uneven = new Map([[s.id, Date.parse(at(-60))]]);
    assert.equal(autoRebalance(s, tasks, three(), NOW, uneven), null);
  });
});
