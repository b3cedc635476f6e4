import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { nodeView } from '../../../../manager/api/views';
import { node } from '../../fixtures';

describe('nodeView manager status', () => {
  const m = (id: string) => ({ ...node(id), role: 'manager' as const });
  it('is leader for the leader node, reachable with a live manager record, unreachable without, null for a worker', () => {
    const live = new Set(['a', 'b']);
    assert.equal(nodeView(m('a'), 'a', live).manager, 'leader');
    assert.equal(nodeView(m('b'), 'a', live).manager, 'reachable');
    assert.equal(nodeView(m('c'), 'a', live).manager, 'unreachable');
    assert.equal(nodeView(node('d'), 'a', live).manager, null);
    assert.equal(nodeView(m('a'), null, new Set()).manager, 'unreachable');
  });
});
