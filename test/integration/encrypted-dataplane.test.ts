/**
 * The encrypted overlay data plane (agent/network/encryption) on real namespaces, below the
 * cluster: two test hosts joined by a veth underlay (harness/netns-hosts.ts), each with its own
 * HostNetwork in a helper process inside its namespace, an encrypted and a plain overlay side by
 * side. What it checks on the underlay (tcpdump on the veth): ESP between the two hosts and not a
 * byte of what the sandboxes sent on the encrypted network, plain VXLAN (marker readable) on the
 * other; a key rotation applied to one host before the other loses nothing; plaintext VXLAN for
 * the encrypted VNI sent from the other host is not delivered; removing the network removes the
 * TUN device, the rule and the ESP helper. Traffic only goes to addresses of namespaces this test
 * created. `after` stops every process it started (by PID) and deletes both namespaces.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { macForIp } from '../../agent/network';
import type { Endpoint, OverlaySpec } from '../../agent/network';
import { espIds } from '../../agent/network/encryption/ids';
import { saKeyFor, spiFor } from '../../agent/network/encryption/sa';
import { vxlanName } from '../../agent/network/names';
import { createRuntime } from '../../agent/runtime';
import { createHosts, destroyHosts, HostAgent, ip, type TestHost } from './harness/netns-hosts';
import { cleanUpDataPlane, makeScratch, NsRunner, requireRootAndAddon, stop } from './harness/scratch';

requireRootAndAddon('test/integration/encrypted-dataplane.test.ts', 'network namespaces, links, TUN devices, nft tables and routing rules');
if (spawnSync('tcpdump', ['--version']).status !== 0) throw new Error('tcpdump missing: run scripts/setup.sh');

const tag = `tse${randomBytes(3).toString('hex')}`;
const scratch = makeScratch('espdp', 'tsswarm-espdp-it');
const { tmp } = scratch;
const rt = createRuntime({ root: join(tmp, 'rt'), cgroupParent: scratch.cgroupParent });

const enc: OverlaySpec = { id: 'enc-net', vni: 4311, subnet: '10.214.11.0/24', gateway: '10.214.11.1', mtu: 1416, encrypted: true };
const plain: OverlaySpec = { id: 'plain-net', vni: 4312, subnet: '10.214.12.0/24', gateway: '10.214.12.1', mtu: 1450, encrypted: false };

let hosts: [TestHost, TestHost] | null = null;
let a: HostAgent | null = null;
let b: HostAgent | null = null;
const ns = new NsRunner(8000);
const { inNs, startIn, eventually } = ns;
const captures: ChildProcess[] = [];

const ep = (ipAddr: string, hostAddr: string): Endpoint => ({ ip: ipAddr, mac: macForIp(ipAddr), hostAddr });
const attachSpec = (ipAddr: string) => ({ ip: ipAddr, mac: macForIp(ipAddr), ifname: 'eth0', defaultRoute: true });

/** A keyring as the harness helper takes it: tags `first`..`first+2`, the middle one primary. */
function ring(first: number, keys: Map<number, string>): { primary: number; keys: Array<{ tag: number; key: string }> } {
  const tags = [first, first + 1, first + 2];
  for (const t of tags) if (!keys.has(t)) keys.set(t, randomBytes(20).toString('hex'));
  return { primary: first + 1, keys: tags.map((t) => ({ tag: t, key: keys.get(t)! })) };
}

function agents(): [HostAgent, HostAgent, TestHost, TestHost] {
  assert.ok(a !== null && b !== null && hosts !== null, 'agents started');
  return [a, b, hosts[0], hosts[1]];
}

function ping(fromNs: string, to: string): boolean {
  for (let i = 0; i < 3; i++) if (inNs(fromNs, ['busybox', 'ping', '-c', '1', '-W', '1', to]).ok) return true;
  return false;
}

/** tcpdump on the host's underlay veth into a pcap file; stop() ends it and returns the file's bytes. */
async function capture(h: TestHost, dev: string, file: string): Promise<{ stop: () => Promise<Buffer>; log: () => string }> {
  // -Z root: Debian's tcpdump otherwise gives up root before it opens the file (in a 0700 directory).
  // --immediate-mode: every packet is written as it comes (else a block of them waits up to a second).
  const p = spawn('nsenter', [`--net=${h.nsPath}`, 'tcpdump', '-Z', 'root', '--immediate-mode', '-i', dev, '-n', '-U', '-s', '0', '-w', file, 'not arp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  captures.push(p);
  let err = '';
  p.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  await eventually('tcpdump listening', () => (err.includes('listening on') ? true : null));
  return {
    log: () => err,
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300));
      if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, 'SIGINT');
      await new Promise((r) => (p.exitCode === null && p.signalCode === null ? p.on('exit', r) : r(null)));
      return readFileSync(file);
    },
  };
}

/** The IPv4 packets of a pcap file (Ethernet link type), as tcpdump -w writes it. */
function pcapPackets(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 24; off + 16 <= bytes.length; ) {
    const len = bytes.readUInt32LE(off + 8);
    const frame = bytes.subarray(off + 16, off + 16 + len);
    if (frame.length > 14 && frame.readUInt16BE(12) === 0x0800) out.push(frame.subarray(14));
    off += 16 + len;
  }
  return out;
}

/**
 * Opens an ESP packet the way RFC 4303/4106 say, with node's own AES-GCM (not the helper's code):
 * the SA key is 16 bytes of AES key and a 4-byte salt, the nonce salt + the 8-byte IV, the AAD SPI
 * and the 64-bit sequence number. Returns the inner payload (what followed the IP header), or null.
 */
function openEsp(ipPacket: Buffer, key: Buffer): { spi: number; next: number; payload: Buffer } | null {
  const ihl = (ipPacket[0]! & 0x0f) * 4;
  if (ipPacket[9] !== 50) return null;
  const esp = ipPacket.subarray(ihl, ipPacket.readUInt16BE(2));
  const spi = esp.readUInt32BE(0);
  const iv = esp.subarray(8, 16);
  const aad = Buffer.concat([esp.subarray(0, 4), iv.subarray(0, 4), esp.subarray(4, 8)]);
  const body = esp.subarray(16, esp.length - 16);
  const d = createDecipheriv('aes-128-gcm', key.subarray(0, 16), Buffer.concat([key.subarray(16, 20), iv]));
  d.setAAD(aad);
  d.setAuthTag(esp.subarray(esp.length - 16));
  try {
    const plain = Buffer.concat([d.update(body), d.final()]);
    const pad = plain[plain.length - 2]!;
    return { spi, next: plain[plain.length - 1]!, payload: plain.subarray(0, plain.length - 2 - pad) };
  } catch {
    return null;
  }
}

/** tcpdump's one-line reading of a pcap file. */
function readPcap(file: string): string {
  const r = spawnSync('tcpdump', ['-r', file, '-n', '-v'], { encoding: 'utf8' });
  return `${r.stdout}${r.status === 0 ? '' : r.stderr}`;
}

/** Sends `text` over TCP from one sandbox to a listener in another; resolves with what arrived. */
async function tcpSend(fromNs: string, toNs: string, toIp: string, port: number, text: string): Promise<string> {
  const server = startIn(toNs, ['busybox', 'nc', '-l', '-p', String(port)]);
  let got = '';
  server.stdout?.on('data', (d: Buffer) => (got += d.toString('utf8')));
  await eventually(`nc to ${toIp}:${port}`, () => {
    const r = spawnSync('nsenter', [`--net=${fromNs}`, 'busybox', 'nc', '-w', '2', toIp, String(port)], { input: text, timeout: 6000 });
    return r.status === 0 ? true : null;
  });
  await eventually('nc data', () => (got.includes(text.trim()) ? true : null));
  stop(server);
  return got;
}

/** Processes whose command line names this test's scratch directory (the ESP helpers among them). */
function espHelpers(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('/tsswarm-esp') && argv.some((x) => x.startsWith(tmp))) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A VXLAN datagram with one Ethernet frame: IPv4/UDP from `src` to `dst` (the test's own addresses). */
function vxlanFrame(vni: number, src: string, dst: string, port: number, payload: string): Buffer {
  const data = Buffer.from(payload);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(port, 2);
  udp.writeUInt16BE(8 + data.length, 4);
  const iph = Buffer.alloc(20);
  iph[0] = 0x45;
  iph.writeUInt16BE(20 + 8 + data.length, 2);
  iph[8] = 64;
  iph[9] = 17;
  Buffer.from(src.split('.').map(Number)).copy(iph, 12);
  Buffer.from(dst.split('.').map(Number)).copy(iph, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += iph.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  iph.writeUInt16BE(~sum & 0xffff, 10);
  const mac = (x: string) => Buffer.from(macForIp(x).split(':').map((h) => parseInt(h, 16)));
  const eth = Buffer.concat([mac(dst), mac(src), Buffer.from([0x08, 0x00])]);
  const vx = Buffer.alloc(8);
  vx[0] = 0x08;
  vx.writeUIntBE(vni, 4, 3);
  return Buffer.concat([vx, eth, iph, udp, data]);
}

/** Sends a datagram from inside a network namespace (node's dgram, run there). */
function sendUdpFrom(nsPath: string, to: string, port: number, frame: Buffer): void {
  const js = `const s=require('dgram').createSocket('udp4');s.send(Buffer.from('${frame.toString('hex')}','hex'),${port},'${to}',()=>s.close());`;
  const r = spawnSync('nsenter', [`--net=${nsPath}`, process.execPath, '-e', js], { encoding: 'utf8', timeout: 5000 });
  assert.equal(r.status, 0, r.stderr);
}

/** A UDP listener inside a network namespace (busybox nc has no UDP): what it received so far. */
function udpListen(nsPath: string, port: number): { got: () => string; child: ChildProcess } {
  const js = `require('dgram').createSocket('udp4').on('message',(m)=>process.stdout.write(m)).bind(${port});`;
  const child = startIn(nsPath, [process.execPath, '-e', js]);
  let got = '';
  child.stdout?.on('data', (d: Buffer) => (got += d.toString('utf8')));
  return { got: () => got, child };
}

/** A third namespace on a second underlay link of host 1 (10.213.9.0/24): a host of no cluster. */
const strangerNs = `${tag}-x`;

before(async () => {
  hosts = createHosts(tag);
  ip('netns', 'add', strangerNs);
  ip('-n', hosts[0].name, 'link', 'add', 'ux', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', strangerNs);
  ip('-n', hosts[0].name, 'addr', 'add', '10.213.9.1/24', 'dev', 'ux');
  ip('-n', hosts[0].name, 'link', 'set', 'ux', 'up');
  ip('-n', strangerNs, 'addr', 'add', '10.213.9.2/24', 'dev', 'eth0');
  ip('-n', strangerNs, 'link', 'set', 'eth0', 'up');
  a = new HostAgent(hosts[0], { underlayAddr: hosts[0].underlayAddr, netnsDir: join(tmp, 'h1-netns'), prefix: 'ea' });
  b = new HostAgent(hosts[1], { underlayAddr: hosts[1].underlayAddr, netnsDir: join(tmp, 'h2-netns'), prefix: 'eb' });
});

after(async () => {
  for (const c of captures) stop(c);
  const problems = await cleanUpDataPlane({ ns, rt, helpers: [a, b], scratch, deleteNamespaces: () => (hosts === null ? [] : destroyHosts([...hosts, { name: strangerNs, nsPath: `/run/netns/${strangerNs}`, underlayAddr: '' }])) });
  // A helper the HostNetworks did not stop is a leak (and would still hold keys).
  for (const pid of espHelpers()) {
    problems.push(`ESP helper ${pid} still running`);
    process.kill(pid, 'SIGKILL');
  }
  assert.deepEqual(problems, [], 'cleanup');
});

describe('encrypted overlay data plane across two netns hosts (root)', () => {
  const keys = new Map<number, string>();
  let s1e = '';
  let s2e = '';
  let s1p = '';
  let s2p = '';

  it('sets up both networks; an encrypted one reaches no other host before it has keys', async () => {
    const [ha, hb] = agents();
    for (const x of [ha, hb]) {
      await x.call('ensureOverlay', enc);
      await x.call('ensureOverlay', plain);
    }
    s1e = await ha.call<string>('createSandbox', 's1e');
    await ha.call('attach', 's1e', enc, attachSpec('10.214.11.2'));
    s2e = await hb.call<string>('createSandbox', 's2e');
    await hb.call('attach', 's2e', enc, attachSpec('10.214.11.3'));
    s1p = await ha.call<string>('createSandbox', 's1p');
    await ha.call('attach', 's1p', plain, attachSpec('10.214.12.2'));
    s2p = await hb.call<string>('createSandbox', 's2p');
    await hb.call('attach', 's2p', plain, attachSpec('10.214.12.3'));
    await ha.call('setPeers', enc.id, [ep('10.214.11.3', '10.213.0.2')]);
    await hb.call('setPeers', enc.id, [ep('10.214.11.2', '10.213.0.1')]);
    await ha.call('setPeers', plain.id, [ep('10.214.12.3', '10.213.0.2')]);
    await hb.call('setPeers', plain.id, [ep('10.214.12.2', '10.213.0.1')]);
    assert.ok(ping(s1p, '10.214.12.3'), 'plain network');
    // No keys yet: the encrypted network's VXLAN is fenced in (dropped), not sent in the clear.
    assert.equal(ping(s1e, '10.214.11.3'), false, 'encrypted network without keys');
    const [h1] = hosts!;
    const vx = JSON.parse(ip('-n', h1.name, '-j', 'link', 'show', vxlanName('ea', enc.id))) as Array<{ mtu: number }>;
    assert.equal(vx[0]?.mtu, 1416, 'encrypted network MTU leaves room for ESP');
    assert.match(inNs(s1e, ['ip', 'link', 'show', 'eth0']).out, /mtu 1416/);
  });

  it('carries the encrypted network as ESP only, and the plain one as plain VXLAN', async () => {
    const [ha, hb, h1] = agents();
    const r1 = ring(1, keys);
    await ha.call('setEncryptionKeys', r1);
    await hb.call('setEncryptionKeys', r1);
    assert.ok(ping(s1e, '10.214.11.3'), 'h1 -> h2 over the encrypted network');
    assert.ok(ping(s2e, '10.214.11.2'), 'h2 -> h1 over the encrypted network');
    const file = join(tmp, 'underlay.pcap');
    const cap = await capture(h1, 'u1', file);
    const encMarker = `SECRET-${randomBytes(6).toString('hex')}`;
    const plainMarker = `PLAIN-${randomBytes(6).toString('hex')}`;
    assert.ok((await tcpSend(s1e, s2e, '10.214.11.3', 7100, `${encMarker}\n`)).includes(encMarker));
    assert.ok((await tcpSend(s2e, s1e, '10.214.11.2', 7101, `${encMarker} back\n`)).includes(encMarker));
    assert.ok((await tcpSend(s1p, s2p, '10.214.12.3', 7102, `${plainMarker}\n`)).includes(plainMarker));
    const bytes = await cap.stop();
    const text = readPcap(file);
    assert.match(text, /10\.213\.0\.1 > 10\.213\.0\.2: ESP\(spi=0x[0-9a-f]+,seq=0x[0-9a-f]+\)/, `ESP from h1 to h2: ${bytes.length} bytes: ${text.slice(0, 800)} ${cap.log()}`);
    assert.match(text, /10\.213\.0\.2 > 10\.213\.0\.1: ESP\(spi=0x[0-9a-f]+,seq=0x[0-9a-f]+\)/, 'ESP from h2 to h1');
    assert.equal(bytes.includes(Buffer.from(encMarker)), false, 'the encrypted network marker is not on the wire');
    assert.ok(bytes.includes(Buffer.from(plainMarker)), 'the plain network is plain VXLAN (marker readable)');
    assert.match(text, new RegExp(`VXLAN.*vni ${plain.vni}`), 'plain VXLAN of the plain network');
    assert.doesNotMatch(text, new RegExp(`vni ${enc.vni}\\b`), 'no plain VXLAN of the encrypted network');
    // And the marker is in there: an independent AES-GCM opens h1's ESP with the key both hosts
    // derive, and finds UDP to 4789, VXLAN with the encrypted VNI, and the bytes the sandbox sent.
    const primary = { tag: r1.primary, key: Buffer.from(r1.keys.find((k) => k.tag === r1.primary)!.key, 'hex') };
    const saKey = saKeyFor(primary, '10.213.0.1', '10.213.0.2');
    const opened = pcapPackets(bytes)
      .filter((p) => p.subarray(12, 16).equals(Buffer.from([10, 213, 0, 1])))
      .map((p) => openEsp(p, saKey))
      .filter((o) => o !== null);
    assert.ok(opened.length > 0, 'ESP from h1 opens with the derived SA key');
    assert.ok(opened.every((o) => o.spi === spiFor(primary, '10.213.0.1', '10.213.0.2') && o.next === 17), 'SPI and next header as derived');
    const udp = opened.map((o) => o.payload);
    assert.ok(udp.every((u) => u.readUInt16BE(2) === 4789 && u.readUIntBE(12, 3) === enc.vni), 'UDP 4789, VXLAN of the encrypted VNI');
    assert.ok(udp.some((u) => u.includes(Buffer.from(encMarker))), 'the marker travelled inside the ESP');
    // Bulk data: full-size frames fit the ESP packets (MTU 1416 + 84 bytes of headers = 1500).
    const sink = startIn(s2e, ['sh', '-c', 'busybox nc -l -p 7103 | wc -c']);
    let count = '';
    sink.stdout?.on('data', (d: Buffer) => (count += d.toString('utf8')));
    await new Promise((r) => setTimeout(r, 300));
    const sent = spawnSync('nsenter', [`--net=${s1e}`, 'sh', '-c', 'head -c 2000000 /dev/zero | busybox nc -w 3 10.214.11.3 7103'], { timeout: 20000 });
    assert.equal(sent.status, 0);
    await eventually('bulk data counted', () => (count.trim() === '2000000' ? true : null));
    const stats = await ha.call<Record<string, number>>('encryptionStats');
    assert.ok((stats['tx'] ?? 0) > 1000 && (stats['rx'] ?? 0) > 0, JSON.stringify(stats));
    assert.equal(stats['rx_auth'], 0, 'no packet failed authentication');
  });

  it('rotates keys one host at a time without losing a packet', async () => {
    const [ha, hb] = agents();
    const before = await hb.call<Record<string, number>>('encryptionStats');
    // Continuous traffic both ways while the rotation happens.
    const flood1 = startIn(s1e, ['busybox', 'ping', '-i', '0.02', '-c', '150', '10.214.11.3']);
    const flood2 = startIn(s2e, ['busybox', 'ping', '-i', '0.02', '-c', '150', '10.214.11.2']);
    const outputs = [flood1, flood2].map((p) => {
      let s = '';
      p.stdout?.on('data', (d: Buffer) => (s += d.toString('utf8')));
      return () => s;
    });
    // 'close', not 'exit': the summary line may still be in the pipe when the process has exited.
    const done = [flood1, flood2].map((p) => new Promise((r) => p.on('close', r)));
    await new Promise((r) => setTimeout(r, 600));
    await ha.call('setEncryptionKeys', ring(2, keys)); // h1 now seals with key 3, which h2 holds already
    await new Promise((r) => setTimeout(r, 800));
    await hb.call('setEncryptionKeys', ring(2, keys));
    await new Promise((r) => setTimeout(r, 600));
    await ha.call('setEncryptionKeys', ring(3, keys)); // and once more: key 4 primary, key 2 gone
    await hb.call('setEncryptionKeys', ring(3, keys));
    await Promise.all(done);
    for (const out of outputs) assert.match(out(), /150 packets transmitted, 150 packets received/, out());
    const afterStats = await hb.call<Record<string, number>>('encryptionStats');
    assert.equal((afterStats['rx_nosa'] ?? 0) - (before['rx_nosa'] ?? 0), 0, 'no ESP arrived for an SA the receiver lacked');
    assert.equal(afterStats['rx_auth'], 0);
  });

  it('does not deliver plaintext VXLAN for the encrypted network from another host', async () => {
    // Sent from a namespace with no tsswarm in it (from host 2 the agent's own rules would seal it).
    const stranger = `/run/netns/${strangerNs}`;
    const onPlain = udpListen(s1p, 9999);
    const onEnc = udpListen(s1e, 9999);
    await new Promise((r) => setTimeout(r, 400));
    // The same forged frame, once per VNI: the plain network takes it (the control), the encrypted one must not.
    for (let i = 0; i < 3; i++) {
      sendUdpFrom(stranger, '10.213.9.1', 4789, vxlanFrame(plain.vni, '10.214.12.3', '10.214.12.2', 9999, 'FORGED-PLAIN\n'));
      sendUdpFrom(stranger, '10.213.9.1', 4789, vxlanFrame(enc.vni, '10.214.11.3', '10.214.11.2', 9999, 'FORGED-ENC\n'));
    }
    await eventually('forged frame on the plain network', () => (onPlain.got().includes('FORGED-PLAIN') ? true : null));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(onEnc.got(), '', 'plaintext VXLAN for the encrypted VNI reached a sandbox');
    stop(onPlain.child);
    stop(onEnc.child);
  });

  it('keeps encrypted traffic flowing through an agent crash and restart (the helper outlives it)', async () => {
    const [ha, , h1] = agents();
    const helperOf = () => espHelpers().filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(tmp, 'h1-netns-esp')));
    const [before] = helperOf();
    assert.ok(before !== undefined, 'h1 has a helper');
    const flood = startIn(s1e, ['busybox', 'ping', '-i', '0.05', '-c', '60', '10.214.11.3']);
    let out = '';
    flood.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const done = new Promise((r) => flood.on('close', r));
    await new Promise((r) => setTimeout(r, 500));
    await ha.kill();
    // The agent comes back and is told what it was told before (keys first, as the first
    // assignments message does); it finds the helper and gives it the same SAs.
    const again = new HostAgent(h1, { underlayAddr: h1.underlayAddr, netnsDir: join(tmp, 'h1-netns'), prefix: 'ea' });
    a = again;
    await again.call('setEncryptionKeys', ring(3, keys));
    for (const net of [enc, plain]) await again.call('ensureOverlay', net);
    await again.call('setPeers', enc.id, [ep('10.214.11.3', '10.213.0.2')]);
    await again.call('setPeers', plain.id, [ep('10.214.12.3', '10.213.0.2')]);
    await done;
    assert.match(out, /60 packets transmitted, 60 packets received/, out.split('\n').slice(-3).join('\n'));
    assert.deepEqual(helperOf(), [before], 'the same helper, still running');
    const stats = await again.call<Record<string, number>>('encryptionStats');
    assert.equal(stats['rx_auth'], 0);
  });

  it('removes the TUN device, the routing rule and the ESP helper with the last encrypted network', async () => {
    const [ha, hb, h1] = agents();
    const ids = espIds('ea');
    assert.ok(ip('-n', h1.name, 'link', 'show').includes(ids.tun));
    assert.equal(espHelpers().length, 2, `one helper per host: ${spawnSync('ps', ['-ef'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('esp')).join('\n')}`);
    await ha.call('removeSandbox', 's1e');
    await ha.call('removeOverlay', enc.id);
    assert.equal(ip('-n', h1.name, 'link', 'show').includes(ids.tun), false, 'TUN device gone');
    assert.doesNotMatch(ip('-n', h1.name, 'rule', 'show'), new RegExp(`lookup ${ids.table}\\b`), 'fwmark rule gone');
    assert.doesNotMatch(spawnSync('nsenter', [`--net=${h1.nsPath}`, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }).stdout, /esp_/, 'nft chains gone');
    assert.equal(espHelpers().length, 1, 'h1 helper stopped');
    // The plain network is untouched.
    assert.ok(ping(s1p, '10.214.12.3'));
    await hb.call('close');
    assert.equal(espHelpers().length, 0, 'close() stops the helper');
  });
});
