import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostNetwork } from '../../../../agent/network/host-network';
import { HostNetworkClosedError, InvalidNetworkConfigError } from '../../../../agent/network/errors';
import { macForIp } from '../../../../shared/net/ipv4';
import { bridgeName, vethName, vxlanName } from '../../../../agent/network/names';
import type { OverlaySpec } from '../../../../agent/network/types';
import { FakeNetSys } from './fake-sys';

const spec: OverlaySpec = { id: 'net1', vni: 4097, subnet: '10.214.1.0/24', gateway: '10.214.1.1', mtu: 1450, encrypted: false };

function setup(): { sys: FakeNetSys; hn: HostNetwork; dir: string; cleanup: () => void } {
  const tmp = mkdtempSync(join(tmpdir(), 'tsswarm-hn-'));
  const dir = join(tmp, 'netns');
  const sys = new FakeNetSys();
  const hn = new HostNetwork({ underlayAddr: '10.213.0.1', netnsDir: dir, prefix: 't1' }, sys);
  return { sys, hn, dir, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

describe('HostNetwork (fake kernel)', () => {
  it('ensureOverlay looks once, then is a no-op for the same spec', async () => {
    const { sys, hn, cleanup } = setup();
    try {
      await Promise.all([hn.ensureOverlay(spec), hn.ensureOverlay(spec)]);
      await hn.ensureOverlay(spec);
      assert.equal(sys.calls.filter((c) => c.argv.join(' ') === 'ip -j -d link show').length, 1);
      assert.equal(sys.batches('ip').length, 1);
      await hn.ensureOverlay({ ...spec, mtu: 1400 });
      assert.equal(sys.batches('ip').length, 2);
    } finally {
      cleanup();
    }
  });
  it('createSandbox + attach: native netns, one ip line, native configure', async () => {
    const { sys, hn, dir, cleanup } = setup();
    try {
      const path = await hn.createSandbox('sb1');
      assert.equal(path, join(dir, 'sb1'));
      assert.ok(existsSync(dir));
      await hn.attach('sb1', spec, { ip: '10.214.1.2', mac: macForIp('10.214.1.2'), ifname: 'eth0', defaultRoute: true });
      assert.deepEqual(sys.native, [`create ${path}`, `configure ${path} eth0 10.214.1.2/24 10.214.1.1`]);
      assert.equal(sys.batches('ip').length, 1);
      assert.equal(sys.batches('ip')[0]?.length, 1);
      await hn.removeSandbox('sb1');
      assert.deepEqual(sys.batches('ip')[1], [`link del ${vethName('t1', 'sb1', 'eth0')}`]);
      assert.equal(sys.native.at(-1), `remove ${path}`);
    } finally {
      cleanup();
    }
  });
  it('attach refuses addresses outside the subnet, the gateway, bad names', async () => {
    const { hn, cleanup } = setup();
    try {
      const ok = { ip: '10.214.1.2', mac: macForIp('10.214.1.2'), ifname: 'eth0', defaultRoute: false };
      await assert.rejects(hn.attach('sb1', spec, { ...ok, ip: '10.214.2.2' }), InvalidNetworkConfigError);
      await assert.rejects(hn.attach('sb1', spec, { ...ok, ip: '10.214.1.1' }), InvalidNetworkConfigError);
      await assert.rejects(hn.attach('sb1', spec, { ...ok, ifname: 'x'.repeat(16) }), InvalidNetworkConfigError);
      await assert.rejects(hn.attach('../sb', spec, ok), InvalidNetworkConfigError);
      await assert.rejects(hn.ensureOverlay({ ...spec, vni: 0 }), InvalidNetworkConfigError);
      await assert.rejects(hn.ensureOverlay({ ...spec, gateway: '10.0.0.1' }), InvalidNetworkConfigError);
    } finally {
      cleanup();
    }
  });
  it('setPeers reads the kernel once, then applies only differences (and drops an all-zeros flood entry)', async () => {
    const { sys, hn, cleanup } = setup();
    const vx = vxlanName('t1', 'net1');
    sys.answers.set(`bridge -j fdb show dev ${vx}`, {
      code: 0,
      stderr: '',
      stdout: JSON.stringify([{ mac: '00:00:00:00:00:00', dst: '10.213.0.9', flags: ['self'], state: 'permanent' }]),
    });
    try {
      const p3 = { ip: '10.214.1.3', mac: macForIp('10.214.1.3'), hostAddr: '10.213.0.2' };
      const p4 = { ip: '10.214.1.4', mac: macForIp('10.214.1.4'), hostAddr: '10.213.0.3' };
      await hn.setPeers('net1', [p3]);
      assert.deepEqual(sys.batches('bridge'), [[`fdb del 00:00:00:00:00:00 dev ${vx} self`, `fdb replace ${p3.mac} dev ${vx} dst 10.213.0.2 self permanent`]]);
      assert.deepEqual(sys.batches('ip'), [[`neigh replace 10.214.1.3 lladdr ${p3.mac} dev ${vx} nud permanent`]]);
      await hn.setPeers('net1', [p3]);
      await hn.setPeers('net1', [p4]);
      assert.equal(sys.calls.filter((c) => c.argv.includes('show')).length, 2, 'kernel read once (fdb + neigh)');
      assert.deepEqual(sys.batches('bridge')[1], [`fdb del ${p3.mac} dev ${vx} self`, `fdb replace ${p4.mac} dev ${vx} dst 10.213.0.3 self permanent`]);
      assert.equal(sys.batches('bridge').length, 2, 'no-op call spawns nothing');
    } finally {
      cleanup();
    }
  });
  it('enableEgress turns forwarding on and writes the table; removeOverlay takes it out again', async () => {
    const { sys, hn, cleanup } = setup();
    try {
      await hn.ensureOverlay(spec);
      await hn.enableEgress(spec);
      assert.ok(sys.native.includes('sysctl /proc/sys/net/ipv4/ip_forward=1'));
      const nft = sys.calls.filter((c) => c.argv[0] === 'nft');
      assert.match(nft.at(-1)?.input ?? '', /masquerade/);
      await hn.removeOverlay('net1');
      assert.equal(sys.calls.filter((c) => c.argv[0] === 'nft').at(-1)?.input, 'table ip tsswarm_t1\ndelete table ip tsswarm_t1\n');
      await assert.rejects(hn.enableEgress(spec), InvalidNetworkConfigError, 'egress needs the overlay');
      assert.deepEqual(sys.batches('ip').at(-1), [`link del ${vxlanName('t1', 'net1')}`, `link del ${bridgeName('t1', 'net1')}`]);
    } finally {
      cleanup();
    }
  });
  it('close sweeps its own links (veths first), the table and the netns files, then refuses calls', async () => {
    const { sys, hn, dir, cleanup } = setup();
    try {
      const own = [bridgeName('t1', 'n'), vxlanName('t1', 'n'), vethName('t1', 's', 'n')];
      sys.answers.set('ip -j link show', { code: 0, stderr: '', stdout: JSON.stringify([{ ifname: 'lo' }, { ifname: 'eth0' }, ...own.map((ifname) => ({ ifname })), { ifname: bridgeName('t2', 'n') }]) });
      await hn.createSandbox('sb1');
      await hn.close();
      assert.deepEqual(sys.batches('ip').at(-1), [`link del ${own[2]}`, `link del ${own[1]}`, `link del ${own[0]}`]);
      assert.equal(sys.calls.filter((c) => c.argv[0] === 'nft').at(-1)?.input, 'table ip tsswarm_t1\ndelete table ip tsswarm_t1\n');
      assert.equal(existsSync(dir), false);
      await assert.rejects(hn.createSandbox('sb2'), HostNetworkClosedError);
      await hn.close();
    } finally {
      cleanup();
    }
  });
});
