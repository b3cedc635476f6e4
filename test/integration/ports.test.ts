/**
 * Published ports (routing mesh and host mode) on real namespaces: three test hosts on a test
 * switch (harness/netns-hosts.ts, underlay 10.213.0.1-3); h1 and h2 run a HostNetwork with an
 * "ingress" overlay (10.214.5.0/24) and node endpoints .250/.251, h3 has no overlay at all and is
 * the outside client. A real container with busybox httpd serves in a sandbox on h2 (10.214.5.2),
 * a UDP echo beside it. Besides the underlay addresses, ports are asked for on 127.0.0.1 from
 * inside h1 and h2 (Docker's routing mesh answers there: the first thing a user tries), which takes
 * route_localnet on the backends' bridge; a probe sandbox on h1 checks that this opens h1's
 * loopback to nothing else. Traffic only goes to addresses of namespaces this test created
 * (127.0.0.1 is h1's or h2's own). `after` stops every process it
 * started (by PID), removes the container, unmounts what is left under its temp dir and deletes the
 * four namespaces (and so every link and nft table in them), also when assertions fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { macForIp } from '../../shared/net/ipv4';
import { bridgeName } from '../../agent/network/names';
import type { PublishedPort } from '../../agent/network/ports';
import type { Endpoint, OverlaySpec } from '../../agent/network/types';
import { createRuntime } from '../../agent/runtime';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { createSwitchedHosts, destroySwitchedHosts, HostAgent, type TestHost } from './harness/netns-hosts';
import { cleanUpDataPlane, containerConfig, linksIn, makeScratch, mountsUnder, NsRunner, requireRootAndAddon, tablesIn } from './harness/scratch';

requireRootAndAddon('test/integration/ports.test.ts', 'network namespaces, links, nft tables and containers');

const tag = `tsp${randomBytes(3).toString('hex')}`;
const scratch = makeScratch('ports', 'tsswarm-ports-it');
const { tmp, cgroupParent, layer, webLayer } = scratch;
const rt = createRuntime({ root: join(tmp, 'rt'), cgroupParent });

const ingress: OverlaySpec = { id: 'ingress', vni: 4096, subnet: '10.214.5.0/24', gateway: '10.214.5.1', mtu: 1450, encrypted: false };
const H1_EP = '10.214.5.250';
const H2_EP = '10.214.5.251';
const TASK = '10.214.5.2';
/** A sandbox on h1's ingress bridge that tries to reach h1's loopback. */
const PROBE = '10.214.5.3';
/** The ingress bridge on h1 and h2 (prefixes pa, pb below). */
const BR = { h1: bridgeName('pa', ingress.id), h2: bridgeName('pb', ingress.id) };

let hosts: [TestHost, TestHost, TestHost] | null = null;
let a: HostAgent | null = null;
let b: HostAgent | null = null;
let web = '';
const ns = new NsRunner(6000);
const { inNs, startIn, eventually } = ns;

const ep = (ipAddr: string, hostAddr: string): Endpoint => ({ ip: ipAddr, mac: macForIp(ipAddr), hostAddr });

function three(): [TestHost, TestHost, TestHost] {
  assert.ok(hosts !== null, 'hosts created');
  return hosts;
}

function agents(): [HostAgent, HostAgent] {
  assert.ok(a !== null && b !== null, 'agents started');
  return [a, b];
}

/** GNU wget (busybox wget -T crashes here) with a short timeout and no retries; body or null. */
function get(fromNs: string, url: string, bind?: string): string | null {
  const r = inNs(fromNs, ['wget', '-q', '-O-', '-T', '2', '-t', '1', ...(bind === undefined ? [] : [`--bind-address=${bind}`]), url]);
  return r.ok ? r.out : null;
}

/** The client address the task's CGI saw (busybox httpd writes IPv4 as `[::ffff:a.b.c.d]`), or null. */
function peerSeen(fromNs: string, url: string, bind?: string): string | null {
  const body = get(fromNs, url, bind);
  return body === null ? null : body.trim().replace(/^\[::ffff:(.*)\]$/, '$1');
}

/** A TCP connection to addr:port from inside a netns: what the server wrote before closing, or null after 1.5 s. */
function tcpAsk(fromNs: string, addr: string, port: number): string | null {
  const script = `const c=require('net').connect(${port},${JSON.stringify(addr)});let d='';const t=setTimeout(()=>process.exit(3),1500);c.on('data',(b)=>d+=b);c.on('error',()=>process.exit(4));c.on('end',()=>{clearTimeout(t);process.stdout.write(d);});`;
  const r = inNs(fromNs, [process.execPath, '-e', script]);
  return r.ok ? r.out : null;
}

/** `net.ipv4.conf.<dev>.route_localnet` inside a test host, as the kernel has it. */
function routeLocalnet(h: TestHost, dev: string): string {
  return execFileSync('nsenter', [`--net=${h.nsPath}`, 'cat', `/proc/sys/net/ipv4/conf/${dev}/route_localnet`], { encoding: 'utf8' }).trim();
}

/** One UDP datagram to addr:port from inside a netns; the answer, or null after 1.5 s. */
function udpAsk(fromNs: string, addr: string, port: number, text: string): string | null {
  const script = `const s=require('dgram').createSocket('udp4');const t=setTimeout(()=>process.exit(3),1500);s.on('message',(m)=>{process.stdout.write(m);clearTimeout(t);s.close();});s.send(process.argv[1],${port},${JSON.stringify(addr)});`;
  const r = inNs(fromNs, [process.execPath, '-e', script, text]);
  return r.ok ? r.out : null;
}

const ingressPort = (snatIp: string, published = 8080): PublishedPort => ({
  protocol: 'tcp',
  published,
  backends: [{ ip: TASK, port: 80 }],
  snat: { networkId: ingress.id, ip: snatIp },
});
const udpPort = (snatIp: string, published = 5353): PublishedPort => ({ protocol: 'udp', published, backends: [{ ip: TASK, port: 5353 }], snat: { networkId: ingress.id, ip: snatIp } });
/** 8080 for tcp (httpd) and for udp (the echo) at once, 5353/udp. */
const ingressSet = (snatIp: string): PublishedPort[] => [ingressPort(snatIp), udpPort(snatIp), udpPort(snatIp, 8080)];
const hostPort: PublishedPort = { protocol: 'tcp', published: 9090, backends: [{ ip: TASK, port: 80 }], snat: null };
const hostUdpPort: PublishedPort = { protocol: 'udp', published: 9090, backends: [{ ip: TASK, port: 5353 }], snat: null };

before(async () => {
  makeBusyboxRootfs(layer);
  // A CGI that answers with the client address the task sees: tells which SNAT happened.
  mkdirSync(join(webLayer, 'www', 'cgi-bin'), { recursive: true });
  writeFileSync(join(webLayer, 'www', 'index.html'), 'published\n');
  writeFileSync(join(webLayer, 'www', 'cgi-bin', 'peer'), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"\n');
  chmodSync(join(webLayer, 'www', 'cgi-bin', 'peer'), 0o755);
  hosts = createSwitchedHosts(tag);
  a = new HostAgent(hosts[0], { underlayAddr: hosts[0].underlayAddr, netnsDir: join(tmp, 'h1-netns'), prefix: 'pa' });
  b = new HostAgent(hosts[1], { underlayAddr: hosts[1].underlayAddr, netnsDir: join(tmp, 'h2-netns'), prefix: 'pb' });
  await a.call('ensureOverlay', ingress);
  await b.call('ensureOverlay', ingress);
  await a.call('setNodeEndpoint', ingress.id, { ip: H1_EP, mac: macForIp(H1_EP) });
  await b.call('setNodeEndpoint', ingress.id, { ip: H2_EP, mac: macForIp(H2_EP) });
  web = await b.call<string>('createSandbox', 'web');
  await b.call('attach', 'web', ingress, { ip: TASK, mac: macForIp(TASK), ifname: 'eth0', defaultRoute: true });
  // The routing mesh's return paths: replies leave through the node a connection came in by.
  await b.call('setMeshReturn', 'web', 'eth0', [H1_EP, H2_EP]);
  await a.call('setPeers', ingress.id, [ep(H2_EP, hosts[1].underlayAddr), ep(TASK, hosts[1].underlayAddr)]);
  await b.call('setPeers', ingress.id, [ep(H1_EP, hosts[0].underlayAddr)]);
  await rt.run(containerConfig(scratch, 'web', ['httpd', '-f', '-p', '80', '-h', '/www'], { lowerDirs: [webLayer, layer], netns: web }));
  // UDP echo in the same sandbox (a process in its netns, not a container: cheaper, same path).
  startIn(web, [
    process.execPath,
    '-e',
    "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo '),m]),r.port,r.address));s.bind(5353);",
  ]);
});

after(async () => {
  const problems = await cleanUpDataPlane({ ns, rt, helpers: [a, b], scratch, deleteNamespaces: () => destroySwitchedHosts(tag, hosts ?? []) });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('published ports across three netns hosts (root)', () => {
  it('the task answers on the overlay from h1 before any port is published, and h3 cannot reach it', async () => {
    const [h1, , h3] = three();
    // From the node endpoint: the gateway address (the default source) is h2's own as well.
    assert.equal(await eventually('overlay h1 -> task', () => get(h1.nsPath, `http://${TASK}/`, H1_EP)), 'published\n');
    assert.equal(get(h3.nsPath, 'http://10.213.0.1:8080/'), null, 'nothing published yet');
  });

  it("ingress: h3 reaches the task through h1 (no task there) and h2, and the task sees h3's own address", async () => {
    const [ha, hb] = agents();
    const [, , h3] = three();
    await ha.call('setPublishedPorts', ingressSet(H1_EP));
    await hb.call('setPublishedPorts', ingressSet(H2_EP));
    await ha.call('setPublishedPorts', ingressSet(H1_EP)); // idempotent
    assert.equal(await eventually('h3 -> h1:8080', () => get(h3.nsPath, 'http://10.213.0.1:8080/')), 'published\n');
    assert.equal(await eventually('h3 -> h2:8080', () => get(h3.nsPath, 'http://10.213.0.2:8080/')), 'published\n');
    assert.equal(peerSeen(h3.nsPath, 'http://10.213.0.1:8080/cgi-bin/peer'), '10.213.0.3', 'the client, through h1 (the reply went back through h1)');
    assert.equal(peerSeen(h3.nsPath, 'http://10.213.0.2:8080/cgi-bin/peer'), '10.213.0.3', 'the client, through h2');
    // Many connections in a row, each answered through the node it came in by.
    for (let i = 0; i < 5; i++) for (const via of ['10.213.0.1', '10.213.0.2']) assert.equal(get(h3.nsPath, `http://${via}:8080/`), 'published\n', `h3 -> ${via} #${i}`);
  });

  it('ingress UDP: a datagram to h1:5353 is answered by the task on h2', async () => {
    const [, , h3] = three();
    assert.equal(await eventually('udp h3 -> h1:5353', () => udpAsk(h3.nsPath, '10.213.0.1', 5353, 'hi')), 'echo hi');
    assert.equal(await eventually('udp h3 -> h2:5353', () => udpAsk(h3.nsPath, '10.213.0.2', 5353, 'ho')), 'echo ho');
    // 8080 is published for tcp and udp at once: each protocol reaches its own backend port.
    assert.equal(await eventually('udp h3 -> h1:8080', () => udpAsk(h3.nsPath, '10.213.0.1', 8080, 'both')), 'echo both');
    assert.equal(get(h3.nsPath, 'http://10.213.0.1:8080/'), 'published\n', 'tcp 8080 still httpd');
  });

  it('a process on h1 itself reaches its own address:8080 (output chain)', async () => {
    const [h1] = three();
    assert.equal(await eventually('h1 -> 10.213.0.1:8080', () => get(h1.nsPath, 'http://10.213.0.1:8080/')), 'published\n');
    assert.equal(peerSeen(h1.nsPath, 'http://10.213.0.1:8080/cgi-bin/peer'), '10.213.0.1', 'h1 itself, as it is');
  });

  it('127.0.0.1 on h1 (task on h2): tcp and udp answer, SNAT to the node endpoint, on any loopback address', async () => {
    const [h1] = three();
    assert.equal(routeLocalnet(h1, BR.h1), '1', 'route_localnet on the ingress bridge');
    assert.equal(routeLocalnet(h1, 'u1'), '0', 'and on nothing else');
    assert.equal(routeLocalnet(h1, 'all'), '0', 'nor for all interfaces');
    assert.equal(await eventually('h1 -> 127.0.0.1:8080', () => get(h1.nsPath, 'http://127.0.0.1:8080/')), 'published\n');
    assert.equal(peerSeen(h1.nsPath, 'http://127.0.0.1:8080/cgi-bin/peer'), H1_EP, 'task sees h1 node endpoint, not 127.0.0.1');
    assert.equal(get(h1.nsPath, 'http://127.0.0.2:8080/'), 'published\n', '127.0.0.2 too');
    assert.equal(get(h1.nsPath, `http://${ingress.gateway}:8080/`), 'published\n', 'the bridge address too');
    assert.equal(await eventually('udp h1 -> 127.0.0.1:5353', () => udpAsk(h1.nsPath, '127.0.0.1', 5353, 'lo')), 'echo lo');
    assert.equal(await eventually('udp h1 -> 127.0.0.1:8080', () => udpAsk(h1.nsPath, '127.0.0.1', 8080, 'lo8080')), 'echo lo8080');
  });

  it('127.0.0.1 on h2 (task on h2 itself): tcp and udp answer, SNAT to the node endpoint', async () => {
    const [, h2] = three();
    assert.equal(routeLocalnet(h2, BR.h2), '1');
    assert.equal(await eventually('h2 -> 127.0.0.1:8080', () => get(h2.nsPath, 'http://127.0.0.1:8080/')), 'published\n');
    assert.equal(peerSeen(h2.nsPath, 'http://127.0.0.1:8080/cgi-bin/peer'), H2_EP);
    assert.equal(await eventually('udp h2 -> 127.0.0.1:5353', () => udpAsk(h2.nsPath, '127.0.0.1', 5353, 'lo2')), 'echo lo2');
    assert.equal(await eventually('udp h2 -> 127.0.0.1:8080', () => udpAsk(h2.nsPath, '127.0.0.1', 8080, 'lo2b')), 'echo lo2b');
  });

  it("route_localnet opens nothing else: a sandbox on h1's ingress bridge cannot reach h1's loopback", async () => {
    const [ha] = agents();
    const [h1] = three();
    // A server on every address of h1 (so on 127.0.0.1 as well): what the probe may and may not reach.
    startIn(h1.nsPath, [process.execPath, '-e', "require('net').createServer((c)=>c.end('host\\n')).listen(7777);"]);
    const probe = await ha.call<string>('createSandbox', 'probe');
    try {
      await ha.call('attach', 'probe', ingress, { ip: PROBE, mac: macForIp(PROBE), ifname: 'eth0', defaultRoute: true });
      assert.equal(await eventually('probe -> h1 gateway:7777', () => tcpAsk(probe, ingress.gateway, 7777)), 'host\n', 'the path to h1 works');
      // A sandbox that sends to 127.0.0.1 through its gateway: its own route_localnet, and the
      // local table moved behind a rule that routes 127.0.0.1 via the gateway.
      const setup = [
        'sysctl -qw net.ipv4.conf.eth0.route_localnet=1',
        'ip rule add pref 100 lookup local',
        'ip rule del pref 0',
        `ip route add 127.0.0.1/32 via ${ingress.gateway} dev eth0 table 100`,
        'ip rule add pref 10 to 127.0.0.1 lookup 100',
      ].join(' && ');
      const r = inNs(probe, ['sh', '-c', setup]);
      assert.ok(r.ok, `probe routing: ${r.out}`);
      assert.match(inNs(probe, ['ip', 'route', 'get', '127.0.0.1']).out, /via 10\.214\.5\.1 dev eth0/);
      assert.equal(tcpAsk(probe, '127.0.0.1', 7777), null, "h1's loopback is not reachable from its bridge");
      assert.equal(tcpAsk(probe, ingress.gateway, 7777), 'host\n', 'while the same server answers on the gateway');
    } finally {
      await ha.call('removeSandbox', 'probe');
    }
  });

  it('host mode on h2: 9090 answers at h2 without SNAT, h1 does not answer 9090', async () => {
    const [, hb] = agents();
    const [, , h3] = three();
    await hb.call('setPublishedPorts', [...ingressSet(H2_EP), hostPort, hostUdpPort]);
    assert.equal(await eventually('h3 -> h2:9090', () => get(h3.nsPath, 'http://10.213.0.2:9090/')), 'published\n');
    assert.equal(peerSeen(h3.nsPath, 'http://10.213.0.2:9090/cgi-bin/peer'), '10.213.0.3', 'client address kept');
    assert.equal(await eventually('udp h3 -> h2:9090', () => udpAsk(h3.nsPath, '10.213.0.2', 9090, 'hm')), 'echo hm');
    assert.equal(get(h3.nsPath, 'http://10.213.0.1:9090/'), null, 'h1 publishes no 9090');
    assert.equal(get(h3.nsPath, 'http://10.213.0.2:8080/'), 'published\n', 'ingress still there');
  });

  it('host mode on 127.0.0.1 of h2: tcp and udp answer, the loopback source masqueraded to an address of h2', async () => {
    const [h1, h2] = three();
    assert.equal(await eventually('h2 -> 127.0.0.1:9090', () => get(h2.nsPath, 'http://127.0.0.1:9090/')), 'published\n');
    const seen = peerSeen(h2.nsPath, 'http://127.0.0.1:9090/cgi-bin/peer');
    assert.ok(seen === ingress.gateway || seen === H2_EP, `task sees an address of h2 on its bridge, not 127.0.0.1: ${seen}`);
    assert.equal(await eventually('udp h2 -> 127.0.0.1:9090', () => udpAsk(h2.nsPath, '127.0.0.1', 9090, 'hmlo')), 'echo hmlo');
    assert.equal(get(h1.nsPath, 'http://127.0.0.1:9090/'), null, 'h1 publishes no 9090, on loopback neither');
  });

  it('a port with no backend is closed; setPublishedPorts([]) closes everything', async () => {
    const [ha, hb] = agents();
    const [, , h3] = three();
    await ha.call('setPublishedPorts', [{ ...ingressPort(H1_EP), backends: [] }]);
    assert.equal(get(h3.nsPath, 'http://10.213.0.1:8080/'), null, 'h1:8080 without backends');
    await ha.call('setPublishedPorts', []);
    await hb.call('setPublishedPorts', []);
    assert.equal(get(h3.nsPath, 'http://10.213.0.2:8080/'), null, 'h2:8080 after []');
    assert.equal(get(h3.nsPath, 'http://10.213.0.2:9090/'), null, 'h2:9090 after []');
    assert.equal(udpAsk(h3.nsPath, '10.213.0.1', 5353, 'x'), null, 'h1:5353/udp after []');
    const [h1, h2] = three();
    assert.equal(get(h1.nsPath, 'http://127.0.0.1:8080/'), null, 'h1 127.0.0.1:8080 after []');
    assert.equal(udpAsk(h2.nsPath, '127.0.0.1', 9090, 'x'), null, 'h2 127.0.0.1:9090/udp after []');
    assert.equal(routeLocalnet(h1, BR.h1), '0', 'route_localnet off again on h1');
    assert.equal(routeLocalnet(h2, BR.h2), '0', 'route_localnet off again on h2');
    // The overlay itself still works, and the node endpoint is still there.
    assert.equal(peerSeen(three()[0].nsPath, `http://${TASK}/cgi-bin/peer`, H1_EP), H1_EP);
  });

  it('setNodeEndpoint(null) gives the bridge its gateway MAC back and drops the address', async () => {
    const [ha] = agents();
    const [h1] = three();
    const show = (): string => execFileSync('nsenter', [`--net=${h1.nsPath}`, 'ip', '-o', 'addr', 'show'], { encoding: 'utf8' });
    assert.match(show(), new RegExp(`inet ${H1_EP.replace(/\./g, '\\.')}/24`));
    await ha.call('setNodeEndpoint', ingress.id, null);
    assert.doesNotMatch(show(), /10\.214\.5\.250/);
    const links = execFileSync('nsenter', [`--net=${h1.nsPath}`, 'ip', '-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' });
    assert.match(links, new RegExp(macForIp(ingress.gateway)));
  });

  it('close() leaves no link, netns file, mount or nft table behind', async () => {
    const [ha, hb] = agents();
    await rt.remove('web');
    await ha.call('close');
    await hb.call('close');
    const [h1, h2] = three();
    assert.deepEqual(linksIn(h1), ['lo', 'u1']);
    assert.deepEqual(linksIn(h2), ['lo', 'u2']);
    assert.equal(tablesIn(h1), '');
    assert.equal(tablesIn(h2), '');
    assert.equal(existsSync(join(tmp, 'h1-netns')), false);
    assert.equal(existsSync(join(tmp, 'h2-netns')), false);
    assert.deepEqual(mountsUnder(tmp), []);
  });
});
