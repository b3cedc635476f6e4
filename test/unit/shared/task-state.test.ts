import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canMove, isTerminal, stateValue, TaskState, type TaskStateName } from '../../../shared/task-state';

const ORDER: TaskStateName[] = ['new', 'pending', 'assigned', 'accepted', 'preparing', 'starting', 'running', 'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'];

describe('task states', () => {
  it('are exactly the SwarmKit states, in lifecycle order', () => {
    assert.deepEqual(
      Object.keys(TaskState).sort((a, b) => stateValue(a as TaskStateName) - stateValue(b as TaskStateName)),
      ORDER,
    );
  });

  it('are spaced, strictly increasing values', () => {
    for (let i = 1; i < ORDER.length; i++) {
      assert.ok(stateValue(ORDER[i]!) > stateValue(ORDER[i - 1]!), `${ORDER[i]} after ${ORDER[i - 1]}`);
    }
    assert.equal(stateValue('new'), 0);
    assert.equal(stateValue('running'), 512);
  });

  const terminal = new Set<TaskStateName>(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
  for (const s of ORDER) {
    it(`${s} is ${terminal.has(s) ? '' : 'not '}terminal`, () => assert.equal(isTerminal(s), terminal.has(s)));
  }

  it('canMove is true exactly for forward moves', () => {
    for (const [i, from] of ORDER.entries()) {
      for (const [j, to] of ORDER.entries()) {
        assert.equal(canMove(from, to), j > i, `${from} → ${to}`);
      }
    }
  });

  const moves: [TaskStateName, TaskStateName, boolean][] = [
    ['pending', 'assigned', true],
    ['assigned', 'running', true],
    ['running', 'failed', true],
    ['running', 'running', false],
    ['running', 'starting', false],
    ['failed', 'running', false],
    ['complete', 'shutdown', true],
    ['rejected', 'failed', false],
  ];
  for (const [from, to, ok] of moves) it(`${from} → ${to}: ${ok}`, () => assert.equal(canMove(from, to), ok));
});
