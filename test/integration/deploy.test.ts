/**
 * One host, end to end, through the CLI: init, import the busybox image,
 * deploy a replicated and a global service, look at the containers through
 * /proc, scale, remove, refuse bad stack files, and leave nothing behind.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestCluster, eventually } from './harness/cluster';

interface ServiceRow { name: string; mode: string; desired: number; running: number; image: string }
interface TaskRow { id: string; name: string; service: string; slot: number | null; node: string | null; desiredState: string; state: string; error: string | null; pid: number | null }
interface NodeRow { id: string; hostname: string; status: string; availability: string; manager: string | null }

const STACK = `
x-defaults: &defaults
  image: busybox
  stop_grace_period: 1s
services:
  web:
    <<: *defaults
    command: httpd -f -p 8080 -h /var/www
    environment:
      GREETING: \${GREETING:-hi}
    deploy:
      replicas: 3
      resources:
        limits:
          memory: 48M
          pids: 64
  watcher:
    <<: *defaults
    hostname: watcher-host
    command: ["sh", "-c", "while true; do sleep 1; done"]
    deploy:
      mode: global
`;

function nsOf(pid: number | 'self', ns: string): string {
  return fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
}

function memoryLimit(pid: number): number {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (v1) {
    const p = v1.split(':')[2]!;
    return Number(fs.readFileSync(path.join('/sys/fs/cgroup/memory', p, 'memory.limit_in_bytes'), 'utf8'));
  }
  const v2 = lines.find((l) => l.startsWith('0::'))!;
  return Number(fs.readFileSync(path.join('/sys/fs/cgroup', v2.slice(3), 'memory.max'), 'utf8'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('one-host deploy end to end', () => {
  let c: TestCluster;
  let stackDir: string;

  before(() => {
    requireRoot();
    c = new TestCluster('tsswarm-e2e');
    c.init();
    stackDir = path.join(c.dataRoot, 'stacks');
    fs.mkdirSync(stackDir);
  });

  after(() => {
    c?.destroy();
  });

  it('lists this host as a ready manager node', () => {
    const nodes = c.json<NodeRow[]>(['node', 'ls']);
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0]!.hostname, 'testhost');
    assert.equal(nodes[0]!.status, 'ready');
    assert.equal(nodes[0]!.availability, 'active');
    assert.equal(nodes[0]!.manager, 'leader');
  });

  it('imports the busybox image', () => {
    c.importBusybox();
    const images = c.json<{ ref: string }[]>(['image', 'ls']);
    assert.deepEqual(images.map((i) => i.ref), ['busybox:latest']);
  });

  it('deploys a stack and runs real, isolated containers', () => {
    const file = path.join(stackDir, 'stack.yml');
    fs.writeFileSync(file, STACK);
    c.ok(['deploy', '-c', file, 'demo']);
    const services = c.json<ServiceRow[]>(['service', 'ls']);
    // The tag is pinned to the digest the cluster has (an imported image: no registry asked).
    const digest = c.json<{ ref: string; digest: string }[]>(['image', 'ls'])[0]!.digest;
    assert.deepEqual(
      services.map((s) => [s.name, s.mode, s.running, s.desired, s.image]),
      [['demo_watcher', 'global', 1, 1, `busybox:latest@${digest}`], ['demo_web', 'replicated', 3, 3, `busybox:latest@${digest}`]],
    );
    assert.match(c.ok(['service', 'ls']), /demo_web +replicated +3\/3 +busybox:latest\s/, 'the table shows the tag');
    const tasks = c.json<TaskRow[]>(['stack', 'ps', 'demo']).filter((t) => t.desiredState === 'running');
    assert.equal(tasks.length, 4);
    for (const t of tasks) {
      assert.equal(t.state, 'running', `${t.name}: ${t.error}`);
      assert.equal(t.node, 'testhost');
      const pid = t.pid!;
      assert.ok(pid > 0 && alive(pid), `${t.name} has a live pid`);
      for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net']) assert.notEqual(nsOf(pid, ns), nsOf('self', ns), `${t.name}: ${ns} namespace`);
      const root = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
      assert.match(root ?? '', / - overlay /, `${t.name}: root is an overlay mount`);
      const hostname = spawnSync('nsenter', ['-t', String(pid), '-u', 'cat', '/proc/sys/kernel/hostname'], { encoding: 'utf8' }).stdout.trim();
      if (t.service === 'demo_web') {
        assert.equal(hostname, t.id.slice(0, 12));
        assert.equal(memoryLimit(pid), 48 * 1024 * 1024);
        const page = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, '/bin/busybox', 'wget', '-qO-', 'http://127.0.0.1:8080/'], { encoding: 'utf8' });
        assert.match(page.stdout, /hello from tsswarm/, `${t.name}: httpd answers inside its network namespace`);
        const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        assert.ok(env.includes('GREETING=hi'), 'interpolated environment reaches the container');
      } else {
        assert.equal(hostname, 'watcher-host');
      }
    }
  });

  it('scales up and down', async () => {
    c.ok(['service', 'scale', 'demo_web=5']);
    let web = c.json<TaskRow[]>(['service', 'ps', 'demo_web']).filter((t) => t.desiredState === 'running');
    assert.equal(web.length, 5);
    assert.ok(web.every((t) => t.state === 'running' && t.pid && alive(t.pid)));
    assert.equal(new Set(web.map((t) => t.pid)).size, 5);
    const before = web.map((t) => t.pid!);
    c.ok(['service', 'scale', 'demo_web=1']);
    web = c.json<TaskRow[]>(['service', 'ps', 'demo_web']).filter((t) => t.desiredState === 'running');
    assert.equal(web.length, 1);
    const keep = web[0]!.pid!;
    await eventually('stopped replicas to exit', () => before.filter((p) => p !== keep).every((p) => !alive(p)));
    assert.equal(c.json<ServiceRow[]>(['service', 'ls']).find((s) => s.name === 'demo_web')!.running, 1);
  });

  it('keeps state and containers through a manager and agent crash', async () => {
    const running = () => c.json<TaskRow[]>(['stack', 'ps', 'demo']).filter((t) => t.desiredState === 'running');
    const before = new Map(running().map((t) => [t.id, t.pid]));
    const pidOf = (name: string) => Number(fs.readFileSync(path.join(c.dataRoot, `${name}.pid`), 'utf8'));
    const old = { manager: pidOf('manager'), agent: pidOf('agent') };
    process.kill(old.manager, 'SIGKILL');
    process.kill(old.agent, 'SIGKILL');
    // The supervisor restarts both; the new agent re-attaches to the containers.
    await eventually('manager and agent to come back', () => {
      if (pidOf('manager') === old.manager || pidOf('agent') === old.agent) return false;
      const nodes = c.json<NodeRow[]>(['node', 'ls']);
      return nodes.length === 1 && nodes[0]!.status === 'ready';
    });
    await new Promise((r) => setTimeout(r, 1500));
    const after = running();
    assert.deepEqual(new Map(after.map((t) => [t.id, t.pid])), before, 'same tasks, same container PIDs');
    assert.ok(after.every((t) => t.state === 'running' && alive(t.pid!)));
  });

  it('refuses bad stack files and changes nothing', () => {
    const beforeServices = c.ok(['service', 'ls', '--format', 'json']);
    const bad: [string, RegExp][] = [
      ['services:\n  web:\n    image: busybox\n    deploy:\n      replicas: -1\n', /replicas/],
      ['services:\n  web:\n    image: busybox\n    deploy:\n      replicas: "three"\n', /replicas/],
      ['services:\n  web:\n    command: sh\n', /image/],
      ['services:\n  web:\n    image: busybox\n    depends_on: [db]\n', /db/],
      ['services:\n  web:\n    image: busybox\n    environment: 5\n', /environment/],
      ['services:\n  web:\n    image: busybox\n  api:\n    image: nosuchimage\n', /nosuchimage/],
      ['services: [\n', /line/i],
    ];
    for (const [text, why] of bad) {
      const file = path.join(stackDir, 'bad.yml');
      fs.writeFileSync(file, text);
      const r = c.cli(['deploy', '-c', file, 'demo']);
      assert.equal(r.code, 1, `should fail: ${text}`);
      const lines = r.stderr.trim().split('\n');
      const errLine = lines.find((l) => l.startsWith('error: '));
      assert.ok(errLine, `one error line for: ${text}\n${r.stderr}`);
      assert.match(errLine, why);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(c.ok(['service', 'ls', '--format', 'json']), beforeServices);
  });

  it('removes the stack and everything of it', async () => {
    const pids = c.json<TaskRow[]>(['stack', 'ps', 'demo']).map((t) => t.pid).filter((p): p is number => p !== null);
    assert.ok(pids.length >= 2);
    c.ok(['stack', 'rm', 'demo']);
    assert.deepEqual(c.json<unknown[]>(['stack', 'ls']), []);
    assert.deepEqual(c.json<unknown[]>(['service', 'ls']), []);
    await eventually('containers to exit', () => pids.every((p) => !alive(p)));
    await eventually('overlay mounts to go', () => c.mounts().filter((l) => / - overlay /.test(l)).length === 0);
    await eventually('container cgroups to go', () => c.cgroupDirs().every((d) => fs.readdirSync(d, { withFileTypes: true }).every((e) => !e.isDirectory())));
  });

  it('down stops everything it started and leaves nothing behind', () => {
    c.ok(['down', '--data-root', c.dataRoot]);
    assert.deepEqual(c.processes(), []);
    assert.deepEqual(c.mounts(), []);
    assert.deepEqual(c.cgroupDirs(), []);
    const r = c.cli(['service', 'ls']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: cannot reach the manager/);
  });
});
