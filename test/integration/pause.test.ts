/**
 * Pausing tasks through the cluster, on the real runtime: `service pause|unpause` and
 * `task pause|unpause` freeze and thaw the containers' cgroups (v1 freezer, v2 cgroup.freeze),
 * `service ps` shows them `paused`, a frozen busy loop burns no CPU while the node's heartbeat
 * goes on, an agent restart does not thaw them, new replicas of a paused service are born
 * frozen, and removing a paused stack leaves nothing frozen behind.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestCluster, eventually } from './harness/cluster';
import { removeLeftovers } from './harness/leftovers';

interface TaskRow { id: string; name: string; service: string; desiredState: string; state: string; error: string | null; pid: number | null }
interface NodeRow { hostname: string; status: string }

const STACK = `
services:
  spin:
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
`;
const SERVICE = 'pz_spin';
const CGROUP_ROOT = '/sys/fs/cgroup';

/** A container's cgroup as the kernel reports it for one of its processes. */
interface Cgroup {
  version: 1 | 2;
  /** v1: the freezer hierarchy's directory; v2: the unified one. */
  freezer: string;
  /** v1: the cpuacct hierarchy's directory; v2: the unified one. */
  cpu: string;
}

/** The directory of a v1 controller for `pid`, found through /proc/<pid>/cgroup ("N:cpu,cpuacct:/path"). */
function v1Dir(lines: string[], controller: string): string | null {
  for (const l of lines) {
    const [, list, rel] = l.split(':');
    if (list === undefined || rel === undefined) continue;
    const names = list.split(',');
    if (!names.includes(controller)) continue;
    for (const mount of [list, controller]) {
      const d = path.join(CGROUP_ROOT, mount, rel);
      if (fs.existsSync(d)) return d;
    }
  }
  return null;
}

function cgroupOf(pid: number): Cgroup {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  if (!fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'))) {
    const freezer = v1Dir(lines, 'freezer');
    const cpu = v1Dir(lines, 'cpuacct');
    assert.ok(freezer && cpu, `pid ${pid} has freezer and cpuacct cgroups: ${lines.join(' | ')}`);
    return { version: 1, freezer, cpu };
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  assert.ok(v2, `pid ${pid} has a unified cgroup`);
  const d = path.join(CGROUP_ROOT, v2.slice(3));
  return { version: 2, freezer: d, cpu: d };
}

/** v1: FROZEN / FREEZING / THAWED; v2: FROZEN or THAWED from cgroup.events. */
function freezerState(cg: Cgroup): string {
  if (cg.version === 1) return fs.readFileSync(path.join(cg.freezer, 'freezer.state'), 'utf8').trim();
  return /^frozen 1$/m.test(fs.readFileSync(path.join(cg.freezer, 'cgroup.events'), 'utf8')) ? 'FROZEN' : 'THAWED';
}

/** CPU time the cgroup has used, in nanoseconds. */
function cpuNanos(cg: Cgroup): number {
  if (cg.version === 1) return Number(fs.readFileSync(path.join(cg.cpu, 'cpuacct.usage'), 'utf8').trim());
  const m = /^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(cg.cpu, 'cpu.stat'), 'utf8'));
  assert.ok(m, 'cpu.stat has usage_usec');
  return Number(m[1]) * 1000;
}

/** Milliseconds of CPU each cgroup used over the same one second. */
async function cpuMsPerSecond(cgs: Cgroup[]): Promise<number[]> {
  const t0 = process.hrtime.bigint();
  const a = cgs.map(cpuNanos);
  await new Promise((r) => setTimeout(r, 1000));
  const b = cgs.map(cpuNanos);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return b.map((v, i) => (v - a[i]!) / 1e6 / secs);
}

/**
 * Asserts every cgroup burns > 300 ms of CPU per second. Other work on a busy host can starve a
 * single window, so up to five are tried; the frozen side (< 10 ms) is asserted on one window.
 */
async function assertBusy(cgs: Cgroup[], what: string): Promise<void> {
  let ms: number[] = [];
  for (let i = 0; i < 5; i++) {
    ms = await cpuMsPerSecond(cgs);
    if (ms.every((v) => v > 300)) return;
  }
  assert.fail(`${what}: ${ms.map((v) => v.toFixed(1)).join(', ')} ms/s, expected > 300`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every directory below `dir` (the container cgroups of a cgroup parent). */
function subdirs(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => {
    const p = path.join(dir, e.name);
    return [p, ...subdirs(p)];
  });
}

/**
 * Safety net after teardown: a frozen leftover keeps its processes (SIGKILL waits for a thaw), so
 * the harness could remove neither them nor their cgroups. Thaws and kills whatever of ours is
 * still there, lets the harness remove it, and returns what it found.
 */
async function thawLeftovers(c: TestCluster): Promise<string[]> {
  const v2 = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));
  const frozen = subdirs(path.join(CGROUP_ROOT, v2 ? '' : 'freezer', c.cgroupParent));
  if (frozen.length === 0) return [];
  const pids: number[] = [];
  for (const d of frozen.reverse()) {
    try {
      fs.writeFileSync(path.join(d, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '0' : 'THAWED');
      pids.push(...fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    } catch {
      // gone meanwhile
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await eventually('thawed leftovers to exit', () => pids.every((p) => !alive(p)), 5000).catch(() => undefined);
  removeLeftovers(c.dataRoot, [c.cgroupParent]);
  return frozen;
}

describe('pausing tasks end to end', () => {
  let c: TestCluster;
  let stackFile: string;

  const ps = (service = SERVICE) => c.json<TaskRow[]>(['service', 'ps', service]).filter((t) => t.desiredState === 'running');
  const nodeReady = () => {
    const nodes = c.json<NodeRow[]>(['node', 'ls']);
    return nodes.length === 1 && nodes[0]!.status === 'ready';
  };
  /** The running tasks once they are all in `state`, with live pids. */
  const allIn = (state: string, n: number) =>
    eventually(`${n} tasks of ${SERVICE} ${state}`, () => {
      const ts = ps();
      return ts.length === n && ts.every((t) => t.state === state && t.pid !== null && alive(t.pid)) && ts;
    }, 15000);

  before(() => {
    requireRoot();
    c = new TestCluster('tsswarm-pause');
    c.init();
    c.importBusybox();
    stackFile = path.join(c.dataRoot, 'pause-stack.yml');
    fs.writeFileSync(stackFile, STACK);
    c.ok(['deploy', '-c', stackFile, 'pz']);
  });

  after(async () => {
    if (!c) return;
    try {
      c.destroy();
    } finally {
      const left = await thawLeftovers(c);
      if (left.length) console.error(`pause.test: teardown left frozen cgroups, thawed and removed: ${left.join(', ')}`);
    }
  });

  it('service pause freezes every task: shown paused, cgroup frozen, no CPU, heartbeat still passes', async () => {
    const tasks = await allIn('running', 2);
    const cgs = tasks.map((t) => cgroupOf(t.pid!));
    for (const cg of cgs) {
      assert.ok(cg.freezer.includes(c.cgroupParent), `the container's own cgroup (${cg.freezer}) is under ${c.cgroupParent}`);
      assert.equal(freezerState(cg), 'THAWED');
    }
    await assertBusy(cgs, 'a running busy loop uses CPU');

    const out = c.ok(['service', 'pause', SERVICE]);
    assert.match(out, new RegExp(`^${SERVICE} paused \\(2 tasks\\)\\n$`));
    const paused = await allIn('paused', 2);
    assert.deepEqual(paused.map((t) => `${t.id}:${t.pid}`).sort(), tasks.map((t) => `${t.id}:${t.pid}`).sort(), 'same tasks, same pids');
    for (const [i, cg] of cgs.entries()) assert.equal(freezerState(cg), 'FROZEN', `${tasks[i]!.name} is frozen once shown paused`);
    const idle = await cpuMsPerSecond(cgs);
    for (const ms of idle) assert.ok(ms < 10, `a frozen busy loop uses no CPU: ${ms.toFixed(3)} ms/s`);

    // Over 3+ heartbeat grace periods (1.5 s each): the node stays ready, the tasks stay paused.
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      assert.ok(nodeReady(), 'the node stays ready while its tasks are frozen');
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(ps().every((t) => t.state === 'paused'));
    for (const cg of cgs) assert.equal(freezerState(cg), 'FROZEN');
  });

  it('service unpause thaws them: running again, cgroup thawed, CPU grows', async () => {
    const before = ps();
    const out = c.ok(['service', 'unpause', SERVICE]);
    assert.match(out, new RegExp(`^${SERVICE} unpaused \\(2 tasks\\)\\n$`));
    const tasks = await allIn('running', 2);
    assert.deepEqual(tasks.map((t) => `${t.id}:${t.pid}`).sort(), before.map((t) => `${t.id}:${t.pid}`).sort(), 'same tasks, same pids');
    const cgs = tasks.map((t) => cgroupOf(t.pid!));
    for (const cg of cgs) assert.equal(freezerState(cg), 'THAWED');
    await assertBusy(cgs, 'a thawed busy loop uses CPU again');
  });

  it('task pause freezes only that task; task unpause thaws it; a bad id is one error line', async () => {
    const [one, other] = await allIn('running', 2);
    const out = c.ok(['task', 'pause', one!.id]);
    assert.equal(out, `${one!.id.slice(0, 12)} paused\n`);
    await eventually('only the one task paused', () => {
      const ts = ps();
      return ts.find((t) => t.id === one!.id)?.state === 'paused' && ts.find((t) => t.id === other!.id)?.state === 'running';
    }, 15000);
    const [cgOne, cgOther] = [cgroupOf(one!.pid!), cgroupOf(other!.pid!)];
    assert.equal(freezerState(cgOne), 'FROZEN');
    assert.equal(freezerState(cgOther), 'THAWED');
    const [msOne] = await cpuMsPerSecond([cgOne]);
    assert.ok(msOne! < 10, `the paused task uses no CPU: ${msOne!.toFixed(3)} ms/s`);
    await assertBusy([cgOther], 'the other one still spins');

    // A prefix of the id, as `service ps` shows it, is enough.
    assert.equal(c.ok(['task', 'unpause', one!.id.slice(0, 12)]), `${one!.id.slice(0, 12)} unpaused\n`);
    await allIn('running', 2);
    assert.equal(freezerState(cgOne), 'THAWED');

    for (const args of [['task', 'pause', 'nosuchtask0000'], ['task', 'unpause', 'nosuchtask0000']]) {
      const r = c.cli(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: [^\n]*nosuchtask0000[^\n]*\n$/, 'one error line naming the id');
      assert.doesNotMatch(r.stderr, /internal error/);
    }
    assert.ok(ps().every((t) => t.state === 'running'), 'a bad id changes nothing');
  });

  it('an agent restart keeps paused tasks frozen, with the same pids; unpause works afterwards', async () => {
    c.ok(['service', 'pause', SERVICE]);
    const before = await allIn('paused', 2);
    const cgs = before.map((t) => cgroupOf(t.pid!));
    for (const cg of cgs) assert.equal(freezerState(cg), 'FROZEN');

    const pidFile = path.join(c.dataRoot, 'agent.pid');
    const agentPid = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(agentPid, 'SIGKILL');
    await eventually('a new agent with a session', () => {
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      const session = JSON.parse(fs.readFileSync(path.join(c.dataRoot, 'agent', 'session.json'), 'utf8')) as { state: string };
      return pid !== agentPid && alive(pid) && session.state === 'connected';
    }, 20000);
    // Through a couple of heartbeats after re-attaching: still the same tasks, still frozen.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const now = ps();
      assert.deepEqual(now.map((t) => `${t.id}:${t.pid}:${t.state}`).sort(), before.map((t) => `${t.id}:${t.pid}:paused`).sort(), 'same tasks, same pids, still paused');
      for (const cg of cgs) assert.equal(freezerState(cg), 'FROZEN', 'the new agent did not thaw the container');
    }
    assert.ok(nodeReady());
    for (const ms of await cpuMsPerSecond(cgs)) assert.ok(ms < 10, `still no CPU after the restart: ${ms.toFixed(3)} ms/s`);

    c.ok(['service', 'unpause', SERVICE]);
    const after = await allIn('running', 2);
    assert.deepEqual(after.map((t) => `${t.id}:${t.pid}`).sort(), before.map((t) => `${t.id}:${t.pid}`).sort());
    for (const cg of cgs) assert.equal(freezerState(cg), 'THAWED');
  });

  it('a paused service scaled up gets its new task born paused', async () => {
    c.ok(['service', 'pause', SERVICE]);
    const old = await allIn('paused', 2);
    c.ok(['service', 'scale', `${SERVICE}=3`]);
    const tasks = await allIn('paused', 3);
    const fresh = tasks.filter((t) => !old.some((o) => o.id === t.id));
    assert.equal(fresh.length, 1, 'one new task');
    for (const t of tasks) assert.equal(freezerState(cgroupOf(t.pid!)), 'FROZEN', `${t.name} is frozen`);
    const [ms] = await cpuMsPerSecond([cgroupOf(fresh[0]!.pid!)]);
    assert.ok(ms! < 10, `the new task uses no CPU: ${ms!.toFixed(3)} ms/s`);
  });

  it('removing a paused stack removes its containers and leaves nothing frozen', async () => {
    const tasks = ps();
    assert.equal(tasks.length, 3);
    assert.ok(tasks.every((t) => t.state === 'paused'));
    const pids = tasks.map((t) => t.pid!);
    c.ok(['stack', 'rm', 'pz']);
    assert.deepEqual(c.json<unknown[]>(['stack', 'ls']), []);
    await eventually('the frozen containers to exit', () => pids.every((p) => !alive(p)), 15000);
    await eventually('container cgroups to go', () => c.cgroupDirs().every((d) => subdirs(d).length === 0), 15000);
    await eventually('overlay mounts to go', () => c.mounts().filter((l) => / - overlay /.test(l)).length === 0, 15000);
    assert.ok(nodeReady());
  });
});
