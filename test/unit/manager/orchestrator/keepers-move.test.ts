import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keepers } from '../../../../manager/orchestrator/keepers';
import type { Task } from '../../../../shared/types';
import { at, service, task } from '../../fixtures';

const s = service({ id: 'svc-a', replicas: 2 });
/** Slot 1's task on node a, ready, marked by a rebalance to move. */
const leaving: Task = { ...task(s, { id: 'leaving', slot: 1, nodeId: 'a', createdAt: at(-600) }), move: true };
/** Its replacement on node b, of the same (current) spec. */
const arriving = (o: Parameters<typeof task>[1] = {}): Task => task(s, { id: 'arriving', slot: 1, nodeId: 'b', createdAt: at(-5), ...o });

describe('keepers with a task marked to move', () => {
  it('keeps the marked task (as older) while its replacement is not ready yet', () => {
    for (const starting of [arriving({ state: 'starting' }), arriving({ state: 'pending' }), arriving({ status: { health: 'starting' } })]) {
      const k = keepers([leaving, starting], s);
      assert.equal(k.current?.id, 'arriving');
      assert.equal(k.older?.id, 'leaving', `${starting.status.state}/${String(starting.status.health)}`);
    }
  });

  it('lets the marked task go once the replacement is ready', () => {
    const k = keepers([leaving, arriving()], s);
    assert.deepEqual([k.current?.id, k.older], ['arriving', undefined]);
  });

  it('a marked task alone is kept as older: the updater replaces it, not the reconciler', () => {
    const k = keepers([leaving], s);
    assert.deepEqual([k.current, k.older?.id], [undefined, 'leaving']);
  });

  it('the same task unmarked is the current one', () => {
    const { move: _move, ...unmarked } = leaving;
    const k = keepers([unmarked], s);
    assert.deepEqual([k.current?.id, k.older], ['leaving', undefined]);
  });
});
