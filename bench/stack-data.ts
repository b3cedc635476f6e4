/**
 * Stack data benchmark (tsswarm side): one service of N busybox httpd replicas, each with a named
 * volume at /data (local driver, one per node: on one host all N share it, as in Docker Swarm), a
 * secret and a config, all from files beside the stack file. Per run, from the start of
 * `tsswarm deploy`:
 *   deployMs:  until the CLI exits, which it does at N/N running (it waits for convergence);
 *   secretMs:  (three hosts) until every one of the N tasks could read the secret's bytes at
 *              /run/secrets/token from inside: the time of the last task's first good read.
 * The secret probe finds the containers by the hosts' cgroup parents (one cgroup per container,
 * `<parent>/<id>`, every 20 ms) and reads the file from inside each new one with nsenter into its
 * pid, as inContainer (test/integration/harness/hosts.ts) does; each container is read until it
 * answers the right bytes once. The peer (bench/docker-swarm-stack-data.sh) probes its containers
 * the same way. The stack is removed (and its volume on every node) between runs; the secret's
 * bytes are new in each run.
 * Root, after `npm run build`:
 *   node dist/bench/stack-data.js [--hosts 1|3] [--replicas N] [--runs 3] [--keep-log DIR]
 * --hosts 1 (default): a one-host TestCluster, 100 replicas by default; --hosts 3: three test
 * hosts (TestHosts), 30 replicas by default, and the secret probe. Prints one JSON line.
 * --keep-log DIR keeps every host's logs/ (DIR/host1, …) when the cluster is removed.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot, TestCluster } from '../test/integration/harness/cluster';
import { TestHosts } from '../test/integration/harness/hosts';
import { median } from './stats';

const cliPath = path.join(repoRoot, 'dist', 'cli', 'main.js');
const STACK = 'bench';
const SECRET = 'token';
const RUN_TIMEOUT_MS = 180000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} takes a positive integer`);
  return v;
}

/** The stack both sides deploy (the peer writes the same text). */
function stackFile(replicas: number): string {
  return [
    'version: "3.8"',
    'services:',
    '  web:',
    '    image: busybox:latest',
    '    command: httpd -f -p 8080 -h /var/www',
    '    stop_grace_period: 1s',
    '    volumes:',
    '      - data:/data',
    '    secrets:',
    `      - ${SECRET}`,
    '    configs:',
    '      - source: conf',
    '        target: /etc/bench/conf',
    '    deploy:',
    `      replicas: ${replicas}`,
    'volumes:',
    '  data:',
    'secrets:',
    `  ${SECRET}:`,
    '    file: ./token.txt',
    'configs:',
    '  conf:',
    '    file: ./conf.txt',
    '',
  ].join('\n');
}

/** Writes the stack file, a fresh secret and the config into `dir`; returns the stack file and the secret's bytes. */
function writeStack(dir: string, replicas: number): { file: string; secret: string; conf: string } {
  fs.mkdirSync(dir, { recursive: true });
  const secret = randomBytes(16).toString('hex');
  const conf = `listen 8080\nrun ${secret.slice(0, 6)}\n`;
  fs.writeFileSync(path.join(dir, 'token.txt'), secret);
  fs.writeFileSync(path.join(dir, 'conf.txt'), conf);
  const file = path.join(dir, 'stack.yml');
  fs.writeFileSync(file, stackFile(replicas));
  return { file, secret, conf };
}

/** The directory of a cgroup parent in the pids hierarchy (cgroup v1) or the unified tree (v2). */
function pidsDir(parent: string): string {
  return fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? path.join('/sys/fs/cgroup', parent) : path.join('/sys/fs/cgroup/pids', parent);
}

function readAsync(pid: number): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('nsenter', ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '/bin/busybox', 'cat', `/run/secrets/${SECRET}`], { encoding: 'utf8', timeout: 10000 }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/**
 * Every 20 ms, the containers under the cgroup parents that have not yet answered: each is read
 * from inside; resolves with the ms (from t0) of each container's first good read once `n` have.
 * Gives up when `failed` names a reason (the deploy failed) or past the deadline.
 */
async function secretProbe(parents: string[], secret: string, n: number, t0: number, deadline: number, failed: () => string | null): Promise<number[]> {
  const readAt = new Map<string, number>();
  for (;;) {
    const why = failed();
    if (why !== null) throw new Error(why);
    for (const dir of parents.map(pidsDir)) {
      let subs: fs.Dirent[] = [];
      try {
        subs = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // not made yet
      }
      for (const s of subs) {
        const key = path.join(dir, s.name);
        if (!s.isDirectory() || readAt.has(key)) continue;
        let pid = 0;
        try {
          pid = Number(fs.readFileSync(path.join(key, 'cgroup.procs'), 'utf8').split('\n')[0]);
        } catch {
          continue; // removed meanwhile
        }
        if (!pid) continue;
        if ((await readAsync(pid)) === secret) readAt.set(key, performance.now() - t0);
      }
    }
    if (readAt.size >= n) return [...readAt.values()];
    if (performance.now() > deadline) throw new Error(`the secret was readable in ${readAt.size} of ${n} tasks after ${RUN_TIMEOUT_MS / 1000} s`);
    await sleep(20);
  }
}

/**
 * Untimed, after a deploy: one task (the first container found) has the stack's data: a mount at
 * /data, the config's bytes at its target and the secret's at /run/secrets/token.
 */
function checkOneTask(parents: string[], secret: string, conf: string): void {
  for (const dir of parents.map(pidsDir)) {
    for (const s of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      if (!s.isDirectory()) continue;
      const pid = Number(fs.readFileSync(path.join(dir, s.name, 'cgroup.procs'), 'utf8').split('\n')[0]);
      if (!pid) continue;
      const script = `grep -q ' /data ' /proc/mounts || echo 'no mount at /data'; cat /etc/bench/conf /run/secrets/${SECRET}`;
      const r = spawnSync('nsenter', ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '/bin/busybox', 'sh', '-c', script], { encoding: 'utf8', timeout: 10000 });
      if (r.stdout !== conf + secret) throw new Error(`a task lacks the stack's volume, config or secret: ${JSON.stringify(r.stdout + r.stderr)}`);
      return;
    }
  }
  throw new Error('no container of the stack found under the cgroup parents');
}

interface Exit { code: number | null; ms: number; output: string }

/** Starts a CLI command (in `netns`, if given) without blocking; resolves when it exits. */
function cliAsync(args: string[], socket: string, netns: string | null, t0: number): Promise<Exit> {
  const cmd = netns ? ['nsenter', `--net=/run/netns/${netns}`, process.execPath, cliPath, ...args] : [process.execPath, cliPath, ...args];
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd: repoRoot, env: { ...process.env, TSSWARM_HOST: socket }, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      resolve({ code, ms, output });
    });
  });
}

/** The cluster behind one interface: one host (TestCluster) or three (TestHosts). */
interface Bench {
  socket: string;
  dir: string;
  /** Every data root (their logs/ kept by --keep-log). */
  dataRoots: string[];
  /** Netns of the manager host, or null (one host: the machine's own). */
  netns: string | null;
  cgroupParents: string[];
  nodeNames: string[];
  start(): void;
  cli(args: string[]): { code: number; stdout: string; stderr: string };
  destroy(): void;
}

function ok(b: Bench, args: string[]): string {
  const r = b.cli(args);
  if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function oneHost(): Bench {
  const c = new TestCluster('tsswarm-bench-sd');
  return {
    socket: c.socket,
    dir: path.join(c.dataRoot, 'stack'),
    dataRoots: [c.dataRoot],
    netns: null,
    cgroupParents: [c.cgroupParent],
    nodeNames: ['testhost'],
    start: () => {
      c.init();
      c.importBusybox();
    },
    cli: (args) => c.cli(args),
    destroy: () => c.destroy(),
  };
}

function threeHosts(): Bench {
  const h = new TestHosts(3);
  return {
    socket: h.api(h.manager),
    dir: path.join(h.manager.dataRoot, 'stack'),
    dataRoots: h.hosts.map((x) => x.dataRoot),
    netns: h.manager.netns,
    cgroupParents: h.hosts.map((x) => x.cgroupParent),
    nodeNames: h.hosts.map((x) => x.name),
    start: () => {
      h.start();
      h.importBusybox();
      // The image on every host before the timed part (the peer's nodes have it from docker load).
      const warm = path.join(h.manager.dataRoot, 'warm.yml');
      fs.writeFileSync(warm, ['services:', '  warm:', '    image: busybox:latest', '    command: ["sh", "-c", "while true; do sleep 1; done"]', '    stop_grace_period: 1s', '    deploy: { mode: global }', ''].join('\n'));
      h.ok(h.manager, ['deploy', '-c', warm, 'warm']);
      h.ok(h.manager, ['stack', 'rm', 'warm']);
    },
    cli: (args) => h.cli(h.manager, args),
    destroy: () => h.destroy(),
  };
}

/** What the stack's tasks are doing (for a failed run): counts by state and the latest errors. */
function taskSummary(b: Bench): string {
  const r = b.cli(['stack', 'ps', STACK, '--format', 'json']);
  if (r.code !== 0) return `stack ps failed: ${r.stderr.trim()}`;
  const tasks = JSON.parse(r.stdout) as { state: string; error: string | null }[];
  const by = new Map<string, number>();
  for (const t of tasks) by.set(t.state, (by.get(t.state) ?? 0) + 1);
  const errors = [...new Set(tasks.map((t) => t.error).filter((e): e is string => !!e))].slice(0, 3);
  return `tasks: ${[...by].map(([k, v]) => `${v} ${k}`).join(', ')}${errors.length ? `; errors: ${errors.join(' / ')}` : ''}`;
}

/** After a run: the stack gone (stack rm waits for its tasks), and its volume gone from every node. */
async function removeStack(b: Bench): Promise<void> {
  ok(b, ['stack', 'rm', STACK]);
  for (const node of b.nodeNames) {
    const end = Date.now() + 60000;
    for (;;) {
      const r = b.cli(['volume', 'rm', '--node', node, `${STACK}_data`]);
      if (r.code === 0 || /no such volume/.test(r.stderr)) break;
      if (Date.now() > end) throw new Error(`volume ${STACK}_data on ${node} not removed: ${r.stderr.trim()}`);
      await sleep(200);
    }
  }
  const left = b.cli(['secret', 'ls', '--format', 'json']);
  if (left.code === 0 && left.stdout.includes(`"${STACK}_${SECRET}"`)) throw new Error('the stack\'s secret is still there after stack rm');
}

async function main(): Promise<void> {
  const hosts = arg('hosts', 1);
  if (hosts !== 1 && hosts !== 3) throw new Error('--hosts takes 1 or 3');
  const replicas = arg('replicas', hosts === 1 ? 100 : 30);
  const runs = arg('runs', 3);
  const probe = hosts === 3;
  const k = process.argv.indexOf('--keep-log');
  const keepLog = k > 0 ? path.resolve(process.argv[k + 1] ?? '.') : null;
  const b = hosts === 1 ? oneHost() : threeHosts();
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    if (keepLog !== null) {
      for (const [i, root] of b.dataRoots.entries()) {
        if (fs.existsSync(path.join(root, 'logs'))) fs.cpSync(path.join(root, 'logs'), path.join(keepLog, `host${i + 1}`), { recursive: true, force: true });
      }
    }
    b.destroy();
  };
  // Ctrl-C or a kill mid-run: the same clean-up as a failure (processes by PID, mounts, cgroups, namespaces).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`stack-data bench: ${sig}, cleaning up\n`);
      destroy();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  const deploy: number[] = [];
  const secret: number[] = [];
  try {
    b.start();
    for (let r = 1; r <= runs; r++) {
      const s = writeStack(b.dir, replicas);
      const t0 = performance.now();
      let failure: string | null = null;
      const exit = cliAsync(['deploy', '-c', s.file, STACK], b.socket, b.netns, t0).then((x) => {
        if (x.code !== 0) failure = `tsswarm deploy ${x.code === null ? `killed after ${RUN_TIMEOUT_MS / 1000} s` : `exited ${x.code}`}: ${x.output.trim().split('\n').slice(-3).join(' ; ')}; ${taskSummary(b)}`;
        return x;
      });
      const read = probe ? secretProbe(b.cgroupParents, s.secret, replicas, t0, t0 + RUN_TIMEOUT_MS, () => failure) : Promise.resolve([]);
      const [x, times] = await Promise.all([exit, read]);
      if (failure !== null) throw new Error(failure);
      deploy.push(Math.round(x.ms));
      if (probe) secret.push(Math.round(Math.max(...times)));
      checkOneTask(b.cgroupParents, s.secret, s.conf);
      process.stderr.write(`run ${r}/${runs} (${hosts} host${hosts > 1 ? 's' : ''}): deploy 0→${replicas} ${deploy.at(-1)} ms${probe ? `, secret readable in all ${replicas} tasks after ${secret.at(-1)} ms (first ${Math.round(Math.min(...times))} ms)` : ''}\n`);
      await removeStack(b);
    }
  } finally {
    destroy();
  }
  const out = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus()[0]?.model.trim() ?? 'cpu'}, ${cpus().length} cores`,
    kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(),
    hosts,
    replicas,
    runs,
    deployMedianMs: median(deploy),
    deployMs: deploy,
    ...(probe ? { secretMedianMs: median(secret), secretMs: secret } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`stack-data bench: ${e.message}\n`);
  process.exit(1);
});
