import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reconcileReplicated } from '../../../../manager/orchestrator/replicated';
import type { Service, Task } from '../../../../shared/types';
import { at, ids, NOW, service, task } from '../../fixtures';

const svc = service({ id: 'svc-a', replicas: 3, specVersion: 2 });
const other = service({ id: 'svc-b', name: 'other', replicas: 1 });
const t = (id: string, slot: number | null, o: Parameters<typeof task>[1] = {}): Task => task(svc, { id, slot, ...o });

interface Case {
  name: string;
  service?: Service;
  tasks: Task[];
  /** Slots that get a new task, in order. */
  create: number[];
  /** Ids told to shut down. */
  shutdown: string[];
}

const cases: Case[] = [
  { name: 'no tasks: fills every slot', tasks: [], create: [1, 2, 3], shutdown: [] },
  { name: 'all slots running: nothing to do', tasks: [t('a1', 1), t('a2', 2), t('a3', 3)], create: [], shutdown: [] },
  { name: 'a missing slot is filled', tasks: [t('a1', 1), t('a3', 3)], create: [2], shutdown: [] },
  {
    name: 'pending and starting tasks count as live',
    tasks: [t('a1', 1, { state: 'pending' }), t('a2', 2, { state: 'starting' }), t('a3', 3, { state: 'assigned' })],
    create: [],
    shutdown: [],
  },
  {
    name: 'scale down retires the extra slots',
    service: { ...svc, spec: { ...svc.spec, replicas: 1 } },
    tasks: [t('a1', 1), t('a2', 2), t('a3', 3)],
    create: [],
    shutdown: ['a2', 'a3'],
  },
  {
    name: 'replicas 0 retires everything and creates nothing',
    service: { ...svc, spec: { ...svc.spec, replicas: 0 } },
    tasks: [t('a1', 1), t('a2', 2, { state: 'pending' })],
    create: [],
    shutdown: ['a1', 'a2'],
  },
  { name: 'replicas 0 with no tasks does nothing', service: { ...svc, spec: { ...svc.spec, replicas: 0 } }, tasks: [], create: [], shutdown: [] },
  {
    name: 'a failed task is retired and its slot refilled',
    tasks: [t('a1', 1), t('a2', 2, { state: 'failed', status: { timestamp: at(-5) } }), t('a3', 3)],
    create: [2],
    shutdown: ['a2'],
  },
  {
    name: 'a complete task is retired and its slot refilled',
    tasks: [t('a1', 1, { state: 'complete', status: { timestamp: at(-5) } }), t('a2', 2), t('a3', 3)],
    create: [1],
    shutdown: ['a1'],
  },
  {
    name: 'a rejected task is retired and its slot refilled',
    tasks: [t('a1', 1), t('a2', 2), t('a3', 3, { state: 'rejected', status: { timestamp: at(-5) } })],
    create: [3],
    shutdown: ['a3'],
  },
  {
    name: 'tasks of an older spec version stay (the updater replaces them)',
    tasks: [t('a1', 1, { specVersion: 1 }), t('a2', 2), t('a3', 3, { specVersion: 1, state: 'pending' })],
    create: [],
    shutdown: [],
  },
  {
    name: 'duplicates in a slot: the running one is kept (running listed second)',
    tasks: [t('dup-starting', 1, { state: 'starting' }), t('dup-running', 1), t('a2', 2), t('a3', 3)],
    create: [],
    shutdown: ['dup-starting'],
  },
  {
    name: 'duplicates in a slot: the running one is kept (running listed first)',
    tasks: [t('dup-running', 1), t('dup-pending', 1, { state: 'pending' }), t('a2', 2), t('a3', 3)],
    create: [],
    shutdown: ['dup-pending'],
  },
  {
    name: 'duplicates in a slot: the running one is kept among three',
    tasks: [t('d-assigned', 1, { state: 'assigned' }), t('d-preparing', 1, { state: 'preparing' }), t('d-running', 1), t('a2', 2), t('a3', 3)],
    create: [],
    shutdown: ['d-assigned', 'd-preparing'],
  },
  {
    name: 'duplicates in a slot: a failed one goes, the healthy one stays',
    tasks: [t('d-failed', 1, { state: 'failed' }), t('d-ok', 1, { state: 'starting' }), t('a2', 2), t('a3', 3)],
    create: [],
    shutdown: ['d-failed'],
  },
  {
    name: 'duplicates in a slot of an old version: one stays for the updater',
    tasks: [t('d1', 1, { specVersion: 1 }), t('d2', 1, { specVersion: 1 }), t('a2', 2), t('a3', 3)],
    create: [],
    shutdown: ['d2'],
  },
  {
    name: 'retired tasks (desired shutdown) are not live; a slot waits for one still stopping',
    tasks: [t('old1', 1, { desiredState: 'shutdown', state: 'shutdown' }), t('old2', 2, { desiredState: 'shutdown', state: 'running' }), t('a3', 3)],
    create: [1],
    shutdown: [],
  },
  {
    name: 'tasks being removed are not live (refilled once stopped)',
    tasks: [t('gone', 1, { desiredState: 'remove', state: 'shutdown' }), t('a2', 2), t('a3', 3)],
    create: [1],
    shutdown: [],
  },
  {
    name: "other services' tasks are ignored",
    tasks: [task(other, { id: 'b1', slot: 1 }), task(other, { id: 'b5', slot: 5 }), task(other, { id: 'b2', slot: 2, state: 'failed' }), t('a2', 2)],
    create: [1, 3],
    shutdown: [],
  },
  {
    name: 'a task without a slot is ignored',
    tasks: [t('noslot', null), t('a1', 1), t('a2', 2), t('a3', 3)],
    create: [],
    shutdown: [],
  },
];

describe('reconcileReplicated', () => {
  for (const c of cases) {
    it(c.name, () => {
      const s = c.service ?? svc;
      const out = reconcileReplicated(s, c.tasks, NOW);
      assert.deepEqual(
        out.create.map((x) => x.slot),
        c.create,
      );
      assert.deepEqual(ids(out.update), [...c.shutdown].sort());
      assert.deepEqual(out.remove, []);
      for (const u of out.update) {
        const before = c.tasks.find((x) => x.id === u.id);
        assert.ok(before, `update of unknown task ${u.id}`);
        assert.deepEqual(u, { ...before, desiredState: 'shutdown' }, 'only the desired state changes');
      }
      for (const n of out.create) {
        assert.equal(n.serviceId, s.id);
        assert.equal(n.serviceName, s.spec.name);
        assert.equal(n.specVersion, s.specVersion);
        assert.equal(n.desiredState, 'running');
        assert.equal(n.status.state, 'pending');
        assert.equal(n.nodeId, null);
        assert.equal(n.createdAt, NOW);
        assert.deepEqual(n.spec, s.spec.task);
      }
    });
  }

  it('leaves exactly one live task in every wanted slot', () => {
    const tasks = [
      t('x1', 1, { state: 'pending' }),
      t('x2', 1, { state: 'assigned' }),
      t('x3', 1, { state: 'preparing' }),
      t('y1', 2, { state: 'starting' }),
      t('y2', 2, { state: 'starting' }),
    ];
    const out = reconcileReplicated(svc, tasks, NOW);
    const retired = new Set(out.update.map((u) => u.id));
    const live = [...tasks.filter((x) => !retired.has(x.id)), ...out.create];
    for (const slot of [1, 2, 3]) {
      assert.equal(live.filter((x) => x.slot === slot).length, 1, `slot ${slot}`);
    }
  });

  it('gives new tasks distinct ids', () => {
    const out = reconcileReplicated(svc, [], NOW);
    assert.equal(new Set(out.create.map((x) => x.id)).size, 3);
  });

  it('is stable: applying its actions leaves nothing more to do', () => {
    const tasks = [t('a1', 1, { state: 'failed' }), t('a4', 4), t('a2', 2, { specVersion: 1 })];
    const out = reconcileReplicated(svc, tasks, NOW);
    const updated = new Map(out.update.map((u) => [u.id, u]));
    const next = [...tasks.map((x) => updated.get(x.id) ?? x), ...out.create];
    const again = reconcileReplicated(svc, next, NOW);
    assert.deepEqual(again, { create: [], update: [], remove: [] });
  });
});
