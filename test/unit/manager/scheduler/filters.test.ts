import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterNode, Task } from '../../../../shared/types';
import type { Filter } from '../../../../manager/scheduler/filters/filter';
import { constraintsFilter } from '../../../../manager/scheduler/filters/constraints';
import { nodeMeetsConstraints } from '../../../../shared/constraints';
import { maxReplicasFilter } from '../../../../manager/scheduler/filters/max-replicas';
import { resourcesFilter } from '../../../../manager/scheduler/filters/resources';
import { defaultFilters, filterNodes } from '../../../../manager/scheduler/schedule';
import { service, taskSpec } from '../../fixtures';
import { GiB, infos, labelledNode as n, pendingTask, running } from './helpers';

interface Case {
  name: string;
  task: Task;
  nodes: ClusterNode[];
  /** Tasks already in the store. */
  tasks?: Task[];
  /** Ids of the nodes that pass. */
  want: string[];
}

function table(filter: Filter, cases: Case[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const passed = infos(c.nodes, c.tasks ?? []).filter((i) => filter.check(c.task, i));
      assert.deepEqual(passed.map((i) => i.node.id), c.want);
    });
  }
}

const constrained = (...constraints: string[]) => pendingTask(service({ id: 'svc-c', placement: { constraints } }), 't');

describe('constraints filter', () => {
  table(constraintsFilter, [
    { name: 'no constraints: every node', task: constrained(), nodes: [n('a'), n('b', { role: 'manager' })], want: ['a', 'b'] },
    {
      name: '== on a node label: only nodes with that value',
      task: constrained('node.labels.zone == east'),
      nodes: [n('a', { labels: { zone: 'east' } }), n('b', { labels: { zone: 'west' } }), n('c')],
      want: ['a'],
    },
    {
      name: '!= passes nodes without the label',
      task: constrained('node.labels.zone!=east'),
      nodes: [n('a', { labels: { zone: 'east' } }), n('b', { labels: { zone: 'west' } }), n('c')],
      want: ['b', 'c'],
    },
    {
      name: 'values compare without regard to case',
      task: constrained('node.labels.zone == EAST'),
      nodes: [n('a', { labels: { zone: 'east' } })],
      want: ['a'],
    },
    {
      name: 'every constraint must hold',
      task: constrained('node.labels.zone == east', 'node.role == manager'),
      nodes: [n('a', { labels: { zone: 'east' } }), n('b', { labels: { zone: 'east' }, role: 'manager' }), n('c', { role: 'manager' })],
      want: ['b'],
    },
    { name: 'node.hostname', task: constrained('node.hostname == host-b'), nodes: [n('a'), n('b')], want: ['b'] },
    { name: 'node.id', task: constrained('node.id != a'), nodes: [n('a'), n('b')], want: ['b'] },
    {
      name: 'engine labels are the agent\'s, not the operator\'s',
      task: constrained('engine.labels.disk == ssd'),
      nodes: [n('a', { engineLabels: { disk: 'ssd' } }), n('b', { labels: { disk: 'ssd' } }), n('c')],
      want: ['a'],
    },
    { name: 'a node record without platform is linux', task: constrained('node.platform.os == linux'), nodes: [n('a')], want: ['a'] },
    { name: 'a constraint that does not parse holds nowhere', task: constrained('node.labels.zone'), nodes: [n('a'), n('b')], want: [] },
  ]);

  it('nodeMeetsConstraints reads the constraints of a task (the global orchestrator uses it too)', () => {
    const spec = taskSpec({ placement: { constraints: ['node.labels.gpu == yes'] } });
    assert.equal(nodeMeetsConstraints(spec.placement.constraints, n('a', { labels: { gpu: 'yes' } })), true);
    assert.equal(nodeMeetsConstraints(spec.placement.constraints, n('b')), false);
    assert.equal(nodeMeetsConstraints(taskSpec().placement.constraints, n('b')), true);
  });
});

describe('max replicas filter', () => {
  const web = service({ id: 'svc-web', placement: { maxReplicas: 2 } });
  const other = service({ id: 'svc-other', name: 'other' });
  table(maxReplicasFilter, [
    { name: 'no limit (0): any number', task: pendingTask(service({ id: 'svc-web' }), 't'), nodes: [n('a')], tasks: running(web, 'a', 5), want: ['a'] },
    { name: 'below the limit passes, at it fails', task: pendingTask(web, 't'), nodes: [n('a'), n('b')], tasks: [...running(web, 'a', 2), ...running(web, 'b', 1)], want: ['b'] },
    { name: 'other services do not count', task: pendingTask(web, 't'), nodes: [n('a')], tasks: running(other, 'a', 3), want: ['a'] },
    {
      name: 'stopped tasks and tasks being shut down do not count',
      task: pendingTask(web, 't'),
      nodes: [n('a')],
      tasks: [...running(web, 'a', 2, { state: 'failed' }), ...running(web, 'a', 2, { desiredState: 'shutdown' })],
      want: ['a'],
    },
    {
      name: 'assigned tasks not yet running count',
      task: pendingTask(web, 't'),
      nodes: [n('a')],
      tasks: running(web, 'a', 2, { state: 'assigned' }),
      want: [],
    },
  ]);
});

describe('resources filter', () => {
  const want = (o: Parameters<typeof service>[0] & object) => pendingTask(service({ id: 'svc-new', name: 'new', ...o }), 't');
  const big = service({ id: 'svc-big', name: 'big', reservations: { memoryBytes: 6 * GiB, nanoCpus: 3e9 } });
  const gpu = service({ id: 'svc-gpu', name: 'gpu', reservations: { generic: { gpu: 1 } } });
  table(resourcesFilter, [
    { name: 'no reservations: every node', task: want({}), nodes: [n('a'), n('b', { memoryBytes: GiB })], want: ['a', 'b'] },
    { name: 'memory within the node fits, above it not', task: want({ reservations: { memoryBytes: 4 * GiB } }), nodes: [n('a'), n('b', { memoryBytes: 2 * GiB })], want: ['a'] },
    { name: 'memory that fits exactly passes', task: want({ reservations: { memoryBytes: 8 * GiB } }), nodes: [n('a')], want: ['a'] },
    { name: 'CPUs', task: want({ reservations: { nanoCpus: 2e9 } }), nodes: [n('a', { nanoCpus: 1e9 }), n('b', { nanoCpus: 2e9 })], want: ['b'] },
    {
      name: 'free capacity: what tasks already there reserve is taken',
      task: want({ reservations: { memoryBytes: 4 * GiB } }),
      nodes: [n('a'), n('b')],
      tasks: running(big, 'a', 1),
      want: ['b'],
    },
    {
      name: 'CPU reserved by tasks there counts too',
      task: want({ reservations: { nanoCpus: 2e9 } }),
      nodes: [n('a'), n('b')],
      tasks: running(big, 'b', 1),
      want: ['a'],
    },
    {
      name: 'a task being shut down keeps its reservation until it has stopped',
      task: want({ reservations: { memoryBytes: 4 * GiB } }),
      nodes: [n('a')],
      tasks: running(big, 'a', 1, { desiredState: 'shutdown' }),
      want: [],
    },
    {
      name: 'stopped tasks reserve nothing',
      task: want({ reservations: { memoryBytes: 4 * GiB } }),
      nodes: [n('a')],
      tasks: [...running(big, 'a', 1, { state: 'complete' }), ...running(big, 'a', 1, { state: 'failed' }), ...running(big, 'a', 1, { state: 'orphaned' })],
      want: ['a'],
    },
    {
      name: 'a task on another node reserves nothing here',
      task: want({ reservations: { memoryBytes: 4 * GiB } }),
      nodes: [n('a')],
      tasks: running(big, 'b', 1),
      want: ['a'],
    },
    {
      name: 'generic resources by kind: only nodes that offer enough',
      task: want({ reservations: { generic: { gpu: 2 } } }),
      nodes: [n('a', { generic: { gpu: 2 } }), n('b', { generic: { gpu: 1 } }), n('c'), n('d', { generic: { fpga: 4 } })],
      want: ['a'],
    },
    {
      name: 'generic resources taken by tasks there',
      task: want({ reservations: { generic: { gpu: 1 } } }),
      nodes: [n('a', { generic: { gpu: 1 } }), n('b', { generic: { gpu: 2 } })],
      tasks: [...running(gpu, 'a', 1), ...running(gpu, 'b', 1)],
      want: ['b'],
    },
    {
      name: 'a node that reports no memory is not judged on memory',
      task: want({ reservations: { memoryBytes: 64 * GiB } }),
      nodes: [n('a', { memoryBytes: 0 })],
      want: ['a'],
    },
    {
      name: 'a limit above the node\'s total does not fit either',
      task: want({ limits: { memoryBytes: 16 * GiB } }),
      nodes: [n('a'), n('b', { memoryBytes: 32 * GiB })],
      want: ['b'],
    },
  ]);
});

describe('the explanation', () => {
  const table: { name: string; task: Task; nodes: ClusterNode[]; tasks?: Task[]; want: string }[] = [
    {
      name: 'constraints and resources, in Swarm\'s words',
      task: pendingTask(service({ id: 'svc-x', placement: { constraints: ['node.labels.zone == east'] }, reservations: { memoryBytes: 6 * GiB } }), 't'),
      nodes: [n('a'), n('b', { labels: { zone: 'west' } }), n('c', { labels: { zone: 'east' }, memoryBytes: 4 * GiB })],
      want: 'no suitable node (scheduling constraints not satisfied on 2 nodes; insufficient resources on 1 node)',
    },
    {
      name: 'each node is explained once, by the first filter it fails',
      task: pendingTask(service({ id: 'svc-x', placement: { constraints: ['node.labels.zone == east'], maxReplicas: 1 } }), 't'),
      nodes: [n('a', { state: 'down' }), n('b', { availability: 'drain' }), n('c'), n('d', { labels: { zone: 'east' } }), n('e', { labels: { zone: 'east' } })],
      tasks: [...running(service({ id: 'svc-x' }), 'd', 1), ...running(service({ id: 'svc-x' }), 'e', 1)],
      want: 'no suitable node (1 node not ready; 1 node paused or drained; scheduling constraints not satisfied on 1 node; max replicas per node limit exceeded on 2 nodes)',
    },
  ];
  for (const c of table) {
    it(c.name, () => assert.equal(filterNodes(c.task, infos(c.nodes, c.tasks ?? []), defaultFilters), c.want));
  }
});
