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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

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
  const net: OverlaySpec = { id: 'bench', vni: 4300, subnet: '10.214.1.0/24', gateway: '10.214.1.1', mtu: 1450 };
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
          `| ${date} | overlay throughput, ${mb} MB via busybox nc, sandbox→sandbox over VXLAN (MTU 1450) vs host→host underlay veth (MTU 1500) | ${machine} | ${o.toFixed(0)} ms (${rate(o)}) | underlay ${u.toFixed(0)} ms (${rate(u)}) | ${(o / u).toFixed(2)} | median of 3, alternating; two netns hosts on one kernel; busybox nc's small writes bound both paths, so this is the encapsulation overhead at nc's rate, not line rate |\n`,
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
