import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFilters, filterNodes, needsScheduling, schedule } from '../../../../manager/scheduler/schedule';
import type { ClusterNode, Task } from '../../../../shared/types';
import { at, node, NOW, service, task } from '../../fixtures';
import { infos, placements } from './helpers';

const GiB = 1024 ** 3;
const LATER = '2024-01-02T00:00:00.000Z';
const web = service({ id: 'svc-web' });
const db = service({ id: 'svc-db', name: 'db' });

const pending = (id: string, o: Parameters<typeof task>[1] = {}): Task => task(web, { id, state: 'pending', nodeId: null, ...o });
/** Running tasks of `svc` already on `nodeId`, as load. */
const load = (svc: typeof web, nodeId: string, n: number, o: Parameters<typeof task>[1] = {}): Task[] =>
  Array.from({ length: n }, (_, i) => task(svc, { id: `${svc.id}-${nodeId}-${i}`, nodeId, slot: i + 1, ...o }));

describe('filterNodes', () => {
  const table: { name: string; task: Task; nodes: ClusterNode[]; want: string[] | string }[] = [
    { name: 'every healthy node passes', task: pending('t'), nodes: [node('a'), node('b')], want: ['a', 'b'] },
    {
      name: 'unfit nodes are dropped, fit ones kept',
      task: pending('t'),
      nodes: [node('a', { state: 'down' }), node('b'), node('c', { availability: 'drain' })],
      want: ['b'],
    },
    { name: 'no nodes at all', task: pending('t'), nodes: [], want: 'no suitable node (no nodes in the cluster)' },
    { name: 'one down node', task: pending('t'), nodes: [node('a', { state: 'down' })], want: 'no suitable node (1 node not ready)' },
    {
      name: 'down and unknown nodes',
      task: pending('t'),
      nodes: [node('a', { state: 'down' }), node('b', { state: 'unknown' })],
      want: 'no suitable node (2 nodes not ready)',
    },
    {
      name: 'drained and paused nodes',
      task: pending('t'),
      nodes: [node('a', { availability: 'drain' }), node('b', { availability: 'pause' })],
      want: 'no suitable node (2 nodes paused or drained)',
    },
    {
      name: 'too much memory',
      task: pending('t', { limits: { memoryBytes: 16 * GiB } }),
      nodes: [node('a', { memoryBytes: 8 * GiB }), node('b', { memoryBytes: 4 * GiB })],
      want: 'no suitable node (insufficient resources on 2 nodes)',
    },
    {
      name: 'too many CPUs',
      task: pending('t', { limits: { nanoCpus: 8e9 } }),
      nodes: [node('a', { nanoCpus: 2e9 })],
      want: 'no suitable node (insufficient resources on 1 node)',
    },
    {
      name: 'memory that fits exactly passes',
      task: pending('t', { limits: { memoryBytes: 8 * GiB } }),
      nodes: [node('a', { memoryBytes: 8 * GiB })],
      want: ['a'],
    },
    {
      name: 'a node that reports no memory is not filtered on memory',
      task: pending('t', { limits: { memoryBytes: 16 * GiB } }),
      nodes: [node('a', { memoryBytes: 0 })],
      want: ['a'],
    },
    {
      name: 'reasons from every stage, each node counted once',
      task: pending('t', { limits: { memoryBytes: 16 * GiB } }),
      nodes: [
        node('a', { state: 'down' }),
        node('b', { state: 'down', availability: 'drain' }),
        node('c', { availability: 'drain' }),
        node('d', { memoryBytes: 1 * GiB }),
      ],
      want: 'no suitable node (2 nodes not ready; 1 node paused or drained; insufficient resources on 1 node)',
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const got = filterNodes(c.task, infos(c.nodes), defaultFilters);
      assert.deepEqual(typeof got === 'string' ? got : got.map((n) => n.node.id), c.want);
    });
  }
});

describe('needsScheduling', () => {
  const table: [string, Task, boolean][] = [
    ['pending, desired running', pending('a'), true],
    ['pending, desired shutdown', pending('b', { desiredState: 'shutdown' }), false],
    ['assigned', task(web, { state: 'assigned', nodeId: 'n1' }), false],
    ['new', task(web, { state: 'new' }), false],
  ];
  for (const [name, t, want] of table) it(name, () => assert.equal(needsScheduling(t), want));
});

describe('schedule', () => {
  const table: { name: string; pending: Task[]; all?: Task[]; nodes: ClusterNode[]; want: Record<string, string> }[] = [
    {
      name: 'fewest tasks of the same service wins over fewest tasks overall',
      pending: [pending('t')],
      // n1: 1 web task; n2: 3 db tasks. Same-service count decides first.
      all: [...load(web, 'n1', 1), ...load(db, 'n2', 3)],
      nodes: [node('n1'), node('n2')],
      want: { t: 'n2' },
    },
    {
      name: 'on a tie in the same service, fewest tasks overall wins',
      pending: [pending('t')],
      all: [...load(web, 'n1', 1), ...load(web, 'n2', 1), ...load(db, 'n1', 2), ...load(db, 'n3', 1), ...load(web, 'n3', 1)],
      nodes: [node('n1'), node('n2'), node('n3')],
      want: { t: 'n2' },
    },
    {
      name: 'a batch spreads over the nodes (load counts the batch itself)',
      pending: [pending('t1', { slot: 1 }), pending('t2', { slot: 2 }), pending('t3', { slot: 3 })],
      nodes: [node('n1'), node('n2'), node('n3')],
      want: { t1: 'n1', t2: 'n2', t3: 'n3' },
    },
    {
      name: 'older tasks are placed first, then lower slots',
      pending: [pending('late', { slot: 1, createdAt: at(5) }), pending('s2', { slot: 2, createdAt: at(0) }), pending('s1', { slot: 1, createdAt: at(0) })],
      nodes: [node('n1'), node('n2'), node('n3')],
      want: { s1: 'n1', s2: 'n2', late: 'n3' },
    },
    {
      name: 'stopped and retired tasks are not load',
      pending: [pending('t')],
      all: [
        ...load(web, 'n1', 3, { state: 'failed' }),
        ...load(db, 'n1', 2, { desiredState: 'shutdown' }),
        ...load(web, 'n2', 1),
      ],
      nodes: [node('n1'), node('n2')],
      want: { t: 'n1' },
    },
    {
      name: 'unfit nodes are skipped even when empty',
      pending: [pending('t')],
      all: load(web, 'n3', 2),
      nodes: [node('n1', { state: 'down' }), node('n2', { availability: 'drain' }), node('n3')],
      want: { t: 'n3' },
    },
    {
      name: 'nothing fits: the explanation is recorded',
      pending: [pending('t', { limits: { memoryBytes: 64 * GiB } })],
      nodes: [node('n1', { state: 'down' }), node('n2', { availability: 'drain' }), node('n3')],
      want: { t: 'pending: no suitable node (1 node not ready; 1 node paused or drained; insufficient resources on 1 node)' },
    },
    {
      name: 'a global task stays on its own node even when another is emptier',
      pending: [pending('g', { slot: null, nodeId: 'n2' })],
      all: load(web, 'n2', 3),
      nodes: [node('n1'), node('n2')],
      want: { g: 'n2' },
    },
    {
      name: 'a global task for a down node is not moved elsewhere',
      pending: [pending('g', { slot: null, nodeId: 'n2' })],
      nodes: [node('n1'), node('n2', { state: 'down' })],
      want: { g: 'pending: no suitable node (1 node not ready)' },
    },
    {
      name: 'a global task for a vanished node is not moved elsewhere',
      pending: [pending('g', { slot: null, nodeId: 'n9' })],
      nodes: [node('n1')],
      want: { g: 'pending: no suitable node (no nodes in the cluster)' },
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const out = schedule(c.pending, c.all ?? [], c.nodes, LATER);
      assert.deepEqual(placements(out), c.want);
    });
  }

  it('an assigned task carries its node, state assigned, no error, the new timestamp', () => {
    const before = pending('t', { status: { err: 'no suitable node (1 node not ready)' } });
    const [out, ...rest] = schedule([before], [], [node('n1')], LATER);
    assert.equal(rest.length, 0);
    assert.deepEqual(out, {
      ...before,
      nodeId: 'n1',
      status: { ...before.status, state: 'assigned', message: 'scheduler assigned task to node', err: null, timestamp: LATER },
    });
  });

  it('an unplaceable task stays pending with the explanation', () => {
    const before = pending('t');
    const [out] = schedule([before], [], [node('n1', { state: 'down' })], LATER);
    assert.deepEqual(out, {
      ...before,
      status: { ...before.status, state: 'pending', message: 'pending', err: 'no suitable node (1 node not ready)', timestamp: LATER },
    });
  });

  it('does not rewrite a task whose explanation is unchanged', () => {
    const before = pending('t', { status: { err: 'no suitable node (1 node not ready)' } });
    assert.deepEqual(schedule([before], [], [node('n1', { state: 'down' })], LATER), []);
  });

  it('rewrites a task whose explanation changed', () => {
    const before = pending('t', { status: { err: 'no suitable node (1 node not ready)' } });
    const out = schedule([before], [], [node('n1', { availability: 'drain' })], LATER);
    assert.deepEqual(placements(out), { t: 'pending: no suitable node (1 node paused or drained)' });
  });

  it('does not modify its inputs', () => {
    const p = [pending('t')];
    const copy = structuredClone(p);
    schedule(p, [], [node('n1')], LATER);
    assert.deepEqual(p, copy);
  });

  it('assigned tasks use the time given', () => {
    const [out] = schedule([pending('t')], [], [node('n1')], NOW);
    assert.equal(out?.status.timestamp, NOW);
  });
});

describe('a waiting task is placed once a node qualifies (the next pass)', () => {
  const east = service({ id: 'svc-east', name: 'east', placement: { constraints: ['node.labels.zone == east'] } });
  const waiting = (svc: typeof east, err: string) => task(svc, { id: 'w', state: 'pending', nodeId: null, status: { err } });
  const table: { name: string; task: Task; all?: Task[]; before: ClusterNode[]; after: ClusterNode[] }[] = [
    {
      name: 'a label is added',
      task: waiting(east, 'no suitable node (scheduling constraints not satisfied on 1 node)'),
      before: [node('a')],
      after: [{ ...node('a'), labels: { zone: 'east' } }],
    },
    {
      name: 'a node joins',
      task: waiting(web, 'no suitable node (1 node not ready)'),
      before: [node('a', { state: 'down' })],
      after: [node('a', { state: 'down' }), node('b')],
    },
    {
      name: 'a drained node is made active again',
      task: waiting(web, 'no suitable node (1 node paused or drained)'),
      before: [node('a', { availability: 'drain' })],
      after: [node('a')],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(schedule([c.task], c.all ?? [], c.before, LATER), [], 'nothing to write while nothing changed');
      const [out] = schedule([c.task], c.all ?? [], c.after, LATER);
      assert.equal(out?.status.state, 'assigned');
      assert.equal(out?.status.err, null);
    });
  }
});
