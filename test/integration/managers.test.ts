/**
 * Several managers on three test hosts, each running etcd, a manager and an
 * agent: `tsswarm init` on the first, `tsswarm join --token MANAGER_TOKEN` on
 * the second (its etcd member joins as a learner and becomes a voter), the
 * third joins as a worker and is promoted, demoted and promoted again. The
 * leader's manager is killed; then the leader's host loses power; another
 * manager takes over, the dead node's tasks run elsewhere, and a deploy
 * through a survivor works. Asserts the end state (members, roles, replica
 * counts, processes), never how long it took.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';
import { httpdStack, versionedStack } from './harness/stacks';

interface TaskRow { id: string; name: string; slot: number | null; node: string | null; desiredState: string; state: string }
interface NodeRow { hostname: string; status: string; manager: string | null; role: string }

describe('managers', () => {
  let hosts: TestHosts;

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.start(2);
    hosts.importBusybox();
  });

  after(() => hosts?.destroy());

  const via = (h: TestHost) => ({
    nodes: () => hosts.json<NodeRow[]>(['--host', hosts.api(h), 'node', 'ls'], h),
    tasks: (svc: string) => hosts.json<TaskRow[]>(['--host', hosts.api(h), 'service', 'ps', '--all', svc], h),
  });

  /** etcd's member list, asked inside host 1's namespace (the test hosts' addresses exist only there). */
  const members = () => {
    const r = hosts.etcdctl(hosts.manager, ['member', 'list', '-w', 'json']);
    return (JSON.parse(r.stdout) as { members: { peerURLs: string[]; isLearner?: boolean }[] }).members;
  };
  const voters = (n: number) => eventually(`${n} voting etcd members`, () => members().length === n && members().every((m) => !m.isLearner), 60000);
  const managerPid = (h: TestHost) => {
    try {
      const pid = Number(fs.readFileSync(path.join(h.dataRoot, 'manager.pid'), 'utf8'));
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  };

  it('promotes a worker to manager and demotes it again: its manager and etcd member start and stop', async () => {
    const h3 = hosts.hosts[2]!;
    await voters(2);
    assert.equal(via(hosts.manager).nodes().find((n) => n.hostname === h3.name)?.role, 'worker');
    assert.equal(managerPid(h3), null);
    hosts.ok(hosts.manager, ['node', 'promote', h3.name]);
    await voters(3);
    await eventually('host3 runs a manager that answers', () => managerPid(h3) !== null && via(h3).nodes().find((n) => n.hostname === h3.name)?.manager === 'reachable', 60000);
    // Read before the demote: the agent may restart before the command returns.
    const agentBefore = fs.readFileSync(path.join(h3.dataRoot, 'agent.pid'), 'utf8');
    hosts.ok(hosts.manager, ['node', 'demote', h3.name]);
    await voters(2);
    // Its supervisor stops manager and etcd, removes the member's data (it cannot rejoin with it) and
    // starts the agent again as a worker.
    await eventually('host3 is a worker again: no manager, no etcd data, a new agent, ready', () => {
      const n = via(hosts.manager).nodes().find((x) => x.hostname === h3.name);
      const agentNow = fs.readFileSync(path.join(h3.dataRoot, 'agent.pid'), 'utf8');
      return managerPid(h3) === null && !fs.existsSync(path.join(h3.dataRoot, 'etcd')) && agentNow !== agentBefore && n?.role === 'worker' && n.manager === null && n.status === 'ready';
    }, 60000);
    // And back: a fresh learner on an empty data directory.
    hosts.ok(hosts.manager, ['node', 'promote', h3.name]);
    await voters(3);
  });

  it('joins managers as etcd voters, one leader, the others reachable', async () => {
    const nodes = via(hosts.manager).nodes();
    assert.deepEqual(nodes.map((n) => [n.hostname, n.role, n.status]), hosts.hosts.map((h) => [h.name, 'manager', 'ready']));
    await eventually('one leader and two reachable managers', () => {
      const m = via(hosts.manager).nodes().map((n) => n.manager).sort();
      return m.join() === 'leader,reachable,reachable';
    });
    await voters(3);
    assert.deepEqual(members().flatMap((m) => m.peerURLs).sort(), hosts.hosts.map((h) => `https://${h.addr}:2380`));
    // Every manager answers the same state, and has the image imported through the first.
    for (const h of hosts.hosts.slice(1)) assert.equal(via(h).nodes().length, 3);
    await eventually('busybox copied to every manager', () =>
      hosts.hosts.every((h) => hosts.json<{ ref: string }[]>(['--host', hosts.api(h), 'image', 'ls'], h).some((i) => i.ref === 'busybox:latest')));
    // A tag made through one manager reaches the others; its removal too.
    const has = (h: typeof hosts.manager, ref: string) => hosts.json<{ ref: string }[]>(['--host', hosts.api(h), 'image', 'ls'], h).some((i) => i.ref === ref);
    hosts.ok(hosts.manager, ['image', 'tag', 'busybox', 'busybox:copy']);
    await eventually('the tag on every manager', () => hosts.hosts.every((h) => has(h, 'busybox:copy')));
    const last = hosts.hosts[2]!;
    hosts.ok(last, ['--host', hosts.api(last), 'image', 'rm', 'busybox:copy']);
    await eventually('the tag gone from every manager', () => hosts.hosts.every((h) => !has(h, 'busybox:copy')));
    assert.ok(hosts.hosts.every((h) => has(h, 'busybox:latest')), 'the image itself stays under its other tag');
  });

  it('logs and exec of tasks whose node\'s session is with another manager, asked of the first', async () => {
    const file = path.join(hosts.manager.dataRoot, 'spread.yml');
    fs.writeFileSync(file, ['services:', '  say:', '    image: busybox', `    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from $$(hostname); while true; do sleep 0.2; done"]`, '    stop_grace_period: 1s', '    deploy:', '      replicas: 3', '      placement: { max_replicas_per_node: 1 }', ''].join('\n'));
    hosts.ok(hosts.manager, ['deploy', '-c', file, 'spread']);
    const tasks = via(hosts.manager).tasks('spread_say').filter((t) => t.state === 'running');
    assert.equal(new Set(tasks.map((t) => t.node)).size, 3, 'one task on each host');
    // Each host's agent holds its session with its own host's manager: two of the three are another's.
    const logs = await eventually('a line from each task', () => {
      const r = hosts.cli(hosts.manager, ['service', 'logs', '--raw', 'spread_say']);
      const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('hello from '));
      return lines.length === 3 ? lines : null;
    }, 30000);
    assert.deepEqual(logs.map((l) => l.slice('hello from '.length)).sort(), tasks.map((t) => t.id.slice(0, 12)).sort());
    const far = tasks.find((t) => t.node === hosts.hosts[2]!.name)!;
    const r = hosts.cli(hosts.manager, ['exec', far.id, 'sh', '-c', 'hostname; exit 4']);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout.trim(), far.id.slice(0, 12));
    hosts.ok(hosts.manager, ['stack', 'rm', 'spread']);
  });

  it('a rolling update goes on under a new leader when the leader\'s manager is killed in the middle', async () => {
    interface ServiceRow { name: string; running: number; desired: number; upToDate: number; update: { state: string } | null }
    interface LiveRow { id: string; desiredState: string; state: string; current: boolean }
    const stack = (v: number) => versionedStack(v, 6, ['parallelism: 1', 'delay: 1s', 'monitor: 1s']);
    const file = path.join(hosts.manager.dataRoot, 'upd.yml');
    fs.writeFileSync(file, stack(1));
    hosts.ok(hosts.manager, ['deploy', '-c', file, 'upd']);
    fs.writeFileSync(file, stack(2));
    hosts.ok(hosts.manager, ['deploy', '--detach', '-c', file, 'upd']);
    const svc = (h: TestHost) => hosts.json<ServiceRow[]>(['--host', hosts.api(h), 'service', 'ls'], h).find((x) => x.name === 'upd_web')!;
    await eventually('two slots updated', () => svc(hosts.manager).upToDate >= 2, 60000);
    const leaderName = via(hosts.manager).nodes().find((n) => n.manager === 'leader')!.hostname;
    const leader = hosts.hosts.find((h) => h.name === leaderName)!;
    const other = hosts.hosts.find((h) => h !== leader)!;
    const updatedBefore = hosts.json<LiveRow[]>(['--host', hosts.api(other), 'service', 'ps', 'upd_web'], other).filter((t) => t.desiredState === 'running' && t.current).map((t) => t.id);
    process.kill(managerPid(leader)!, 'SIGKILL');
    const done = await eventually('the update completed under the next leader', () => {
      const s = svc(other);
      return s.update?.state === 'completed' && s.upToDate === 6 && s.running === 6 ? s : undefined;
    }, 120000);
    assert.equal(done.desired, 6);
    const now = hosts.json<LiveRow[]>(['--host', hosts.api(other), 'service', 'ps', 'upd_web'], other).filter((t) => t.desiredState === 'running');
    assert.ok(updatedBefore.every((id) => now.some((t) => t.id === id)), 'the slots updated before the kill were not updated again');
    hosts.ok(other, ['--host', hosts.api(other), 'stack', 'rm', 'upd']);
    await eventually('three managers reachable again', () => via(other).nodes().filter((n) => n.manager === 'leader' || n.manager === 'reachable').length === 3, 60000);
  });

  it('survives the SIGKILL of the leader manager: another leads, no node goes down, no task moves', async () => {
    const file = path.join(hosts.manager.dataRoot, 'pre.yml');
    fs.writeFileSync(file, httpdStack(3));
    hosts.ok(hosts.manager, ['deploy', '-c', file, 'pre']);
    const runningIds = () => via(hosts.manager).tasks('pre_web').filter((t) => t.desiredState === 'running' && t.state === 'running').map((t) => t.id).sort();
    const before = await eventually('3 running', () => (runningIds().length === 3 ? runningIds() : null), 90000);
    const leaderName = via(hosts.manager).nodes().find((n) => n.manager === 'leader')!.hostname;
    const leader = hosts.hosts.find((h) => h.name === leaderName)!;
    const other = hosts.hosts.find((h) => h !== leader)!;
    process.kill(managerPid(leader)!, 'SIGKILL');
    await eventually('another manager leads', () => via(other).nodes().find((n) => n.manager === 'leader')?.hostname !== leaderName, 60000);
    // The killed one's supervisor restarts it; everything stays where it was.
    await eventually('three managers reachable again', () => via(other).nodes().filter((n) => n.manager === 'leader' || n.manager === 'reachable').length === 3, 60000);
    assert.deepEqual(via(other).nodes().map((n) => n.status), ['ready', 'ready', 'ready']);
    assert.deepEqual(runningIds(), before);
    hosts.ok(other, ['--host', hosts.api(other), 'stack', 'rm', 'pre']);
  });

  it('moves the agents of a manager cut off from etcd (its member frozen) to another manager; nothing else changes', async () => {
    const lastSession = (h: TestHost) => {
      const lines = fs.readFileSync(path.join(h.dataRoot, 'logs', 'agent.log'), 'utf8').split('\n').filter((l) => l.includes('session established with '));
      return lines.at(-1)?.split('session established with ')[1]?.trim() ?? null;
    };
    // A manager some agent is connected to (one that does not lead, if there is one).
    const leaderName = via(hosts.manager).nodes().find((n) => n.manager === 'leader')!.hostname;
    const busy = hosts.hosts.filter((m) => hosts.hosts.some((h) => lastSession(h) === `${m.addr}:4242`));
    const x = busy.find((m) => m.name !== leaderName) ?? busy[0]!;
    const onX = hosts.hosts.filter((h) => lastSession(h) === `${x.addr}:4242`);
    const other = hosts.hosts.find((h) => h !== x)!;
    const file = path.join(other.dataRoot, 'mv.yml');
    fs.writeFileSync(file, httpdStack(3));
    hosts.ok(other, ['--host', hosts.api(other), 'deploy', '-c', file, 'mv']);
    const ids = () => via(other).tasks('mv_web').filter((t) => t.desiredState === 'running' && t.state === 'running').map((t) => t.id).sort();
    const before = await eventually('3 running', () => (ids().length === 3 ? ids() : null), 90000);
    const etcdPid = Number(fs.readFileSync(path.join(x.dataRoot, 'etcd.pid'), 'utf8'));
    process.kill(etcdPid, 'SIGSTOP');
    try {
      await eventually('its agents on other managers', () => onX.every((h) => lastSession(h) !== `${x.addr}:4242`), 60000);
      await eventually('all nodes ready', () => via(other).nodes().every((n) => n.status === 'ready'), 30000);
      assert.deepEqual(ids(), before, 'no task was replaced');
    } finally {
      process.kill(etcdPid, 'SIGCONT');
    }
    hosts.ok(other, ['--host', hosts.api(other), 'stack', 'rm', 'mv']);
  });

  it('survives the power cut of the leader host: a survivor leads, the tasks run elsewhere, deploys work', async () => {
    const file = path.join(hosts.manager.dataRoot, 'stack.yml');
    fs.writeFileSync(file, httpdStack(6));
    hosts.ok(hosts.manager, ['--host', hosts.api(hosts.manager), 'deploy', '-c', file, 'ha']);
    const running = (h: TestHost) => via(h).tasks('ha_web').filter((t) => t.desiredState === 'running' && t.state === 'running');
    await eventually('6 running on 3 hosts', () => {
      const r = running(hosts.manager);
      return r.length === 6 && new Set(r.map((t) => t.node)).size === 3;
    }, 90000);
    const leaderName = via(hosts.manager).nodes().find((n) => n.manager === 'leader')!.hostname;
    const leader = hosts.hosts.find((h) => h.name === leaderName)!;
    const survivors = hosts.hosts.filter((h) => h !== leader);
    hosts.killHost(leader);

    const s = survivors[0]!;
    await eventually('a new leader among the survivors, the old one unreachable and down', () => {
      const nodes = via(s).nodes();
      const old = nodes.find((n) => n.hostname === leaderName);
      const led = nodes.find((n) => n.manager === 'leader');
      return old?.status === 'down' && old.manager === 'unreachable' && led !== undefined && led.hostname !== leaderName;
    }, 60000);
    await eventually('6 running on the survivors, one per slot', () => {
      const all = via(s).tasks('ha_web');
      const live = all.filter((t) => t.desiredState === 'running');
      const r = live.filter((t) => t.state === 'running');
      return live.length === 6 && r.length === 6 && r.every((t) => t.node !== leaderName) && new Set(r.map((t) => t.slot)).size === 6;
    }, 90000);

    // A deploy through the other survivor.
    const other = survivors[1]!;
    const file2 = path.join(other.dataRoot, 'stack2.yml');
    fs.writeFileSync(file2, httpdStack(4));
    hosts.ok(other, ['--host', hosts.api(other), 'deploy', '-c', file2, 'after']);
    await eventually('the new stack running on the survivors', () => {
      const r = via(other).tasks('after_web').filter((t) => t.desiredState === 'running' && t.state === 'running');
      return r.length === 4 && r.every((t) => t.node !== leaderName);
    }, 90000);
    // What really runs: 10 httpd processes on the survivors, none on the dead host.
    const httpds = (h: TestHost) => hosts.containerPids(h).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('httpd');
      } catch {
        return false;
      }
    }).length;
    // As many on each host as the API says run there.
    const expected = () => {
      const rows = [...via(other).tasks('ha_web'), ...via(other).tasks('after_web')].filter((t) => t.desiredState === 'running' && t.state === 'running');
      return hosts.hosts.map((h) => rows.filter((t) => t.node === h.name).length);
    };
    let seen: number[] = [];
    await eventually('10 httpd processes on the survivors', () => {
      seen = hosts.hosts.map(httpds);
      return seen.join() === expected().join() && seen.reduce((a, b) => a + b, 0) === 10;
    }).catch(() => assert.deepEqual(seen, expected(), 'httpd processes per host vs the tasks running there'));
  });
});
