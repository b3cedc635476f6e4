import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentKeyring, DEFAULT_ROTATION_MS, planKeyring, rotationPeriodMs, type ManagedKeyring } from '../../../../manager/network-keys/keyring';
import { NetworkKeysUnreadableError, openNetworkKeys, sealNetworkKeys, type StoredNetworkKeys } from '../../../../manager/network-keys/seal';
import { seal } from '../../../../manager/keys/seal';
import { Keys } from '../../../../shared/keys';

const HOUR = 3600_000;
const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const PERIOD = 12 * HOUR;

/** Keys 0x01.., 0x02.., one new one per call: which key is which stays readable in the tests. */
function keySource(): () => Buffer {
  let n = 0;
  return () => Buffer.alloc(20, ++n);
}

function ring(tags: number[], primary: number, rotatedAtMs: number): ManagedKeyring {
  return { keys: tags.map((tag) => ({ tag, key: Buffer.alloc(20, tag), createdAt: new Date(rotatedAtMs).toISOString() })), primary, rotatedAt: new Date(rotatedAtMs).toISOString() };
}

describe('planKeyring', () => {
  it('makes three keys, the middle one primary, when the first encrypted network appears', () => {
    const change = planKeyring(null, true, T0, PERIOD, keySource());
    assert.equal(change?.kind, 'created');
    assert.deepEqual(change.next.keys.map((k) => [k.tag, k.key[0]]), [[1, 1], [2, 2], [3, 3]]);
    assert.equal(change.next.primary, 2);
    assert.equal(change.next.rotatedAt, new Date(T0).toISOString());
  });

  it('writes nothing while no network is encrypted, with keys or without', () => {
    assert.equal(planKeyring(null, false, T0, PERIOD, keySource()), null);
    assert.equal(planKeyring(ring([1, 2, 3], 2, T0 - 10 * PERIOD), false, T0, PERIOD, keySource()), null);
  });

  it('leaves the keys until the period is over', () => {
    assert.equal(planKeyring(ring([1, 2, 3], 2, T0), true, T0 + PERIOD - 1, PERIOD, keySource()), null);
  });

  it('rotates: drops the oldest, adds a newer one, makes the former newest primary', () => {
    const change = planKeyring(ring([4, 5, 6], 5, T0), true, T0 + PERIOD, PERIOD, keySource());
    assert.equal(change?.kind, 'rotated');
    assert.deepEqual(change.next.keys.map((k) => k.tag), [5, 6, 7]);
    assert.equal(change.next.primary, 6, 'the new primary is a key every node has held for a period');
    // The keys that stay are the same keys.
    assert.deepEqual(change.next.keys.slice(0, 2).map((k) => k.key[0]), [5, 6]);
    assert.equal(change.next.keys[2]!.key[0], 1, 'the new key is fresh');
    assert.equal(change.next.rotatedAt, new Date(T0 + PERIOD).toISOString());
  });

  it('rotates when the last rotation is further in the future than a period (a clock set back)', () => {
    assert.equal(planKeyring(ring([1, 2, 3], 2, T0 + 2 * PERIOD), true, T0, PERIOD, keySource())?.kind, 'rotated');
    assert.equal(planKeyring(ring([1, 2, 3], 2, T0 + PERIOD / 2), true, T0, PERIOD, keySource()), null);
  });

  it('replaces a keyring that does not hold together, with tags after its own', () => {
    const cases: ManagedKeyring[] = [
      ring([1, 2], 1, T0),
      ring([1, 2, 3], 3, T0),
      ring([3, 2, 1], 2, T0),
      { ...ring([1, 2, 3], 2, T0), keys: ring([1, 2, 3], 2, T0).keys.map((k) => ({ ...k, key: Buffer.alloc(16) })) },
      { keys: [], primary: 0, rotatedAt: '' },
    ];
    for (const bad of cases) {
      const change = planKeyring(bad, true, T0, PERIOD, keySource());
      assert.equal(change?.kind, 'replaced', JSON.stringify(bad.keys.map((k) => k.tag)));
      const max = Math.max(0, ...bad.keys.map((k) => k.tag));
      assert.deepEqual(change.next.keys.map((k) => k.tag), [max + 1, max + 2, max + 3]);
    }
  });

  it('refuses a key source that makes keys of the wrong size', () => {
    assert.throws(() => planKeyring(null, true, T0, PERIOD, () => Buffer.alloc(16)), /20 bytes/);
  });

  it('gives agents tags and keys only', () => {
    assert.deepEqual(agentKeyring(ring([1, 2, 3], 2, T0)), { keys: [1, 2, 3].map((tag) => ({ tag, key: Buffer.alloc(20, tag) })), primary: 2 });
  });
});

describe('rotationPeriodMs', () => {
  it('is 12 hours unless the test hook sets at least a second', () => {
    assert.equal(DEFAULT_ROTATION_MS, 12 * HOUR);
    assert.equal(rotationPeriodMs({}), DEFAULT_ROTATION_MS);
    assert.equal(rotationPeriodMs({ TSSWARM_NETWORK_KEY_ROTATION_MS: '4000' }), 4000);
    for (const bad of ['', '999', 'soon', '1.5e3', '-5000']) assert.equal(rotationPeriodMs({ TSSWARM_NETWORK_KEY_ROTATION_MS: bad }), DEFAULT_ROTATION_MS, bad);
  });
});

describe('sealNetworkKeys / openNetworkKeys', () => {
  const dek = Buffer.alloc(32, 5);

  it('round-trips a keyring through its stored form, sealed under the data key (no key material in the clear)', () => {
    const r = ring([7, 8, 9], 8, T0);
    const stored = sealNetworkKeys(r, dek);
    assert.equal(stored.sealing, 'dek');
    assert.equal(JSON.stringify(stored).includes(Buffer.alloc(20, 7).toString('base64')), false);
    assert.deepEqual(openNetworkKeys(JSON.parse(JSON.stringify(stored)) as StoredNetworkKeys, dek), r);
  });

  it('refuses a sealing it does not know, or a data key that does not open it, rather than guessing', () => {
    const stored = sealNetworkKeys(ring([1, 2, 3], 2, T0), dek);
    assert.throws(() => openNetworkKeys({ ...stored, sealing: 'none' as 'dek' }, dek), NetworkKeysUnreadableError);
    assert.throws(() => openNetworkKeys(stored, Buffer.alloc(32, 6)), NetworkKeysUnreadableError);
  });

  it('opens a damaged record into a keyring planKeyring replaces', () => {
    const damaged = { v: 1, sealing: 'dek', data: seal(dek, Keys.networkKeys, JSON.stringify({ keys: [{ tag: 1, key: 'AAAA', createdAt: '' }], primary: 1, rotatedAt: '' })) } as StoredNetworkKeys;
    const opened = openNetworkKeys(damaged, dek);
    assert.equal(planKeyring(opened, true, T0, PERIOD, keySource())?.kind, 'replaced');
  });
});
