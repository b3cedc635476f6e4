import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HISTORY_LIMIT, reconcileReaper } from '../../../../manager/orchestrator/reaper';
import type { Service, Task } from '../../../../shared/types';
import { at, node, service, task } from '../../fixtures';

const live = service({ id: 'svc-live' });
const deleted = service({ id: 'svc-deleted', name: 'deleted' });
const nodes = [node('n1')];

interface Case {
  name: string;
  services?: Service[];
  tasks: Task[];
  /** Ids given desired state remove. */
  markRemove: string[];
  /** Ids deleted. */
  remove: string[];
}

const d = (id: string, o: Parameters<typeof task>[1] = {}): Task => task(deleted, { id, nodeId: 'n1', ...o });
const l = (id: string, o: Parameters<typeof task>[1] = {}): Task => task(live, { id, nodeId: 'n1', ...o });

/** `n` retired, terminal tasks of one slot, oldest first. */
function history(prefix: string, n: number, o: Parameters<typeof task>[1] = {}): Task[] {
  return Array.from({ length: n }, (_, i) => l(`${prefix}${i}`, { desiredState: 'shutdown', state: 'failed', createdAt: at(i), ...o }));
}

const cases: Case[] = [
  { name: 'a live service task is left alone', tasks: [l('a')], markRemove: [], remove: [] },
  {
    name: 'tasks of a deleted service are told to go',
    tasks: [d('r', { state: 'running' }), d('s', { desiredState: 'shutdown', state: 'shutdown' }), d('p', { nodeId: null, state: 'pending' })],
    markRemove: ['r', 's', 'p'],
    remove: [],
  },
  {
    name: 'a deleted service task still running on its node is kept until it stops',
    tasks: [d('r', { desiredState: 'remove', state: 'running' })],
    markRemove: [],
    remove: [],
  },
  {
    name: 'a deleted service task that stopped is deleted',
    tasks: [d('s', { desiredState: 'remove', state: 'shutdown' }), d('f', { desiredState: 'remove', state: 'failed' })],
    markRemove: [],
    remove: ['s', 'f'],
  },
  {
    name: 'a deleted service task never assigned is deleted',
    tasks: [d('p', { desiredState: 'remove', state: 'pending', nodeId: null }), d('q', { desiredState: 'remove', state: 'pending', nodeId: 'n1' })],
    markRemove: [],
    remove: ['p', 'q'],
  },
  {
    name: 'a deleted service task on a vanished node is deleted',
    tasks: [d('v', { desiredState: 'remove', state: 'running', nodeId: 'n-gone' })],
    markRemove: [],
    remove: ['v'],
  },
  {
    name: 'with no services at all every task is told to go',
    services: [],
    tasks: [l('a'), l('b', { desiredState: 'shutdown', state: 'complete' })],
    markRemove: ['a', 'b'],
    remove: [],
  },
  {
    name: 'a live service task with desired remove is deleted once stopped',
    tasks: [l('x', { desiredState: 'remove', state: 'complete' }), l('y', { desiredState: 'remove', state: 'running' })],
    markRemove: [],
    remove: ['x'],
  },
  {
    name: 'a retired task that never reached a node is deleted',
    tasks: [l('p', { desiredState: 'shutdown', state: 'pending', nodeId: null }), l('n', { desiredState: 'shutdown', state: 'new', nodeId: null })],
    markRemove: [],
    remove: ['p', 'n'],
  },
  {
    name: 'a retired task that reached a node and still runs is kept',
    tasks: [l('a', { desiredState: 'shutdown', state: 'assigned' }), l('r', { desiredState: 'shutdown', state: 'running' })],
    markRemove: [],
    remove: [],
  },
  { name: `history of exactly ${HISTORY_LIMIT} is kept`, tasks: history('h', HISTORY_LIMIT), markRemove: [], remove: [] },
  {
    name: 'history beyond the limit: the oldest go',
    tasks: history('h', HISTORY_LIMIT + 2).reverse(),
    markRemove: [],
    remove: ['h0', 'h1'],
  },
  {
    name: 'history is per slot',
    tasks: [...history('s1-', HISTORY_LIMIT + 1, { slot: 1 }), ...history('s2-', HISTORY_LIMIT, { slot: 2 })],
    markRemove: [],
    remove: ['s1-0'],
  },
  {
    name: 'global history is per node',
    tasks: [
      ...history('na-', HISTORY_LIMIT + 1, { slot: null, nodeId: 'n1' }),
      ...history('nb-', HISTORY_LIMIT, { slot: null, nodeId: 'n2' }),
    ],
    markRemove: [],
    remove: ['na-0'],
  },
  {
    name: 'live and still-stopping tasks do not count as history',
    tasks: [...history('h', HISTORY_LIMIT), l('live', { createdAt: at(-10) }), l('stopping', { desiredState: 'shutdown', state: 'running', createdAt: at(-9) })],
    markRemove: [],
    remove: [],
  },
];

describe('reconcileReaper', () => {
  for (const c of cases) {
    it(c.name, () => {
      const out = reconcileReaper(c.services ?? [live], nodes, c.tasks);
      assert.deepEqual(out.create, []);
      assert.deepEqual(out.update.map((u) => u.id).sort(), [...c.markRemove].sort());
      for (const u of out.update) {
        const before = c.tasks.find((x) => x.id === u.id);
        assert.deepEqual(u, { ...before, desiredState: 'remove' });
      }
      assert.deepEqual([...out.remove].sort(), [...c.remove].sort());
      assert.equal(new Set(out.remove).size, out.remove.length, 'no id deleted twice');
    });
  }
});
