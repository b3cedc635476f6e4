/**
 * Join benchmark (issue 10: "join time of a host, token to ready, vs `docker swarm join`").
 * 2 test hosts (network namespaces, the integration tests' harness), `tsswarm init` on host 1
 * once; then per run, host 2 being no member of the cluster:
 *   readyMs: from the start of `tsswarm join --token T ADDR` on host 2 until the manager's API
 *            (GET /v1/nodes, what `node ls` shows) reports host 2 ready, polled every 20 ms;
 *   cliMs:   from the same start until the join command exits (CA fetched and checked against
 *            the token, CSR answered, agent started, its session established);
 * then `tsswarm down --purge` on host 2 and `node rm --force` of it on the manager, and 1 s to
 * settle, so the next run is a fresh join (new node ID, new certificates).
 * Root, after `npm run build`:
 *   node dist/bench/join.js [--runs 5] [--no-record]
 * Appends a row to bench/RESULTS.md unless --no-record. The peer: bench/docker-swarm-join.sh;
 * the two alternating: bench/join-compare.sh.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '../cli/client';
import type { NodeView } from '../shared/api-types';
import { repoRoot } from '../test/integration/harness/cluster';
import { TestHosts, type TestHost } from '../test/integration/harness/hosts';
import { median } from './stats';

const cliPath = path.join(repoRoot, 'dist', 'cli', 'main.js');
const POLL_MS = 20;
const RUN_TIMEOUT_MS = 60000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Sample { readyMs: number; cliMs: number }
interface Exit { code: number | null; signal: string | null; ms: number }

/** One timed join of `h`; resolves once the manager reports it ready and the CLI has exited 0. */
async function timedJoin(hosts: TestHosts, h: TestHost, api: Client, token: string, managerAddr: string): Promise<Sample> {
  let output = '';
  // Set by the exit handler; a holder, so that the loop below reads it afresh after every await.
  const ended: { exit: Exit | null } = { exit: null };
  const t0 = performance.now();
  // As TestHosts.cli, but not blocking: the manager is polled while the join runs.
  const child = spawn('nsenter', [`--net=/run/netns/${h.netns}`, process.execPath, cliPath, ...hosts.joinArgs(h, token, managerAddr)], {
    cwd: repoRoot,
    env: { ...process.env, TSSWARM_HOST: hosts.api(hosts.manager) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('exit', (code, signal) => {
    ended.exit = { code, signal, ms: performance.now() - t0 };
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    let readyMs = -1;
    for (;;) {
      const x = ended.exit;
      if (x !== null && x.code !== 0) throw new Error(`tsswarm join on ${h.name} exited ${x.code ?? x.signal}: ${output.trim()}`);
      if (readyMs < 0) {
        const nodes = await api.get<NodeView[]>('/v1/nodes').catch(() => []);
        if (nodes.some((n) => n.hostname === h.name && n.status === 'ready')) readyMs = performance.now() - t0;
      }
      if (readyMs >= 0 && x !== null) return { readyMs: Math.round(readyMs), cliMs: Math.round(x.ms) };
      if (performance.now() - t0 > RUN_TIMEOUT_MS) throw new Error(`${h.name} not ready within ${RUN_TIMEOUT_MS / 1000} s (join ${x === null ? 'still running' : 'exited'}): ${output.trim()}`);
      await sleep(POLL_MS);
    }
  } finally {
    if (ended.exit === null) child.kill('SIGKILL');
  }
}

/** Host 2 out of the cluster again: its node stopped and its data deleted, its node removed on the manager. */
async function leave(hosts: TestHosts, h: TestHost, api: Client): Promise<void> {
  const down = hosts.cli(h, ['down', '--data-root', h.dataRoot, '--purge']);
  if (down.code !== 0) throw new Error(`tsswarm down --purge on ${h.name} exited ${down.code}: ${down.stderr}${down.stdout}`);
  for (const n of (await api.get<NodeView[]>('/v1/nodes')).filter((x) => x.hostname === h.name)) {
    hosts.ok(hosts.manager, ['node', 'rm', '--force', n.id]);
  }
  const left = hosts.hostPids(h);
  if (left.length > 0) throw new Error(`${h.name}: processes still alive after down --purge: ${left.join(' ')}`);
  if (fs.existsSync(h.dataRoot)) throw new Error(`${h.name}: ${h.dataRoot} still there after down --purge`);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');
  const hosts = new TestHosts(2);
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    hosts.destroy();
  };
  // Ctrl-C or a kill mid-run: the same clean-up as a failure (processes by PID, mounts, cgroups, namespaces).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`join bench: ${sig}, cleaning up\n`);
      destroy();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  const ready: number[] = [];
  const cli: number[] = [];
  try {
    hosts.createNetwork();
    hosts.initManager();
    const worker = hosts.hosts[1]!;
    const api = new Client(hosts.api(hosts.manager));
    const { token, managerAddr } = hosts.joinToken('worker');
    process.stderr.write(`join bench: manager up on ${hosts.manager.addr}; each run joins ${worker.name} with the worker token\n`);
    for (let r = 1; r <= runs; r++) {
      await sleep(1000);
      const x = await timedJoin(hosts, worker, api, token, managerAddr);
      ready.push(x.readyMs);
      cli.push(x.cliMs);
      process.stderr.write(`run ${r}/${runs}: ${worker.name} ready on the manager after ${x.readyMs} ms, tsswarm join returned after ${x.cliMs} ms\n`);
      await leave(hosts, worker, api);
    }
  } finally {
    destroy();
  }
  const machine = `${cpus()[0]?.model.trim() ?? 'cpu'}, ${cpus().length} cores`;
  const result = { date: new Date().toISOString().slice(0, 10), machine, runs, readyMedianMs: median(ready), cliMedianMs: median(cli), readyMs: ready, cliMs: cli };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (!process.argv.includes('--no-record')) {
    fs.appendFileSync(
      path.join(repoRoot, 'bench', 'RESULTS.md'),
      `| ${result.date} | join of a worker host: token → ready on the manager (2 hosts) | ${machine} | ${result.readyMedianMs} ms (join CLI ${result.cliMedianMs} ms) | — | — | median of ${runs}; tsswarm join with mutual TLS (CA fetch + digest check, CSR, agent session); peer not run (bench/join-compare.sh runs both) |\n`,
    );
  }
}

main().catch((e: Error) => {
  process.stderr.write(`join bench: ${e.message}\n`);
  process.exit(1);
});
