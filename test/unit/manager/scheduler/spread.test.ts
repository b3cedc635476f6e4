/** Placement preferences: SwarmKit's nested spread over node attributes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterNode, Task } from '../../../../shared/types';
import { schedule } from '../../../../manager/scheduler/schedule';
import { spreadKey } from '../../../../manager/scheduler/spread';
import { NOW, service } from '../../fixtures';
import { labelledNode as n, pendingTask, perNode, running } from './helpers';

const spreadBy = (...labels: string[]) => service({ id: 'svc-web', placement: { preferences: labels.map((spread) => ({ spread })) } });
const byZone = spreadBy('node.labels.zone');
const batch = (svc: typeof byZone, count: number): Task[] => Array.from({ length: count }, (_, i) => pendingTask(svc, `t${i + 1}`, { slot: i + 1 }));
const zone = (id: string, z: string, more: Record<string, string> = {}) => n(id, { labels: { zone: z, ...more } });

/** Tasks per value of `label` among the assigned ones. */
function perLabel(out: Task[], nodes: ClusterNode[], label: string): Record<string, number> {
  const r: Record<string, number> = {};
  for (const [id, c] of Object.entries(perNode(out))) {
    const v = nodes.find((x) => x.id === id)?.labels[label] ?? '(none)';
    r[v] = (r[v] ?? 0) + c;
  }
  return r;
}

describe('spread preferences', () => {
  it('9 replicas over 3 zones of unequal size: 3 per zone, then even within each', () => {
    const nodes = [zone('e1', 'east'), zone('e2', 'east'), zone('e3', 'east'), zone('w1', 'west'), zone('w2', 'west'), zone('s1', 'south')];
    const out = schedule(batch(byZone, 9), [], nodes, NOW);
    assert.deepEqual(perLabel(out, nodes, 'zone'), { east: 3, west: 3, south: 3 });
    assert.deepEqual(perNode(out), { e1: 1, e2: 1, e3: 1, w1: 2, w2: 1, s1: 3 });
  });

  it('without the preference the nodes, not the zones, share the tasks evenly', () => {
    const plain = service({ id: 'svc-web' });
    const nodes = [zone('e1', 'east'), zone('e2', 'east'), zone('e3', 'east'), zone('w1', 'west'), zone('w2', 'west'), zone('s1', 'south')];
    assert.deepEqual(perLabel(schedule(batch(plain, 9), [], nodes, NOW), nodes, 'zone'), { east: 6, west: 2, south: 1 });
  });

  it('nodes without the label are one group of their own', () => {
    const nodes = [zone('e1', 'east'), zone('w1', 'west'), n('u1'), n('u2')];
    const out = schedule(batch(byZone, 6), [], nodes, NOW);
    assert.deepEqual(perNode(out), { e1: 2, w1: 2, u1: 1, u2: 1 });
  });

  it('counts the service\'s tasks already in each group', () => {
    const nodes = [zone('e1', 'east'), zone('e2', 'east'), zone('w1', 'west')];
    const out = schedule(batch(byZone, 4), running(byZone, 'e1', 3), nodes, NOW);
    // east has 3 already: west catches up; with the zones even, the emptiest node (e2) wins.
    assert.deepEqual(perNode(out), { w1: 3, e2: 1 });
  });

  it('tasks of other services do not count in the groups, only as load between equal nodes', () => {
    const other = service({ id: 'svc-other', name: 'other' });
    const nodes = [zone('e1', 'east'), zone('e2', 'east'), zone('w1', 'west')];
    const out = schedule(batch(byZone, 2), running(other, 'w1', 5).concat(running(other, 'e1', 1)), nodes, NOW);
    assert.deepEqual(perNode(out), { e2: 1, w1: 1 });
  });

  it('nested preferences: zones first, then racks within each zone, then nodes', () => {
    const nested = spreadBy('node.labels.zone', 'node.labels.rack');
    const nodes = [
      zone('e-r1-a', 'east', { rack: 'r1' }),
      zone('e-r1-b', 'east', { rack: 'r1' }),
      zone('e-r2-a', 'east', { rack: 'r2' }),
      zone('w-r1-a', 'west', { rack: 'r1' }),
    ];
    const out = schedule(batch(nested, 8), [], nodes, NOW);
    assert.deepEqual(perNode(out), { 'e-r1-a': 1, 'e-r1-b': 1, 'e-r2-a': 2, 'w-r1-a': 4 });
  });

  it('a group with no node that fits gets nothing; the others share evenly', () => {
    const nodes = [zone('e1', 'east'), zone('w1', 'west'), zone('s1', 'south', {}), zone('s2', 'south')].map((x) => (x.labels.zone === 'south' ? { ...x, availability: 'drain' as const } : x));
    assert.deepEqual(perNode(schedule(batch(byZone, 6), [], nodes, NOW)), { e1: 3, w1: 3 });
  });

  it('a group that fills up (max replicas per node) leaves the rest to the others', () => {
    const capped = service({ id: 'svc-web', placement: { preferences: [{ spread: 'node.labels.zone' }], maxReplicas: 1 } });
    const nodes = [zone('e1', 'east'), zone('w1', 'west'), zone('w2', 'west'), zone('w3', 'west')];
    assert.deepEqual(perNode(schedule(batch(capped, 4), [], nodes, NOW)), { e1: 1, w1: 1, w2: 1, w3: 1 });
  });

  it('engine labels spread as node labels do', () => {
    const svc = spreadBy('engine.labels.az');
    const nodes = [n('a1', { engineLabels: { az: 'a' } }), n('a2', { engineLabels: { az: 'a' } }), n('b1', { engineLabels: { az: 'b' } })];
    assert.deepEqual(perNode(schedule(batch(svc, 4), [], nodes, NOW)), { a1: 1, a2: 1, b1: 2 });
  });

  it('a descriptor that names nothing is ignored, as in SwarmKit', () => {
    const svc = spreadBy('node.zone');
    const nodes = [zone('e1', 'east'), zone('e2', 'east'), zone('w1', 'west')];
    assert.deepEqual(perNode(schedule(batch(svc, 3), [], nodes, NOW)), { e1: 1, e2: 1, w1: 1 });
  });

  it('node.role: managers and workers get half each', () => {
    const svc = spreadBy('node.role');
    const nodes = [n('m1', { role: 'manager' }), n('w1'), n('w2'), n('w3')];
    assert.deepEqual(perNode(schedule(batch(svc, 4), [], nodes, NOW)), { m1: 2, w1: 1, w2: 1 });
  });
});

describe('spreadKey', () => {
  const table: [string, ReturnType<typeof spreadKey>][] = [
    ['node.labels.zone', { kind: 'node.labels', label: 'zone' }],
    ['Node.Labels.Zone', { kind: 'node.labels', label: 'Zone' }],
    ['engine.labels.az', { kind: 'engine.labels', label: 'az' }],
    ['node.labels.', null],
    ['node.hostname', { kind: 'node.hostname' }],
    ['NODE.ROLE', { kind: 'node.role' }],
    ['node.platform.arch', { kind: 'node.platform.arch' }],
    ['node.zone', null],
    ['zone', null],
  ];
  for (const [d, want] of table) it(d, () => assert.deepEqual(spreadKey(d), want));
});
