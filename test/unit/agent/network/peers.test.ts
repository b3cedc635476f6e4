import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desiredPeerState, diffPeers, emptyPeerState, isEmptyDiff, parseFdbJson, parseNeighJson, type PeerState } from '../../../../agent/network/peers';
import { InvalidNetworkConfigError } from '../../../../agent/network/errors';
import { macForIp } from '../../../../shared/net/ipv4';
import type { Endpoint } from '../../../../agent/network/types';

const ep = (ip: string, hostAddr: string): Endpoint => ({ ip, mac: macForIp(ip), hostAddr });

describe('peer diffing', () => {
  const cases: Array<{ name: string; current: Endpoint[]; desired: Endpoint[]; expect: { fdbSet: number; fdbDel: number; neighSet: number; neighDel: number } }> = [
    { name: 'nothing to nothing', current: [], desired: [], expect: { fdbSet: 0, fdbDel: 0, neighSet: 0, neighDel: 0 } },
    { name: 'first peers', current: [], desired: [ep('10.214.1.3', '10.213.0.2'), ep('10.214.1.4', '10.213.0.3')], expect: { fdbSet: 2, fdbDel: 0, neighSet: 2, neighDel: 0 } },
    { name: 'unchanged', current: [ep('10.214.1.3', '10.213.0.2')], desired: [ep('10.214.1.3', '10.213.0.2')], expect: { fdbSet: 0, fdbDel: 0, neighSet: 0, neighDel: 0 } },
    { name: 'one gone', current: [ep('10.214.1.3', '10.213.0.2'), ep('10.214.1.4', '10.213.0.2')], desired: [ep('10.214.1.3', '10.213.0.2')], expect: { fdbSet: 0, fdbDel: 1, neighSet: 0, neighDel: 1 } },
    // Same IP (and so MAC) now on another host: only the FDB destination changes.
    { name: 'moved host', current: [ep('10.214.1.3', '10.213.0.2')], desired: [ep('10.214.1.3', '10.213.0.3')], expect: { fdbSet: 1, fdbDel: 0, neighSet: 0, neighDel: 0 } },
    { name: 'all gone', current: [ep('10.214.1.3', '10.213.0.2')], desired: [], expect: { fdbSet: 0, fdbDel: 1, neighSet: 0, neighDel: 1 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = diffPeers(desiredPeerState(c.current), desiredPeerState(c.desired));
      assert.deepEqual(
        { fdbSet: d.fdbSet.length, fdbDel: d.fdbDel.length, neighSet: d.neighSet.length, neighDel: d.neighDel.length },
        c.expect,
      );
      assert.equal(isEmptyDiff(d), Object.values(c.expect).every((n) => n === 0));
    });
  }
  it('says exactly what to change', () => {
    const current: PeerState = { fdb: new Map([['02:42:0a:d6:01:09', '10.213.0.9']]), neigh: new Map([['10.214.1.9', '02:42:0a:d6:01:09']]) };
    const d = diffPeers(current, desiredPeerState([ep('10.214.1.3', '10.213.0.2')]));
    assert.deepEqual(d, {
      fdbSet: [{ mac: '02:42:0a:d6:01:03', hostAddr: '10.213.0.2' }],
      fdbDel: ['02:42:0a:d6:01:09'],
      neighSet: [{ ip: '10.214.1.3', mac: '02:42:0a:d6:01:03' }],
      neighDel: ['10.214.1.9'],
    });
  });
  it('rejects contradictory endpoints', () => {
    assert.throws(() => desiredPeerState([ep('10.214.1.3', '10.213.0.2'), { ip: '10.214.1.3', mac: '02:42:00:00:00:01', hostAddr: '10.213.0.2' }]), InvalidNetworkConfigError);
    assert.throws(() => desiredPeerState([ep('10.214.1.3', '10.213.0.2'), ep('10.214.1.3', '10.213.0.3')]), InvalidNetworkConfigError);
    assert.throws(() => desiredPeerState([{ ip: '10.214.1.3', mac: 'nope', hostAddr: '10.213.0.2' }]), InvalidNetworkConfigError);
    assert.deepEqual(desiredPeerState([ep('10.214.1.3', '10.213.0.2'), ep('10.214.1.3', '10.213.0.2')]).fdb.size, 1);
    assert.equal(emptyPeerState().fdb.size, 0);
  });
});

describe('kernel state parsing', () => {
  it('keeps only remote FDB entries the device holds itself', () => {
    const json = JSON.stringify([
      { mac: '02:42:0A:D6:01:03', dst: '10.213.0.2', flags: ['self'], state: 'permanent' },
      { mac: '8e:11:22:33:44:55', flags: [], master: 'tbr', state: 'permanent' },
      { mac: '00:00:00:00:00:00', dst: '10.213.0.7', flags: ['self'], state: 'permanent' },
    ]);
    assert.deepEqual([...parseFdbJson(json)], [['02:42:0a:d6:01:03', '10.213.0.2'], ['00:00:00:00:00:00', '10.213.0.7']]);
    assert.equal(parseFdbJson('').size, 0);
  });
  it('keeps permanent neighbours', () => {
    const json = JSON.stringify([
      { dst: '10.214.1.3', lladdr: '02:42:0a:d6:01:03', state: ['PERMANENT'] },
      { dst: '10.214.1.8', lladdr: '02:42:0a:d6:01:08', state: ['STALE'] },
      { dst: '10.214.1.9', state: ['FAILED'] },
    ]);
    assert.deepEqual([...parseNeighJson(json)], [['10.214.1.3', '02:42:0a:d6:01:03']]);
  });
});
