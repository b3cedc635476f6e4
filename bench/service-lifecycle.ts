/**
 * Service lifecycle benchmark, on 3 test hosts (network namespaces, as the integration tests):
 *   logsMs       `service logs chat` of 30 tasks that have each written 10,000 lines, from the
 *                command's start until it has printed the last line and exited (logsLines: how many);
 *   execMs       `exec TASK true` into a task on host 2, asked of host 1's manager: one exec's
 *                round trip (median of 20 per run);
 *   unhealthyMs  from removing the file a task's health check looks for (interval 1 s, timeout
 *                1 s, retries 1) until a client looping over the service's VIP last got an answer
 *                from that task (the client's log, with its times, tells).
 * Root, after `npm run build`: node dist/bench/service-lifecycle.js [--runs 3]
 * The peer: bench/docker-swarm-service-lifecycle.sh.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { TestHosts, type TestHost } from '../test/integration/harness/hosts';
import { UNTIL_TERM } from '../test/integration/harness/stacks';
import { median } from './stats';

interface TaskRow { id: string; node: string | null; desiredState: string; state: string; health: string | null }

const cliPath = path.resolve(__dirname, '..', 'cli', 'main.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEEP = ['trap', "'exit 0'", 'TERM;', 'while', 'true;', 'do', 'sleep', '0.2;', 'done'].join(' ');

/** Runs the CLI against host 1's manager, counting the lines it prints (stdout and stderr): its time and the count. */
function timedLines(m: TestHost, args: string[]): Promise<{ ms: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, TSSWARM_HOST: path.join(m.dataRoot, 'api.sock') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    const count = (b: Buffer) => {
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
    };
    child.stdout.on('data', count);
    child.stderr.on('data', count);
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`tsswarm ${args.join(' ')} exited ${code}`));
      resolve({ ms: Math.round(ms), lines });
    });
  });
}

async function until<T>(what: string, f: () => T | null, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== null) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`no ${what} after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

async function logsRun(hosts: TestHosts, m: TestHost): Promise<{ ms: number; lines: number }> {
  hosts.ok(m, ['service', 'create', '--name', 'chat', '--replicas', '30', '--stop-grace-period', '1s', 'busybox', 'sh', '-c', `seq 1 10000 | sed 's/^/line /'; ${KEEP}`]);
  await until('30 tasks with 10,000 lines each', () => {
    const r = hosts.cli(m, ['service', 'logs', '--raw', '--tail', '1', 'chat']);
    const last = r.stdout.trim().split('\n');
    return last.length === 30 && last.every((l) => l === 'line 10000') ? true : null;
  }, 300_000);
  const r = await timedLines(m, ['service', 'logs', 'chat']);
  if (r.lines !== 300_000) process.stderr.write(`warning: service logs printed ${r.lines} lines, not 300000\n`);
  hosts.ok(m, ['service', 'rm', 'chat']);
  return r;
}

async function execRun(hosts: TestHosts, m: TestHost): Promise<number[]> {
  const h2 = hosts.hosts[1]!;
  hosts.ok(m, ['service', 'create', '--name', 'sh1', '--constraint', `node.hostname==${h2.name}`, '--stop-grace-period', '1s', 'busybox', ...UNTIL_TERM]);
  const task = await until('sh1 running', () => hosts.json<TaskRow[]>(['service', 'ps', 'sh1'], m).find((t) => t.state === 'running') ?? null, 60_000);
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) samples.push((await timedLines(m, ['exec', task.id, 'true'])).ms);
  hosts.ok(m, ['service', 'rm', 'sh1']);
  return samples;
}

async function unhealthyRun(hosts: TestHosts, m: TestHost): Promise<number> {
  hosts.ok(m, ['network', 'create', '-d', 'overlay', 'hnet']);
  hosts.ok(m, ['service', 'create', '--name', 'hw', '--replicas', '2', '--network', 'hnet', '--stop-grace-period', '1s',
    '--health-cmd', 'test -f /tmp/ok', '--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '1', '--health-start-period', '0s',
    'busybox', 'sh', '-c', 'touch /tmp/ok; mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 80 -h /www']);
  hosts.ok(m, ['service', 'create', '--name', 'probe', '--network', 'hnet', 'busybox', 'sh', '-c', 'while true; do r=$(timeout 1 wget -qO- http://hw/ 2>/dev/null || echo fail); echo "$r"; usleep 20000; done']);
  const healthy = () => hosts.json<TaskRow[]>(['service', 'ps', 'hw'], m).filter((t) => t.desiredState === 'running' && t.state === 'running' && t.health === 'healthy');
  const both = await until('two healthy hw tasks', () => (healthy().length === 2 ? healthy() : null), 60_000);
  await until('answers from both', () => {
    const out = hosts.cli(m, ['service', 'logs', '--raw', '--tail', '200', 'probe']).stdout;
    return both.every((t) => out.includes(t.id.slice(0, 12))) ? true : null;
  }, 60_000);
  const victim = both[0]!;
  const t0 = Date.now();
  hosts.ok(m, ['exec', victim.id, 'rm', '/tmp/ok']);
  await until('hw healthy again without the victim', () => {
    const h = healthy();
    return h.length === 2 && !h.some((t) => t.id === victim.id) ? true : null;
  }, 120_000);
  await sleep(3000);
  const lines = hosts.cli(m, ['service', 'logs', '--raw', '--timestamps', 'probe']).stdout.trim().split('\n');
  const hits = lines.filter((l) => l.split(' ')[1] === victim.id.slice(0, 12));
  const last = hits.at(-1);
  const ms = last === undefined ? 0 : Math.max(0, Date.parse(last.split(' ')[0]!) - t0);
  for (const s of ['probe', 'hw']) hosts.ok(m, ['service', 'rm', s]);
  await until('hw and probe gone', () => (hosts.json<TaskRow[]>(['service', 'ls'], m).length === 0 ? true : null), 60_000);
  hosts.ok(m, ['network', 'rm', 'hnet']);
  return ms;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 3;
  const logs: number[] = [];
  const lines: number[] = [];
  const exec: number[] = [];
  const unhealthy: number[] = [];
  const hosts = new TestHosts(3);
  try {
    hosts.start();
    const m = hosts.manager;
    hosts.importBusybox();
    for (let r = 0; r < runs; r++) {
      const l = await logsRun(hosts, m);
      logs.push(l.ms);
      lines.push(l.lines);
      const e = await execRun(hosts, m);
      exec.push(...e);
      unhealthy.push(await unhealthyRun(hosts, m));
      process.stderr.write(`run ${r + 1}: logs ${l.ms} ms (${l.lines} lines), exec median ${median(e)} ms, unhealthy out of the VIP ${unhealthy.at(-1)} ms\n`);
    }
  } finally {
    hosts.destroy();
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), runs, logsMs: median(logs), logsLines: median(lines), execMs: median(exec), unhealthyMs: median(unhealthy), logsMsAll: logs, execMsAll: exec, unhealthyMsAll: unhealthy })}\n`);
}

void main().catch((e: Error) => {
  process.stderr.write(`service-lifecycle: ${e.message}\n`);
  process.exit(1);
});
