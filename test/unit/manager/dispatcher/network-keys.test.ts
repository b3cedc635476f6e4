import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyringFingerprint, keyringForNode } from '../../../../manager/dispatcher/network-keys';
import type { NetworkView } from '../../../../shared/proto/codec';
import { emptyKeyring } from '../../../../shared/network-keys';

const view = (id: string, encrypted: boolean): NetworkView => ({ id, name: id, vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', peers: [], dns: [], vips: [], localIp: null, encrypted });
const ring = { keys: [1, 2, 3].map((tag) => ({ tag, key: Buffer.alloc(20, tag) })), primary: 2 };

describe('keyringForNode', () => {
  it('gives the ring only to a node with an encrypted network', () => {
    assert.deepEqual(keyringForNode([view('a', false), view('b', true)], ring), ring);
    assert.deepEqual(keyringForNode([view('a', false)], ring), emptyKeyring());
    assert.deepEqual(keyringForNode([], ring), emptyKeyring());
    assert.deepEqual(keyringForNode([view('b', true)], null), emptyKeyring(), 'no keys made yet');
  });
});

describe('keyringFingerprint', () => {
  it('changes with any key, tag or the primary, and holds no key material', () => {
    const base = keyringFingerprint(ring);
    assert.equal(keyringFingerprint({ keys: ring.keys.map((k) => ({ ...k })), primary: 2 }), base);
    assert.notEqual(keyringFingerprint({ ...ring, primary: 3 }), base);
    assert.notEqual(keyringFingerprint({ ...ring, keys: [...ring.keys.slice(0, 2), { tag: 3, key: Buffer.alloc(20, 9) }] }), base);
    assert.notEqual(keyringFingerprint(emptyKeyring()), base);
    assert.match(base, /^[0-9a-f]{64}$/);
  });
});
