import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadDispatcher } from '../../../../shared/proto/load';
import { networkViewFromWire, networkViewToWire, type NetworkView, type WireNetworkView } from '../../../../shared/proto/codec';
import { networkKeysFromWire, networkKeysToWire, type WireNetworkKeys } from '../../../../shared/proto/network-keys';
import { emptyKeyring, keyringProblem, type NetworkKeyring } from '../../../../shared/network-keys';

type Assignments = { full: boolean; tasks: never[]; removed: string[]; networks?: WireNetworkView[] } & Partial<WireNetworkKeys>;
const session = loadDispatcher().Dispatcher.service['Session'] as MethodDefinition<unknown, { assignments?: Assignments }>;
const roundTrip = (a: Assignments): Assignments => session.responseDeserialize(session.responseSerialize({ assignments: a })).assignments!;

const ring: NetworkKeyring = { keys: [7, 8, 9].map((tag) => ({ tag, key: Buffer.alloc(20, tag) })), primary: 8 };
const view: NetworkView = { id: 'n1', name: 'shop_secure', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', peers: [], dns: [], vips: [], localIp: null, encrypted: true };

describe('network keys on the wire (through protobuf bytes)', () => {
  it('carries the ring when it changed', () => {
    const back = roundTrip({ full: false, tasks: [], removed: [], ...networkKeysToWire(ring) });
    assert.deepEqual(networkKeysFromWire(back), ring);
  });

  it('tells "no keys" (an empty ring) from "unchanged" (null)', () => {
    assert.deepEqual(networkKeysFromWire(roundTrip({ full: false, tasks: [], removed: [], ...networkKeysToWire(emptyKeyring()) })), emptyKeyring());
    assert.equal(networkKeysFromWire(roundTrip({ full: false, tasks: [], removed: [], ...networkKeysToWire(null) })), null);
    // A manager older than encrypted networks sends none of these fields.
    assert.equal(networkKeysFromWire(roundTrip({ full: true, tasks: [], removed: [] })), null);
  });

  it('carries the encrypted flag of a network view', () => {
    const back = roundTrip({ full: false, tasks: [], removed: [], networks: [networkViewToWire(view)] });
    assert.deepEqual(networkViewFromWire(back.networks![0]!), view);
    const plainBack = roundTrip({ full: false, tasks: [], removed: [], networks: [networkViewToWire({ ...view, encrypted: false })] });
    assert.equal(networkViewFromWire(plainBack.networks![0]!).encrypted, false);
  });
});

describe('keyringProblem', () => {
  it('accepts a whole ring and the empty one', () => {
    assert.equal(keyringProblem(ring), null);
    assert.equal(keyringProblem(emptyKeyring()), null);
  });

  it('names what is wrong', () => {
    assert.match(keyringProblem({ ...ring, primary: 1 }) ?? '', /primary key 1 is not in the keyring/);
    assert.match(keyringProblem({ keys: [ring.keys[0]!, ring.keys[0]!], primary: 7 }) ?? '', /appears twice/);
    assert.match(keyringProblem({ keys: [{ tag: 0, key: Buffer.alloc(20) }], primary: 0 }) ?? '', /positive/);
    assert.match(keyringProblem({ keys: [{ tag: 1, key: Buffer.alloc(32) }], primary: 1 }) ?? '', /32 bytes, not 20/);
    assert.match(keyringProblem({ keys: [], primary: 3 }) ?? '', /no keys/);
  });
});
