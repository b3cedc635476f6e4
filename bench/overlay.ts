/**
 * Overlay data plane costs on two netns test hosts (test/integration/harness/netns-hosts.ts):
 *
 * - attach: createSandbox + attach of 100 sandboxes, one after the other (latency per attach)
 *   and all at once (a burst of task starts), in the HostNetwork of host 1;
 * - throughput: 200 MB of zeros through `busybox nc`, host 1 → host 2 over the underlay veth and
 *   sandbox → sandbox over VXLAN, timed from the sender's start to the receiver's exit (it exits
 *   at EOF, after the last byte). Median of 3 each, alternating.
 *
 *   node dist/bench/overlay.js [--no-record] [--mb 200] [--attaches 100]
 *
 * - line rate: iperf3 (Debian's, run in the namespaces; scripts/setup.sh --bench) over the same two
 *   paths, when it is installed.
 *
 * Needs root and a built addon. Appends two rows to bench/RESULTS.md unless --no-record.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { macForIp } from '../agent/network';
import type { OverlaySpec } from '../agent/network';
import { createHosts, destroyHosts, HostAgent } from '../test/integration/harness/netns-hosts';
import type { AttachBench } from '../test/integration/harness/host-network-helper';
import { upperMedian as median } from './stats';

/** Receiver in `recvNs` on port 9000, sender in `sendNs`; ms from sender start to receiver exit. */
async function stream(recvNs: string, sendNs: string, to: string, mb: number): Promise<number> {
  // stdin stays open (a pipe we hold): busybox nc -l quits at EOF on stdin otherwise.
  const recv = spawn('nsenter', [`--net=${recvNs}`, 'busybox', 'nc', '-l', '-p', '9000'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const recvDone = new Promise<number | null>((r) => recv.on('exit', (code) => r(code)));
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  const send = spawn('nsenter', [`--net=${sendNs}`, 'sh', '-c', `head -c ${mb * 1_000_000} /dev/zero | busybox nc ${to} 9000`], { stdio: 'ignore' });
  const killer = setTimeout(() => {
    for (const p of [recv, send]) if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, 'SIGKILL');
  }, 60_000);
  try {
    await recvDone;
    const t = performance.now() - t0;
    await new Promise((r) => (send.exitCode === null ? send.on('exit', r) : r(null)));
    return t;
  } finally {
    clearTimeout(killer);
    recv.stdin?.end();
  }
}

/** TCP throughput in Mbit/s from `sendNs` to an iperf3 server in `recvNs` (one 3 s test), or null without iperf3. */
async function iperf(recvNs: string, sendNs: string, to: string): Promise<number | null> {
  if (spawnSync('iperf3', ['--version']).status !== 0) return null;
  const server = spawn('nsenter', [`--net=${recvNs}`, 'iperf3', '-s', '-1', '-p', '9001'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = spawnSync('nsenter', [`--net=${sendNs}`, 'iperf3', '-c', to, '-p', '9001', '-t', '3', '-J'], { encoding: 'utf8', timeout: 30_000 });
    const out = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = out.end?.sum_received?.bits_per_second;
    if (bps === undefined) throw new Error(`iperf3 to ${to} failed: ${r.stderr || r.stdout.slice(0, 200)}`);
    return bps / 1e6;
  } finally {
    if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, 'SIGKILL');
  }
}

/** RTTs in ms of `count` pings from inside a network namespace. */
function pingRtts(ns: string, to: string, count: number): number[] {
  const r = spawnSync('nsenter', [`--net=${ns}`, '/bin/busybox', 'ping', '-c', String(count), '-i', '0.05', to], { encoding: 'utf8' });
  return [...(r.stdout ?? '').matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/overlay needs root');
  const argv = process.argv.slice(2);
  const record = !argv.includes('--no-record');
  const mbAt = argv.indexOf('--mb');
  const mb = mbAt >= 0 ? Number(argv[mbAt + 1]) : 200;
  const nAt = argv.indexOf('--attaches');
  const n = nAt >= 0 ? Number(argv[nAt + 1]) : 100;
  const tmp = mkdtempSync('/tmp/tsswarm-bench-ovl-');
  const hosts = createHosts(`tsb${randomBytes(2).toString('hex')}`);
  const net: OverlaySpec = { id: 'bench', vni: 4300, subnet: '10.214.1.0/24', gateway: '10.214.1.1', mtu: 1450, encrypted: false };
  const a = new HostAgent(hosts[0], { underlayAddr: hosts[0].underlayAddr, netnsDir: join(tmp, 'h1'), prefix: 'ba' });
  const b = new HostAgent(hosts[1], { underlayAddr: hosts[1].underlayAddr, netnsDir: join(tmp, 'h2'), prefix: 'bb' });
  try {
    for (const x of [a, b]) await x.call('ensureOverlay', net);
    const attach = await a.call<AttachBench>('benchAttach', net, n, '10.214.1', 20);
    console.log(`attach (createSandbox + attach): median ${attach.sequentialMedianMs.toFixed(2)} ms, mean ${attach.sequentialMeanMs.toFixed(2)} ms, ${attach.sequentialSpawnsPerAttach} spawn/attach; ${n} at once: ${attach.concurrentTotalMs.toFixed(0)} ms total, ${attach.concurrentSpawns} spawns`);

    const s1 = await a.call<string>('createSandbox', 's1');
    await a.call('attach', 's1', net, { ip: '10.214.1.2', mac: macForIp('10.214.1.2'), ifname: 'eth0', defaultRoute: true });
    const s2 = await b.call<string>('createSandbox', 's2');
    await b.call('attach', 's2', net, { ip: '10.214.1.3', mac: macForIp('10.214.1.3'), ifname: 'eth0', defaultRoute: true });
    await a.call('setPeers', net.id, [{ ip: '10.214.1.3', mac: macForIp('10.214.1.3'), hostAddr: hosts[1].underlayAddr }]);
    await b.call('setPeers', net.id, [{ ip: '10.214.1.2', mac: macForIp('10.214.1.2'), hostAddr: hosts[0].underlayAddr }]);
    const under: number[] = [];
    const over: number[] = [];
    for (let i = 0; i < 3; i++) {
      under.push(await stream(hosts[1].nsPath, hosts[0].nsPath, hosts[1].underlayAddr, mb));
      over.push(await stream(s2, s1, '10.214.1.3', mb));
    }
    // Line rate: iperf3 (TCP, 3 s), 3 rounds each, alternating.
    const bwUnder: number[] = [];
    const bwOver: number[] = [];
    for (let i = 0; i < 3; i++) {
      const u = await iperf(hosts[1].nsPath, hosts[0].nsPath, hosts[1].underlayAddr);
      const o = await iperf(s2, s1, '10.214.1.3');
      if (u !== null && o !== null) {
        bwUnder.push(u);
        bwOver.push(o);
      }
    }
    if (bwOver.length) console.log(`iperf3: underlay ${median(bwUnder).toFixed(0)} Mbit/s, overlay ${median(bwOver).toFixed(0)} Mbit/s (overlay/underlay ${(median(bwOver) / median(bwUnder)).toFixed(2)})`);
    // Round-trip latency: 50 pings each way, alternating rounds of 10, median RTT per path.
    const rttUnder: number[] = [];
    const rttOver: number[] = [];
    for (let i = 0; i < 5; i++) {
      rttUnder.push(...pingRtts(hosts[0].nsPath, hosts[1].underlayAddr, 10));
      rttOver.push(...pingRtts(s1, '10.214.1.3', 10));
    }
    const ru = median(rttUnder);
    const ro = median(rttOver);
    console.log(`round trip: underlay ${ru.toFixed(3)} ms, overlay ${ro.toFixed(3)} ms (median of ${rttOver.length})`);
    const u = median(under);
    const o = median(over);
    const rate = (ms: number): string => `${((mb / ms) * 1000).toFixed(0)} MB/s`;
    console.log(`underlay ${u.toFixed(0)} ms (${rate(u)}), overlay ${o.toFixed(0)} ms (${rate(o)}) for ${mb} MB; overlay/underlay time ${(o / u).toFixed(2)}`);

    if (record) {
      const date = new Date().toISOString().slice(0, 10);
      const machine = `${cpus()[0]?.model.trim() ?? 'cpu'}, ${cpus().length} cores, Linux ${release()}`;
      appendFileSync(
        resolve(__dirname, '..', '..', 'bench', 'RESULTS.md'),
        `| ${date} | overlay attach (createSandbox + attach, veth on bridge, addr + default route) | ${machine} | ${attach.sequentialMedianMs.toFixed(2)} ms | — | — | median of ${n} sequential (${attach.sequentialSpawnsPerAttach} process spawn each: one \`ip -batch\` line; netns + sandbox config via the addon on a thread); ${n} at once: ${attach.concurrentTotalMs.toFixed(0)} ms total, ${attach.concurrentSpawns} spawns (group commit). No peer measured |\n` +
          `| ${date} | overlay round-trip latency (ping, sandbox→sandbox over VXLAN vs host→host underlay) | ${machine} | ${ro.toFixed(3)} ms | underlay ${ru.toFixed(3)} ms | ${(ro / ru).toFixed(2)} | median of ${rttOver.length} pings each, alternating rounds of 10 |\n` +
          `| ${date} | overlay throughput, ${mb} MB via busybox nc, sandbox→sandbox over VXLAN (MTU 1450) vs host→host underlay veth (MTU 1500) | ${machine} | ${o.toFixed(0)} ms (${rate(o)}) | underlay ${u.toFixed(0)} ms (${rate(u)}) | ${(o / u).toFixed(2)} | median of 3, alternating; two netns hosts on one kernel; busybox nc's small writes bound both paths, so this is the encapsulation overhead at nc's rate, not line rate |\n` +
          (bwOver.length
            ? `| ${date} | overlay throughput, iperf3 TCP 3 s, sandbox→sandbox over VXLAN (MTU 1450) vs host→host underlay veth (MTU 1500) | ${machine} | ${median(bwOver).toFixed(0)} Mbit/s | underlay ${median(bwUnder).toFixed(0)} Mbit/s | ${(median(bwOver) / median(bwUnder)).toFixed(2)} | median of 3, alternating; higher is better here (overlay/underlay throughput); both ends on one kernel, so this is the CPU cost of VXLAN + bridge + veth |\n`
            : ''),
      );
    }
  } finally {
    await a.stop();
    await b.stop();
    destroyHosts(hosts);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
