import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterNode, ServiceSpec } from '../../../../shared/types';
import { constraintWarnings, placementWarnings, reservationWarnings } from '../../../../manager/scheduler/warnings';
import { serviceSpec } from '../../fixtures';
import { GiB, labelledNode as n } from './helpers';

const nodes = [n('a', { labels: { zone: 'east' } }), n('b', { memoryBytes: 16 * GiB, generic: { gpu: 2 } })];

describe('reservationWarnings', () => {
  const table: { name: string; spec: ServiceSpec; nodes?: ClusterNode[]; want: string[] }[] = [
    { name: 'nothing reserved', spec: serviceSpec({ name: 'web' }), want: [] },
    { name: 'fits on some node', spec: serviceSpec({ name: 'web', reservations: { memoryBytes: 12 * GiB, generic: { gpu: 2 } } }), want: [] },
    {
      name: 'more memory than any node has',
      spec: serviceSpec({ name: 'web', reservations: { memoryBytes: 32 * GiB } }),
      want: ['service web reserves 32GiB of memory, more than any node has: its tasks stay pending until a node with enough joins'],
    },
    {
      name: 'enough of each somewhere, not all on one node',
      spec: serviceSpec({ name: 'web', reservations: { nanoCpus: 2.5e9, memoryBytes: 512 * 1024 ** 2, generic: { gpu: 3 } } }),
      want: ['service web reserves 2.5 CPUs, 512MiB of memory, gpu=3, more than any node has: its tasks stay pending until a node with enough joins'],
    },
    {
      name: 'a kind no node offers',
      spec: serviceSpec({ name: 'web', reservations: { generic: { fpga: 1 } } }),
      want: ['service web reserves fpga=1, more than any node has: its tasks stay pending until a node with enough joins'],
    },
    {
      name: 'only nodes that meet the constraints count',
      spec: serviceSpec({ name: 'web', reservations: { memoryBytes: 12 * GiB }, placement: { constraints: ['node.labels.zone == east'] } }),
      want: ['service web reserves 12GiB of memory, more than any node that meets its constraints has: its tasks stay pending until a node with enough joins'],
    },
    { name: 'no nodes known: nothing to judge by', spec: serviceSpec({ name: 'web', reservations: { memoryBytes: 32 * GiB } }), nodes: [], want: [] },
    { name: 'a node that reports no memory may have enough', spec: serviceSpec({ name: 'web', reservations: { memoryBytes: 32 * GiB } }), nodes: [n('z', { memoryBytes: 0 })], want: [] },
  ];
  for (const c of table) it(c.name, () => assert.deepEqual(reservationWarnings([c.spec], c.nodes ?? nodes), c.want));
});

describe('constraintWarnings', () => {
  it('warns when no node meets the constraints, not when one does', () => {
    const specs = [
      serviceSpec({ name: 'east', placement: { constraints: ['node.labels.zone == east'] } }),
      serviceSpec({ name: 'north', placement: { constraints: ['node.labels.zone == north', 'node.role == worker'] } }),
      serviceSpec({ name: 'free' }),
    ];
    assert.deepEqual(constraintWarnings(specs, nodes), ['service north: no node satisfies its constraints (node.labels.zone == north, node.role == worker): its tasks stay pending until one does']);
  });

  it('placementWarnings gives both, service by service', () => {
    const specs = [
      serviceSpec({ name: 'big', reservations: { memoryBytes: 64 * GiB } }),
      serviceSpec({ name: 'north', placement: { constraints: ['node.labels.zone == north'] }, reservations: { memoryBytes: 64 * GiB } }),
    ];
    assert.deepEqual(placementWarnings(specs, nodes), [
      'service big reserves 64GiB of memory, more than any node has: its tasks stay pending until a node with enough joins',
      'service north: no node satisfies its constraints (node.labels.zone == north): its tasks stay pending until one does',
    ]);
  });
});
