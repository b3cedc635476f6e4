/** Free capacity and max replicas across one pass: each placement takes room from the next. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterNode, Task } from '../../../../shared/types';
import { schedule } from '../../../../manager/scheduler/schedule';
import { NOW, service } from '../../fixtures';
import { GiB, labelledNode as n, pendingTask, perNode, placements, running } from './helpers';

const mem3 = service({ id: 'svc-m', name: 'm', reservations: { memoryBytes: 3 * GiB } });
const cpu1 = service({ id: 'svc-c', name: 'c', reservations: { nanoCpus: 1e9 } });
const gpu = service({ id: 'svc-g', name: 'g', reservations: { generic: { gpu: 1 } } });
const one = service({ id: 'svc-one', name: 'one', placement: { maxReplicas: 1 } });
const hog = service({ id: 'svc-hog', name: 'hog', reservations: { memoryBytes: 6 * GiB } });

const batch = (svc: typeof mem3, count: number): Task[] => Array.from({ length: count }, (_, i) => pendingTask(svc, `${svc.spec.name}${i + 1}`, { slot: i + 1 }));

describe('capacity within one pass', () => {
  const table: { name: string; pending: Task[]; all?: Task[]; nodes: ClusterNode[]; want: Record<string, string> }[] = [
    {
      name: 'tasks placed earlier in the pass take their memory',
      pending: batch(mem3, 3),
      nodes: [n('a')],
      want: { m1: 'a', m2: 'a', m3: 'pending: no suitable node (insufficient resources on 1 node)' },
    },
    {
      name: 'and against the tasks the node runs already',
      pending: batch(mem3, 2),
      all: running(hog, 'a', 1),
      nodes: [n('a')],
      want: { m1: 'pending: no suitable node (insufficient resources on 1 node)', m2: 'pending: no suitable node (insufficient resources on 1 node)' },
    },
    {
      name: 'a full node is skipped, the others fill up',
      pending: batch(mem3, 5),
      all: running(hog, 'a', 1),
      nodes: [n('a'), n('b'), n('c')],
      want: { m1: 'b', m2: 'c', m3: 'b', m4: 'c', m5: 'pending: no suitable node (insufficient resources on 3 nodes)' },
    },
    {
      name: 'CPU: 4 CPUs hold 4 tasks reserving one each',
      pending: batch(cpu1, 5),
      nodes: [n('a')],
      want: { c1: 'a', c2: 'a', c3: 'a', c4: 'a', c5: 'pending: no suitable node (insufficient resources on 1 node)' },
    },
    {
      name: 'generic resources: one gpu each, the third task waits',
      pending: batch(gpu, 3),
      nodes: [n('a', { generic: { gpu: 1 } }), n('b', { generic: { gpu: 1 } }), n('c')],
      want: { g1: 'a', g2: 'b', g3: 'pending: no suitable node (insufficient resources on 3 nodes)' },
    },
    {
      name: 'capacity freed by a task that stopped is given out',
      pending: batch(mem3, 2),
      all: running(hog, 'a', 1, { state: 'shutdown', desiredState: 'shutdown' }),
      nodes: [n('a')],
      want: { m1: 'a', m2: 'a' },
    },
    {
      name: 'max replicas per node counts the tasks placed in the pass',
      pending: batch(one, 4),
      nodes: [n('a'), n('b'), n('c')],
      want: { one1: 'a', one2: 'b', one3: 'c', one4: 'pending: no suitable node (max replicas per node limit exceeded on 3 nodes)' },
    },
    {
      name: 'max replicas per node counts the tasks already running',
      pending: batch(one, 2),
      all: running(one, 'a', 1),
      nodes: [n('a'), n('b')],
      want: { one1: 'b', one2: 'pending: no suitable node (max replicas per node limit exceeded on 2 nodes)' },
    },
  ];
  for (const c of table) {
    it(c.name, () => assert.deepEqual(placements(schedule(c.pending, c.all ?? [], c.nodes, NOW)), c.want));
  }

  it('a global task is checked against its own node\'s free capacity', () => {
    const g = service({ id: 'svc-gl', name: 'gl', mode: 'global', reservations: { memoryBytes: 4 * GiB } });
    const out = schedule([pendingTask(g, 'g-a', { slot: null, nodeId: 'a' }), pendingTask(g, 'g-b', { slot: null, nodeId: 'b' })], running(hog, 'a', 1), [n('a'), n('b')], NOW);
    assert.deepEqual(placements(out), { 'g-a': 'pending: no suitable node (insufficient resources on 1 node)', 'g-b': 'b' });
  });

  it('a pending global task does not count against its node before it is placed', () => {
    const g = service({ id: 'svc-gl', name: 'gl', mode: 'global', reservations: { memoryBytes: 5 * GiB } });
    const t = pendingTask(g, 'g-a', { slot: null, nodeId: 'a' });
    assert.deepEqual(placements(schedule([t], [t], [n('a')], NOW)), { 'g-a': 'a' });
  });

  it('reservations do not change where unreserved tasks go', () => {
    const plain = service({ id: 'svc-p', name: 'p' });
    assert.deepEqual(perNode(schedule(batch(plain, 6), running(hog, 'a', 1), [n('a'), n('b'), n('c')], NOW)), { a: 2, b: 2, c: 2 });
  });
});
