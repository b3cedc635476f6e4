import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCurrent, specDigest } from '../../../shared/service-versions';
import type { Task } from '../../../shared/types';
import { service, serviceSpec, task } from '../fixtures';

const s = service({ id: 'svc-a', specVersion: 3 });

describe('isCurrent', () => {
  it('a task of the current digest is current; marked to move, it is not', () => {
    const t = task(s);
    assert.equal(isCurrent(t, s), true);
    assert.equal(isCurrent({ ...t, move: true }, s), false);
    assert.equal(isCurrent({ ...t, move: false }, s), true, 'move: false is as no mark');
  });

  it('a task of another digest is not current, marked or not', () => {
    const t = task(s, { specVersion: 2 });
    assert.equal(isCurrent(t, s), false);
    assert.equal(isCurrent({ ...t, move: true }, s), false);
    assert.equal(isCurrent({ ...t, move: false }, s), false);
  });

  it('a record from before digests compares versions, and a mark still counts', () => {
    const legacy = (specVersion: number, move?: boolean): Task => ({ ...task(s, { specVersion }), specDigest: '', ...(move === undefined ? {} : { move }) });
    assert.equal(isCurrent(legacy(3), s), true);
    assert.equal(isCurrent(legacy(2), s), false);
    assert.equal(isCurrent(legacy(3, true), s), false);
  });
});

describe('specDigest and rebalance', () => {
  it('does not cover rebalance: changing it restarts nothing', () => {
    const plain = serviceSpec();
    assert.equal(specDigest({ ...plain, rebalance: 'auto' }), specDigest(plain));
    assert.equal(specDigest({ ...plain, rebalance: 'manual' }), specDigest(plain));
  });
});
