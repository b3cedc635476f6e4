import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeIsEligible, reconcileGlobal } from '../../../../manager/orchestrator/global';
import type { ClusterNode, Task } from '../../../../shared/types';
import { at, ids, node, NOW, service, task } from '../../fixtures';

const svc = service({ id: 'svc-g', name: 'agent', mode: 'global', specVersion: 3 });
const other = service({ id: 'svc-o', name: 'other', mode: 'global' });
const t = (id: string, nodeId: string, o: Parameters<typeof task>[1] = {}): Task => task(svc, { id, slot: null, nodeId, ...o });

const ready1 = node('n1');
const ready2 = node('n2');
const down = node('n-down', { state: 'down' });
const unknown = node('n-unknown', { state: 'unknown' });
const drained = node('n-drain', { availability: 'drain' });
const paused = node('n-pause', { availability: 'pause' });

interface Case {
  name: string;
  nodes: ClusterNode[];
  tasks: Task[];
  /** Nodes that get a new task, in node order. */
  create: string[];
  shutdown: string[];
}

const cases: Case[] = [
  { name: 'one task per ready and active node', nodes: [ready1, ready2], tasks: [], create: ['n1', 'n2'], shutdown: [] },
  { name: 'no nodes: nothing', nodes: [], tasks: [], create: [], shutdown: [] },
  {
    name: 'down, unknown, drained and paused nodes get none',
    nodes: [ready1, down, unknown, drained, paused],
    tasks: [],
    create: ['n1'],
    shutdown: [],
  },
  { name: 'a node with a running task is left alone', nodes: [ready1, ready2], tasks: [t('g1', 'n1')], create: ['n2'], shutdown: [] },
  { name: 'a pending task on its node counts as live', nodes: [ready1], tasks: [t('g1', 'n1', { state: 'pending' })], create: [], shutdown: [] },
  {
    name: 'a down node keeps its healthy task (it may come back) but a failed one is retired and not replaced',
    nodes: [ready1, down],
    tasks: [t('g1', 'n1'), t('gd', 'n-down'), t('gdf', 'n-down', { state: 'failed' })],
    create: [],
    shutdown: ['gdf'],
  },
  {
    name: 'tasks on drained nodes are retired, paused nodes keep theirs',
    nodes: [ready1, drained, paused],
    tasks: [t('g1', 'n1'), t('gdr', 'n-drain'), t('gp', 'n-pause')],
    create: [],
    shutdown: ['gdr'],
  },
  {
    name: 'tasks on a vanished node are retired',
    nodes: [ready1],
    tasks: [t('g1', 'n1'), t('ghost', 'n-gone'), t('ghost2', 'n-gone', { state: 'pending' })],
    create: [],
    shutdown: ['ghost', 'ghost2'],
  },
  {
    name: 'a failed task is replaced on the same node',
    nodes: [ready1, ready2],
    tasks: [t('g1', 'n1', { state: 'failed', status: { timestamp: at(-5) } }), t('g2', 'n2')],
    create: ['n1'],
    shutdown: ['g1'],
  },
  {
    name: 'a task of an older spec version stays (the updater replaces it)',
    nodes: [ready1, ready2],
    tasks: [t('g1', 'n1'), t('g2', 'n2', { specVersion: 2 })],
    create: [],
    shutdown: [],
  },
  {
    name: 'duplicates on one node: one is kept',
    nodes: [ready1],
    tasks: [t('g1a', 'n1'), t('g1b', 'n1')],
    create: [],
    shutdown: ['g1b'],
  },
  {
    name: 'retired tasks (desired shutdown) are ignored',
    nodes: [ready1, down],
    tasks: [t('old', 'n1', { desiredState: 'shutdown', state: 'shutdown' }), t('oldd', 'n-down', { desiredState: 'shutdown' })],
    create: ['n1'],
    shutdown: [],
  },
  {
    name: "other services' tasks are ignored",
    nodes: [ready1, down],
    tasks: [task(other, { id: 'o1', slot: null, nodeId: 'n1' }), task(other, { id: 'od', slot: null, nodeId: 'n-down' })],
    create: ['n1'],
    shutdown: [],
  },
];

describe('reconcileGlobal', () => {
  for (const c of cases) {
    it(c.name, () => {
      const out = reconcileGlobal(svc, c.nodes, c.tasks, NOW);
      assert.deepEqual(
        out.create.map((x) => x.nodeId),
        c.create,
      );
      assert.deepEqual(ids(out.update), [...c.shutdown].sort());
      assert.deepEqual(out.remove, []);
      for (const u of out.update) {
        const before = c.tasks.find((x) => x.id === u.id);
        assert.deepEqual(u, { ...before, desiredState: 'shutdown' });
      }
      for (const n of out.create) {
        assert.equal(n.slot, null);
        assert.equal(n.serviceId, svc.id);
        assert.equal(n.specVersion, 3);
        assert.equal(n.desiredState, 'running');
        assert.equal(n.status.state, 'pending');
      }
    });
  }
});

describe('nodeIsEligible', () => {
  const table: [ClusterNode, boolean][] = [
    [ready1, true],
    [down, false],
    [unknown, false],
    [drained, false],
    [paused, false],
    [node('x', { state: 'down', availability: 'drain' }), false],
  ];
  for (const [n, want] of table) {
    it(`${n.status.state}/${n.availability} → ${want}`, () => assert.equal(nodeIsEligible(n), want));
  }
});

describe('reconcileGlobal: placement constraints', () => {
  const constrained = service({ id: 'svc-mon', mode: 'global', replicas: 0, placement: { constraints: ['node.labels.monitor == true'] } });
  const labelled = (id: string): ClusterNode => ({ ...node(id), labels: { monitor: 'true' } });

  it('creates tasks only on the nodes the constraints admit', () => {
    const a = reconcileGlobal(constrained, [labelled('n1'), node('n2'), labelled('n3')], [], NOW);
    assert.deepEqual(a.create.map((t) => t.nodeId).sort(), ['n1', 'n3']);
  });

  it('shuts down the task of a node that stops meeting them', () => {
    const running = task(constrained, { id: 't2', slot: null, nodeId: 'n2' });
    const a = reconcileGlobal(constrained, [node('n2')], [running], NOW);
    assert.deepEqual(a.update.map((t) => [t.id, t.desiredState]), [['t2', 'shutdown']]);
    assert.equal(a.create.length, 0);
  });
});
