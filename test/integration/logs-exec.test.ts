/**
 * `service logs` and `exec` across three test hosts, by the real CLI: the shim's framed logs read by
 * each host's agent, streamed over the agents' mutually authenticated gRPC to the manager and merged
 * in time order; `--tail`, `--timestamps`, `--raw`, stdout and stderr kept apart; `-f` following a
 * task that starts after it began, and ending a host's logs with a notice when the host goes down;
 * `exec` into a task on another host (its hostname, its exit code, stdin, a terminal with its size,
 * Ctrl-C) and its bad input.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';

interface TaskRow { id: string; name: string; node: string | null; desiredState: string; state: string }

const cliPath = path.resolve(__dirname, '..', '..', 'cli', 'main.js');
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

/** Each task writes numbered lines on stdout and on stderr, every 50 ms, until stopped. */
const talker = (replicas: number) => [
  'services:',
  '  talk:',
  '    image: busybox',
  `    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo \\"out $$(hostname) $$i\\"; echo \\"err $$(hostname) $$i\\" >&2; i=$$((i+1)); sleep 0.05; done"]`,
  '    stop_grace_period: 1s',
  '    deploy:',
  `      replicas: ${replicas}`,
  '      placement: { max_replicas_per_node: 1 }',
  '',
].join('\n');

describe('service logs and exec across hosts', () => {
  let hosts: TestHosts;
  let m: TestHost;
  const running = (service: string) => hosts.json<TaskRow[]>(['service', 'ps', service]).filter((t) => t.desiredState === 'running' && t.state === 'running');

  before(async () => {
    requireRoot();
    hosts = new TestHosts(3);
    m = hosts.manager;
    hosts.start();
    hosts.importBusybox();
    const file = path.join(m.dataRoot, 'talk.yml');
    fs.writeFileSync(file, talker(2));
    hosts.ok(m, ['deploy', '-c', file, 'lg']);
    // Some lines in every task's log first.
    await new Promise((r) => setTimeout(r, 1500));
  });

  after(() => {
    hosts?.destroy();
  });

  it('merges the tasks of two hosts in time order, stdout and stderr apart, with Docker\'s prefix', () => {
    const tasks = running('lg_talk');
    assert.equal(tasks.length, 2);
    assert.equal(new Set(tasks.map((t) => t.node)).size, 2, 'on two hosts');
    const r = hosts.cli(m, ['service', 'logs', '--timestamps', 'lg_talk']);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.trim().split('\n');
    const err = r.stderr.trim().split('\n');
    const parse = (l: string) => {
      const mm = /^(lg_talk\.\d+\.[a-z0-9]{12})@(\S+) {4}\| (\S+) (out|err) (\S+) (\d+)$/.exec(l);
      assert.ok(mm, `a prefixed line: ${JSON.stringify(l)}`);
      return { task: mm[1]!, node: mm[2]!, time: mm[3]!, kind: mm[4]!, host: mm[5]!, n: Number(mm[6]) };
    };
    const outs = out.map(parse);
    const errs = err.map(parse);
    assert.ok(outs.every((l) => l.kind === 'out'), 'stdout holds the stdout lines only');
    assert.ok(errs.every((l) => l.kind === 'err'), 'stderr holds the stderr lines only');
    for (const l of outs) assert.match(l.time, TIME);
    const times = outs.map((l) => l.time);
    assert.deepEqual(times, [...times].sort(), 'in time order');
    const nodes = new Set(outs.map((l) => l.node));
    assert.deepEqual([...nodes].sort(), tasks.map((t) => t.node!).sort(), 'lines from both hosts');
    // Each task's lines are all there, in order, from its first.
    for (const t of new Set(outs.map((l) => l.task))) {
      const ns = outs.filter((l) => l.task === t).map((l) => l.n);
      assert.equal(ns[0], 0, `${t} from its first line`);
      assert.deepEqual(ns, ns.map((_, i) => i), `${t}: every line once, in order`);
    }
  });

  it('--tail N gives the last N lines of each task, both streams counted together; --raw leaves the prefix out', async () => {
    // Tasks that have written all they will: their whole log is known, so the tail can be checked exactly.
    hosts.ok(m, ['service', 'create', '--name', 'quiet', '--replicas', '2', '--replicas-max-per-node', '1', '--stop-grace-period', '1s', 'busybox', 'sh', '-c',
      "for i in $(seq 1 20); do echo out $(hostname) $i; echo err $(hostname) $i >&2; done; trap 'exit 0' TERM; while true; do sleep 0.2; done"]);
    interface Line { kind: string; task: string; stream: string; text: string }
    const events = (args: string[]) => hosts.cli(m, ['service', 'logs', '--format', 'json', ...args, 'quiet']).stdout.trim().split('\n').map((l) => JSON.parse(l) as Line).filter((e) => e.kind === 'line');
    const all = await eventually('all 80 lines of quiet', () => {
      const e = events([]);
      return e.length === 80 ? e : null;
    }, 30000);
    const tail = events(['--tail', '4']);
    for (const task of new Set(all.map((e) => e.task))) {
      const want = all.filter((e) => e.task === task).slice(-4).map((e) => `${e.stream} ${e.text}`);
      assert.deepEqual(tail.filter((e) => e.task === task).map((e) => `${e.stream} ${e.text}`), want, `task ${task}: its last 4 lines`);
    }
    assert.equal(tail.length, 8);
    const raw = hosts.cli(m, ['service', 'logs', '--tail', '4', '--raw', 'quiet']);
    assert.equal(raw.code, 0, raw.stderr);
    const out = raw.stdout.trim().split('\n');
    const err = raw.stderr.trim().split('\n');
    assert.equal(out.length + err.length, 8, `${raw.stdout}${raw.stderr}`);
    assert.ok(out.every((l) => /^out \S+ \d+$/.test(l)), raw.stdout);
    assert.ok(err.every((l) => /^err \S+ \d+$/.test(l)), raw.stderr);
    hosts.ok(m, ['service', 'rm', 'quiet']);
  });

  it('logs of one task by its id; a service or task that does not exist is one line', () => {
    const t = running('lg_talk')[0]!;
    const r = hosts.cli(m, ['service', 'logs', '--tail', '2', t.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^lg_talk\\.\\d+\\.${t.id.slice(0, 12)}@${t.node}    \\| out \\S+ \\d+\n$`));
    assert.match(r.stderr, new RegExp(`^lg_talk\\.\\d+\\.${t.id.slice(0, 12)}@${t.node}    \\| err \\S+ \\d+\n$`));
    const bad = hosts.cli(m, ['service', 'logs', 'nosuch']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'error: no such service or task: nosuch\n');
    const badTail = hosts.cli(m, ['service', 'logs', '--tail', 'x', 'lg_talk']);
    assert.equal(badTail.code, 1);
    assert.match(badTail.stderr, /^error: invalid --tail "x"/);
  });

  it('exec into a task on another host: its hostname, its exit code, stdin', () => {
    const remote = running('lg_talk').find((t) => t.node !== m.name);
    assert.ok(remote, 'a task on another host');
    const hn = hosts.cli(m, ['exec', remote.id, 'hostname']);
    assert.equal(hn.code, 0, hn.stderr);
    assert.equal(hn.stdout.trim(), remote.id.slice(0, 12), 'the container\'s hostname');
    const code = hosts.cli(m, ['exec', remote.id, 'sh', '-c', 'echo to-err >&2; exit 3']);
    assert.equal(code.code, 3);
    assert.equal(code.stderr, 'to-err\n');
    const input = hosts.cli(m, ['exec', '-i', remote.id, 'sh', '-c', 'tr a-z A-Z'], 'hello from stdin\n');
    assert.equal(input.code, 0, input.stderr);
    assert.equal(input.stdout, 'HELLO FROM STDIN\n');
    const env = hosts.cli(m, ['exec', '-e', 'GREETING=hi', '-w', '/tmp', '-u', 'nobody', remote.id, 'sh', '-c', 'echo $GREETING $(pwd) $(id -u)']);
    assert.equal(env.stdout.trim(), 'hi /tmp 65534', env.stderr);
  });

  it('exec with a terminal: its size, and Ctrl-C reaches the process inside', async () => {
    const remote = running('lg_talk').find((t) => t.node !== m.name)!;
    // `script` gives the CLI a terminal of 33 rows and 101 columns; the command reports its own.
    const cmd = `stty rows 33 cols 101; exec ${process.execPath} ${cliPath} exec -it ${remote.id} sh -c 'stty size; trap "echo interrupted; exit 7" INT; echo ready; while true; do sleep 0.1; done'`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, TSSWARM_HOST: path.join(m.dataRoot, 'api.sock') }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    try {
      await eventually('the process inside to be ready', () => (out.includes('ready') ? true : null), 20000).catch((e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(out)}`);
      });
      assert.match(out, /33 101/, `the terminal's size inside: ${JSON.stringify(out)}`);
      child.stdin.write('\x03');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15000))]);
      assert.match(out, /interrupted/, JSON.stringify(out));
      assert.equal(code, 7, 'the exit code of the process inside');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exec bad input: one line each, exit codes as Docker', () => {
    const t = running('lg_talk')[0]!;
    const missing = hosts.cli(m, ['exec', t.id, 'no-such-command']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /^error: .*no-such-command.*\n$/);
    const none = hosts.cli(m, ['exec', 'nosuch', 'true']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'error: no such task or service: nosuch\n');
    const noCmd = hosts.cli(m, ['exec', t.id]);
    assert.equal(noCmd.code, 1);
    assert.match(noCmd.stderr, /^error: usage: tsswarm exec/);
  });

  it('-f follows a task that starts after it began, and ends a host\'s logs with a notice when the host goes down', async () => {
    const f = hosts.follow(['service', 'logs', '-f', '--tail', '0', 'lg_talk']);
    try {
      const file = path.join(m.dataRoot, 'talk.yml');
      fs.writeFileSync(file, talker(3));
      hosts.ok(m, ['deploy', '-c', file, 'lg']);
      const third = running('lg_talk');
      assert.equal(third.length, 3);
      const nodes = new Set(third.map((t) => t.node));
      // Lines from all three hosts, the new task's from its first line.
      await eventually('lines from three hosts', () => (new Set(f.lines.map((l) => /@(\S+) {4}\|/.exec(l)?.[1])).size >= 3 ? true : null), 30000);
      assert.ok([...nodes].every((n) => f.lines.some((l) => l.includes(`@${n}    |`))));
      const victim = hosts.hosts[2]!;
      const victimTask = third.find((t) => t.node === victim.name);
      assert.ok(victimTask, 'a task on the third host');
      hosts.killHost(victim);
      const notice = await eventually('the notice that the host is down', () => f.errLines.find((l) => l.includes(`@${victim.name}`) && l.includes('is down')) ?? null, 40000);
      assert.match(notice, new RegExp(`^lg_talk\\.\\d+\\.${victimTask.id.slice(0, 12)}@${victim.name} {4}\\| ${victim.name} is down: its logs end here$`));
      assert.equal(f.errLines.filter((l) => l.includes('is down')).length, 1, 'one notice');
      // The others go on.
      const count = f.lines.length;
      await eventually('more lines from the hosts still up', () => (f.lines.length > count + 5 ? true : null), 20000);
    } finally {
      f.stop();
    }
  });
});
