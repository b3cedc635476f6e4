/**
 * The overlay data plane (agent/network) on real namespaces: two test hosts joined by a veth
 * underlay (harness/netns-hosts.ts), each with its own HostNetwork in a helper process inside its
 * namespace. Traffic only goes to addresses of namespaces this test created (10.213.0.0/24
 * underlay, 10.214.0.0/16 overlays). `after` stops every process it started (by PID), removes the
 * containers, unmounts what is left under its temp dir and deletes both host namespaces, which
 * takes every link and nft table inside them along, also when assertions fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { macForIp } from '../../agent/network';
import type { Endpoint, OverlaySpec } from '../../agent/network';
import { bridgeName, vxlanName } from '../../agent/network/names';
import { createRuntime } from '../../agent/runtime';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { createHosts, destroyHosts, HostAgent, ip, type TestHost } from './harness/netns-hosts';
import { cleanUpDataPlane, containerConfig, linksIn, makeScratch, mountsUnder, NsRunner, requireRootAndAddon, stop, tablesIn } from './harness/scratch';

requireRootAndAddon('test/integration/overlay.test.ts', 'network namespaces, links, nft tables and containers');

const tag = `tsw${randomBytes(3).toString('hex')}`;
const scratch = makeScratch('ovl', 'tsswarm-ovl-it');
const { tmp, cgroupParent, layer, webLayer } = scratch;
const rt = createRuntime({ root: join(tmp, 'rt'), cgroupParent });

const net1: OverlaySpec = { id: 'ovl-one', vni: 4242, subnet: '10.214.1.0/24', gateway: '10.214.1.1', mtu: 1450, encrypted: false };
const net2: OverlaySpec = { id: 'ovl-two', vni: 4243, subnet: '10.214.2.0/24', gateway: '10.214.2.1', mtu: 1450, encrypted: false };

let hosts: [TestHost, TestHost] | null = null;
let a: HostAgent | null = null;
let b: HostAgent | null = null;
const ns = new NsRunner(5000);
const { inNs, startIn, eventually } = ns;

const ep = (ipAddr: string, hostAddr: string): Endpoint => ({ ip: ipAddr, mac: macForIp(ipAddr), hostAddr });
const attachSpec = (ipAddr: string) => ({ ip: ipAddr, mac: macForIp(ipAddr), ifname: 'eth0', defaultRoute: true });

function agents(): [HostAgent, HostAgent] {
  assert.ok(a !== null && b !== null, 'agents started');
  return [a, b];
}

/**
 * Whether `to` answers within a few tries: right after peers change, a neighbour entry of the
 * sandbox may still be in an earlier, failed resolution whose next probe is up to a second away.
 * A negative answer therefore costs ~3 s; the tests use it sparingly.
 */
function ping(fromNs: string, to: string): boolean {
  for (let i = 0; i < 3; i++) if (inNs(fromNs, ['busybox', 'ping', '-c', '1', '-W', '1', to]).ok) return true;
  return false;
}

before(async () => {
  makeBusyboxRootfs(layer);
  mkdirSync(join(webLayer, 'www'), { recursive: true });
  writeFileSync(join(webLayer, 'www', 'index.html'), 'hello across hosts\n');
  hosts = createHosts(tag);
  a = new HostAgent(hosts[0], { underlayAddr: hosts[0].underlayAddr, netnsDir: join(tmp, 'h1-netns'), prefix: 'ta' });
  b = new HostAgent(hosts[1], { underlayAddr: hosts[1].underlayAddr, netnsDir: join(tmp, 'h2-netns'), prefix: 'tb' });
  for (const x of [a, b]) await x.call('ensureOverlay', net1);
});

after(async () => {
  const problems = await cleanUpDataPlane({ ns, rt, helpers: [a, b], scratch, deleteNamespaces: () => (hosts === null ? [] : destroyHosts(hosts)) });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('overlay data plane across two netns hosts (root)', () => {
  let s1 = '';
  let s2 = '';

  it('sets up bridge + VXLAN without any flood entry, and sandboxes with their address and route', async () => {
    const [ha, hb] = agents();
    s1 = await ha.call<string>('createSandbox', 's1');
    await ha.call('attach', 's1', net1, attachSpec('10.214.1.2'));
    s2 = await hb.call<string>('createSandbox', 's2');
    await hb.call('attach', 's2', net1, attachSpec('10.214.1.3'));
    const h1 = hosts?.[0];
    assert.ok(h1 !== undefined);
    const vx = JSON.parse(ip('-n', h1.name, '-j', '-d', 'link', 'show', vxlanName('ta', net1.id))) as Array<{ mtu: number; master?: string; linkinfo: { info_data: Record<string, unknown> } }>;
    assert.equal(vx[0]?.mtu, 1450);
    assert.equal(vx[0]?.master, bridgeName('ta', net1.id));
    assert.deepEqual([vx[0]?.linkinfo.info_data['id'], vx[0]?.linkinfo.info_data['learning'], vx[0]?.linkinfo.info_data['proxy']], [4242, false, true]);
    assert.doesNotMatch(execFileSync('nsenter', [`--net=${h1.nsPath}`, 'bridge', 'fdb', 'show', 'dev', vxlanName('ta', net1.id)], { encoding: 'utf8' }), /00:00:00:00:00:00/);
    const addr = inNs(s1, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']).out;
    assert.match(addr, /inet 10\.214\.1\.2\/24/);
    assert.match(inNs(s1, ['ip', 'route']).out, /default via 10\.214\.1\.1 dev eth0/);
    assert.match(inNs(s1, ['ip', 'link', 'show', 'eth0']).out, /mtu 1450 .*\n.*link\/ether 02:42:0a:d6:01:02/);
    // Local gateway works; the far sandbox does not: no peer entries and no flooding.
    assert.ok(ping(s1, '10.214.1.1'), 'gateway');
    assert.equal(ping(s1, '10.214.1.3'), false, 'reachable without peer entries');
  });

  it('connects sandboxes across hosts once peers are set (ping and nc)', async () => {
    const [ha, hb] = agents();
    await ha.call('setPeers', net1.id, [ep('10.214.1.3', '10.213.0.2')]);
    await hb.call('setPeers', net1.id, [ep('10.214.1.2', '10.213.0.1')]);
    assert.ok(ping(s1, '10.214.1.3'), 'h1 -> h2');
    assert.ok(ping(s2, '10.214.1.2'), 'h2 -> h1');
    const server = startIn(s2, ['busybox', 'nc', '-l', '-p', '7000']);
    let got = '';
    server.stdout?.on('data', (d: Buffer) => (got += d.toString('utf8')));
    const sent = await eventually('nc connect', () => {
      const r = spawnSync('nsenter', [`--net=${s1}`, 'busybox', 'nc', '-w', '2', '10.214.1.3', '7000'], { input: 'over the overlay\n', timeout: 5000 });
      return r.status === 0 ? true : null;
    });
    assert.ok(sent);
    await eventually('nc data', () => (got.includes('over the overlay') ? true : null));
    stop(server);
  });

  it('keeps another network (other VNI, other subnet) out, even routed through the host', async () => {
    const [ha] = agents();
    await ha.call('ensureOverlay', net2);
    // Forwarding on (as on any real host): isolation must come from the rules, not from routing being off.
    await ha.call('enableEgress', net2);
    const s3 = await ha.call<string>('createSandbox', 's3');
    await ha.call('attach', 's3', net2, attachSpec('10.214.2.2'));
    assert.ok(ping(s3, '10.214.2.1'), 'own gateway');
    assert.equal(ping(s3, '10.214.1.2'), false, 'same host, other network');
    assert.equal(ping(s3, '10.214.1.3'), false, 'other host, other network');
    await ha.call('removeSandbox', 's3');
    await ha.call('removeOverlay', net2.id);
  });

  it('NATs egress: a sandbox reaches the other host underlay as this host', async () => {
    const [ha] = agents();
    const h2 = hosts?.[1];
    assert.ok(h2 !== undefined);
    await ha.call('enableEgress', net1);
    const www = join(tmp, 'who');
    mkdirSync(join(www, 'cgi-bin'), { recursive: true });
    writeFileSync(join(www, 'cgi-bin', 'peer'), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"\n');
    chmodSync(join(www, 'cgi-bin', 'peer'), 0o755);
    const httpd = startIn(h2.nsPath, ['busybox', 'httpd', '-f', '-p', '10.213.0.2:8081', '-h', www]);
    const seen = await eventually('egress http', () => {
      const r = inNs(s1, ['wget', '-q', '-O-', '-T', '2', '-t', '1', 'http://10.213.0.2:8081/cgi-bin/peer']);
      return r.ok ? r.out.trim() : null;
    });
    assert.equal(seen, '10.213.0.1', 'source seen by the other host');
    stop(httpd);
  });

  it('serves a real container in a sandbox to the other host by overlay IP', async () => {
    const [ha, hb] = agents();
    const c1 = await hb.call<string>('createSandbox', 'c1');
    await hb.call('attach', 'c1', net1, attachSpec('10.214.1.10'));
    await ha.call('setPeers', net1.id, [ep('10.214.1.3', '10.213.0.2'), ep('10.214.1.10', '10.213.0.2')]);
    const info = await rt.run(containerConfig(scratch, 'web1', ['httpd', '-f', '-p', '8080', '-h', '/www'], { lowerDirs: [webLayer, layer], netns: c1 }));
    try {
      assert.equal(readdirSync(`/proc/${info.pid}/root/sys/class/net`).sort().join(','), 'eth0,lo', 'sysfs of the sandbox');
      const body = await eventually('httpd across hosts', () => {
        const r = inNs(s1, ['wget', '-q', '-O-', '-T', '2', '-t', '1', 'http://10.214.1.10:8080/']);
        return r.ok ? r.out : null;
      });
      assert.equal(body, 'hello across hosts\n');
    } finally {
      await rt.remove('web1');
    }
    await hb.call('removeSandbox', 'c1');
    assert.equal(existsSync(c1), false, 'netns file removed');
    await ha.call('setPeers', net1.id, [ep('10.214.1.3', '10.213.0.2')]);
  });

  it('cuts traffic when peers are removed, and restores it', async () => {
    const [ha] = agents();
    await ha.call('setPeers', net1.id, []);
    assert.equal(ping(s1, '10.214.1.3'), false);
    await ha.call('setPeers', net1.id, [ep('10.214.1.3', '10.213.0.2')]);
    assert.ok(ping(s1, '10.214.1.3'));
  });

  it('close() leaves no link, netns file, mount or nft table behind', async () => {
    const [ha, hb] = agents();
    await ha.call('close');
    await hb.call('close');
    const [h1, h2] = hosts ?? assert.fail('hosts');
    assert.deepEqual(linksIn(h1), ['lo', 'u1']);
    assert.deepEqual(linksIn(h2), ['lo', 'u2']);
    assert.equal(tablesIn(h1), '');
    assert.equal(tablesIn(h2), '');
    assert.equal(existsSync(join(tmp, 'h1-netns')), false);
    assert.equal(existsSync(join(tmp, 'h2-netns')), false);
    assert.deepEqual(mountsUnder(tmp), []);
  });
});
