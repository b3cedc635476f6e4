/**
 * Encrypted overlay throughput: iperf3 (TCP, one stream) sandbox → sandbox between two netns test
 * hosts (test/integration/harness/netns-hosts.ts, a veth underlay), over an encrypted overlay
 * (ESP through tsswarm-esp, MTU 1416) and over a plain one (MTU 1450) on the same hosts, rounds
 * alternating; medians. Each host runs its own HostNetwork in a helper process in its namespace,
 * as the agent does; the keys are a keyring as the managers make it.
 *
 *   node dist/bench/encrypted-overlay.js [--rounds 3] [--seconds 5] [--json] [--no-record]
 *
 * --json prints one JSON line (what bench/encrypted-overlay-compare.sh collects) and records
 * nothing; otherwise it prints the medians and appends a row to bench/RESULTS.md unless
 * --no-record. Needs root, a built addon and tsswarm-esp (npm run build) and iperf3
 * (scripts/setup.sh --bench).
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { macForIp } from '../agent/network';
import type { OverlaySpec } from '../agent/network';
import { createHosts, destroyHosts, HostAgent } from '../test/integration/harness/netns-hosts';
import { upperMedian as median } from './stats';

const plain: OverlaySpec = { id: 'bench-plain', vni: 4401, subnet: '10.214.21.0/24', gateway: '10.214.21.1', mtu: 1450, encrypted: false };
const enc: OverlaySpec = { id: 'bench-enc', vni: 4402, subnet: '10.214.22.0/24', gateway: '10.214.22.1', mtu: 1416, encrypted: true };

function arg(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(name);
  const v = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a positive integer`);
  return v;
}

/** TCP Mbit/s received by an iperf3 server in `recvNs` from a client in `sendNs` over `seconds`. */
async function iperf(recvNs: string, sendNs: string, to: string, seconds: number): Promise<number> {
  const server = spawn('nsenter', [`--net=${recvNs}`, 'iperf3', '-s', '-1', '-p', '9001'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = spawnSync('nsenter', [`--net=${sendNs}`, 'iperf3', '-c', to, '-p', '9001', '-t', String(seconds), '-J'], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
    const out = JSON.parse(r.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = out.end?.sum_received?.bits_per_second;
    if (bps === undefined) throw new Error(`iperf3 to ${to} failed: ${r.stderr || r.stdout.slice(0, 200)}`);
    return bps / 1e6;
  } finally {
    if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, 'SIGKILL');
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** PIDs of the tsswarm-esp helpers whose command line names `dir`. */
function helpers(dir: string): number[] {
  const r = spawnSync('pgrep', ['-f', `tsswarm-esp .*${dir}`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l !== '').map(Number);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/encrypted-overlay needs root');
  if (spawnSync('iperf3', ['--version']).status !== 0) throw new Error('iperf3 missing: scripts/setup.sh --bench');
  const argv = process.argv.slice(2);
  const rounds = arg(argv, '--rounds', 3);
  const seconds = arg(argv, '--seconds', 5);
  const json = argv.includes('--json');
  const record = !json && !argv.includes('--no-record');
  const tmp = mkdtempSync('/tmp/tsswarm-bench-enc-');
  const hosts = createHosts(`tsbe${randomBytes(2).toString('hex')}`);
  const a = new HostAgent(hosts[0], { underlayAddr: hosts[0].underlayAddr, netnsDir: join(tmp, 'h1'), prefix: 'ba' });
  const b = new HostAgent(hosts[1], { underlayAddr: hosts[1].underlayAddr, netnsDir: join(tmp, 'h2'), prefix: 'bb' });
  try {
    const ring = { primary: 2, keys: [1, 2, 3].map((tag) => ({ tag, key: randomBytes(20).toString('hex') })) };
    const sandboxes: Record<string, [string, string]> = {};
    for (const net of [plain, enc]) {
      const base = net.subnet.split('.').slice(0, 3).join('.');
      for (const x of [a, b]) await x.call('ensureOverlay', net);
      const s1 = await a.call<string>('createSandbox', `s1-${net.vni}`);
      await a.call('attach', `s1-${net.vni}`, net, { ip: `${base}.2`, mac: macForIp(`${base}.2`), ifname: 'eth0', defaultRoute: true });
      const s2 = await b.call<string>('createSandbox', `s2-${net.vni}`);
      await b.call('attach', `s2-${net.vni}`, net, { ip: `${base}.3`, mac: macForIp(`${base}.3`), ifname: 'eth0', defaultRoute: true });
      await a.call('setPeers', net.id, [{ ip: `${base}.3`, mac: macForIp(`${base}.3`), hostAddr: hosts[1].underlayAddr }]);
      await b.call('setPeers', net.id, [{ ip: `${base}.2`, mac: macForIp(`${base}.2`), hostAddr: hosts[0].underlayAddr }]);
      sandboxes[net.id] = [s1, s2];
    }
    for (const x of [a, b]) await x.call('setEncryptionKeys', ring);
    const target = (net: OverlaySpec) => `${net.subnet.split('.').slice(0, 3).join('.')}.3`;
    // Warm-up (ARP, first SAs), not counted.
    await iperf(sandboxes[enc.id]![1], sandboxes[enc.id]![0], target(enc), 1);
    const bwPlain: number[] = [];
    const bwEnc: number[] = [];
    const helperCpu: number[] = [];
    const pids = helpers(tmp);
    for (let i = 0; i < rounds; i++) {
      bwPlain.push(await iperf(sandboxes[plain.id]![1], sandboxes[plain.id]![0], target(plain), seconds));
      const c0 = pids.map(cpuSeconds);
      bwEnc.push(await iperf(sandboxes[enc.id]![1], sandboxes[enc.id]![0], target(enc), seconds));
      // CPU of both helpers over the test, as a share of one core.
      helperCpu.push(pids.map(cpuSeconds).reduce((s, c, j) => s + c - c0[j]!, 0) / seconds);
      if (!json) console.error(`round ${i + 1}/${rounds}: plain ${bwPlain[i]!.toFixed(0)} Mbit/s, encrypted ${bwEnc[i]!.toFixed(0)} Mbit/s`);
    }
    const stats = await a.call<Record<string, number>>('encryptionStats');
    const p = median(bwPlain);
    const e = median(bwEnc);
    const machine = `${cpus()[0]?.model.trim() ?? 'cpu'}, ${cpus().length} cores, Linux ${release()}`;
    const date = new Date().toISOString().slice(0, 10);
    const result = {
      date,
      machine,
      seconds,
      rounds,
      plainMbps: Math.round(p),
      encryptedMbps: Math.round(e),
      plainAll: bwPlain.map(Math.round),
      encryptedAll: bwEnc.map(Math.round),
      helperCpuCores: Number(median(helperCpu).toFixed(2)),
      authFailures: stats['rx_auth'] ?? 0,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    console.log(`iperf3 ${seconds} s: encrypted ${e.toFixed(0)} Mbit/s, plain ${p.toFixed(0)} Mbit/s (encrypted/plain ${(e / p).toFixed(2)}); ESP helpers used ${result.helperCpuCores} cores`);
    if (record) {
      appendFileSync(
        resolve(__dirname, '..', '..', 'bench', 'RESULTS.md'),
        `| ${date} | encrypted overlay throughput, iperf3 TCP ${seconds} s sandbox→sandbox, ESP (tsswarm-esp, MTU 1416) vs plain VXLAN (MTU 1450) | ${machine} | ${e.toFixed(0)} Mbit/s | plain ${p.toFixed(0)} Mbit/s | ${(e / p).toFixed(2)} | median of ${rounds}, alternating; higher is better; two netns hosts on one kernel; ESP helpers ${result.helperCpuCores} cores |\n`,
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
