import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { checkNodeRemoval, findNode, planNodeUpdate } from '../../../../manager/api/nodes';
import { ConflictError, InvalidArgumentError, NodeNotFoundError } from '../../../../shared/errors';
import type { ClusterNode } from '../../../../shared/types';
import { node } from '../../fixtures';

const versioned = (n: ClusterNode) => ({ key: `/nodes/${n.id}`, value: n, modRevision: '1' });

describe('findNode', () => {
  const all = [node('abcdef123456'), node('abcd99999999'), node('zzzz00000000')].map(versioned);
  it('finds by id, hostname or a unique prefix of four or more characters', () => {
    assert.equal(findNode(all, 'zzzz00000000').value.id, 'zzzz00000000');
    assert.equal(findNode(all, 'host-zzzz00000000').value.id, 'zzzz00000000');
    assert.equal(findNode(all, 'abcde').value.id, 'abcdef123456');
  });
  it('refuses an ambiguous prefix and an unknown or too short one', () => {
    assert.throws(() => findNode(all, 'abcd'), InvalidArgumentError);
    assert.throws(() => findNode(all, 'zz'), NodeNotFoundError);
    assert.throws(() => findNode(all, 'nope'), NodeNotFoundError);
  });
});

describe('planNodeUpdate', () => {
  const n = { ...node('n1'), labels: { zone: 'a', disk: 'ssd' } };
  it('applies availability, label additions and removals together', () => {
    const next = planNodeUpdate(n, { availability: 'drain', labelAdd: { zone: 'b', gpu: '' }, labelRm: ['disk'] }, [n]);
    assert.equal(next.availability, 'drain');
    assert.deepEqual(next.labels, { zone: 'b', gpu: '' });
    assert.deepEqual(n.labels, { zone: 'a', disk: 'ssd' }, 'the input is not modified');
  });
  it('refuses a bad availability, a missing label and a bad key, changing nothing', () => {
    assert.throws(() => planNodeUpdate(n, { availability: 'off' as never }, [n]), /invalid availability "off"/);
    assert.throws(() => planNodeUpdate(n, { labelRm: ['nope'] }, [n]), /label nope is not on node/);
    assert.throws(() => planNodeUpdate(n, { labelAdd: { 'a b': 'x' } }, [n]), /invalid label key/);
  });
  it('demotes a manager only when another manager remains', () => {
    const m1 = node('m1', { role: 'manager' });
    const m2 = node('m2', { role: 'manager' });
    assert.throws(() => planNodeUpdate(m1, { role: 'worker' }, [m1, n]), ConflictError);
    assert.equal(planNodeUpdate(m1, { role: 'worker' }, [m1, m2]).role, 'worker');
    assert.equal(planNodeUpdate(n, { role: 'manager' }, [m1, n]).role, 'manager');
  });
});

describe('checkNodeRemoval', () => {
  it('removes a down worker, and a live one only with force', () => {
    assert.doesNotThrow(() => checkNodeRemoval(node('w', { state: 'down' }), false));
    assert.throws(() => checkNodeRemoval(node('w'), false), /is ready, not down/);
    assert.doesNotThrow(() => checkNodeRemoval(node('w'), true));
  });
  it('never removes a manager', () => {
    assert.throws(() => checkNodeRemoval(node('m', { role: 'manager', state: 'down' }), true), /demote it/);
  });
});

describe('planNodeUpdate role', () => {
  it('changes the role only of a ready node (its agent starts or stops the manager)', () => {
    const down = { ...node('n2'), status: { ...node('n2').status, state: 'down' as const } };
    assert.throws(() => planNodeUpdate(down, { role: 'manager' }, [down]), ConflictError);
    assert.equal(planNodeUpdate(node('n3'), { role: 'manager' }, [node('n3')]).role, 'manager');
  });
});
