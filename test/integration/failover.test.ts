/**
 * Fault injection on three test hosts: an agent restart keeps its containers;
 * drain and pause; a partitioned worker's tasks are replaced and, once the
 * partition heals, stopped on it; a dead worker host's tasks run elsewhere;
 * node rm and labels. Every test asserts the end state (replica counts, where
 * tasks run, which processes are left), never how long it took.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';
import { httpdStack } from './harness/stacks';

interface TaskRow { id: string; name: string; node: string | null; desiredState: string; state: string; pid: number | null }
interface NodeRow { hostname: string; status: string; availability: string }

const REPLICAS = 6;

describe('failover', () => {
  let hosts: TestHosts;
  let file: string;

  const tasks = () => hosts.json<TaskRow[]>(['service', 'ps', '--all', 'fo_web']);
  const live = () => tasks().filter((t) => t.desiredState === 'running');
  const running = () => live().filter((t) => t.state === 'running');
  const nodeState = (name: string) => hosts.json<NodeRow[]>(['node', 'ls']).find((n) => n.hostname === name);
  /** Processes in the host's containers that are httpd: what is really running there. */
  const httpds = (h: TestHost) => hosts.containerPids(h).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('httpd');
    } catch {
      return false;
    }
  });
  const allHttpds = () => hosts.hosts.reduce((n, h) => n + httpds(h).length, 0);
  /** Exactly REPLICAS tasks running, none on `avoid`, and as many httpd processes on the hosts. */
  const settledWithout = async (what: string, avoid: string | null) =>
    eventually(what, () => {
      const r = running();
      return live().length === REPLICAS && r.length === REPLICAS && r.every((t) => t.node !== avoid) && allHttpds() === REPLICAS;
    }, 90000);

  before(async () => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.start();
    const m = hosts.manager;
    hosts.importBusybox();
    file = path.join(m.dataRoot, 'fo.yml');
    fs.writeFileSync(file, httpdStack(REPLICAS));
    hosts.ok(m, ['deploy', '-c', file, 'fo']);
    await settledWithout('the stack to run', null);
    for (const h of hosts.hosts) assert.ok(running().some((t) => t.node === h.name), `a task on ${h.name}`);
  });

  after(() => {
    hosts?.destroy();
  });

  it('an agent restart keeps its containers: same tasks, same PIDs, nothing restarted', async () => {
    const h = hosts.hosts[1]!;
    const mine = () => running().filter((t) => t.node === h.name).map((t) => `${t.id}:${t.pid}`).sort();
    const before = mine();
    assert.ok(before.length > 0);
    const pidFile = path.join(h.dataRoot, 'agent.pid');
    const agentPid = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(agentPid, 'SIGKILL');
    // The supervisor starts a new agent, which re-attaches and reports.
    await eventually('a new agent with a session', () => {
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      const session = JSON.parse(fs.readFileSync(path.join(h.dataRoot, 'agent', 'session.json'), 'utf8')) as { state: string };
      return pid !== agentPid && fs.existsSync(`/proc/${pid}`) && session.state === 'connected';
    });
    await settledWithout('the service to stay as it was', null);
    assert.deepEqual(mine(), before);
    for (const t of before) assert.ok(fs.existsSync(`/proc/${t.split(':')[1]}`), `container ${t} still runs`);
  });

  it('pause keeps a node\'s tasks but places nothing new there; drain moves them away, new ones first', async () => {
    const h = hosts.hosts[2]!;
    hosts.ok(hosts.manager, ['node', 'update', '--availability', 'pause', h.name]);
    const kept = running().filter((t) => t.node === h.name).map((t) => t.id).sort();
    hosts.ok(hosts.manager, ['service', 'scale', 'fo_web=9']);
    const scaled = await eventually('9 running', () => running().length === 9 && running());
    assert.deepEqual(scaled.filter((t) => t.node === h.name).map((t) => t.id).sort(), kept, 'no new task on the paused node');
    hosts.ok(hosts.manager, ['service', 'scale', `fo_web=${REPLICAS}`]);
    await settledWithout('back to 6', 'nowhere');

    hosts.ok(hosts.manager, ['node', 'update', '--availability', 'drain', h.name]);
    await settledWithout('the drained node to be empty', h.name);
    assert.deepEqual(httpds(h), [], 'no container left on the drained node');
    assert.equal(nodeState(h.name)?.availability, 'drain');
    hosts.ok(hosts.manager, ['node', 'update', '--availability', 'active', h.name]);
    assert.equal(nodeState(h.name)?.availability, 'active');
  });

  it('a partitioned worker: its tasks run elsewhere, and once it is back it stops them', async () => {
    const h = hosts.hosts[1]!;
    assert.ok(running().some((t) => t.node === h.name), 'the worker has tasks to lose');
    hosts.setLink(h, false);
    try {
      await eventually('the node to be down', () => nodeState(h.name)?.status === 'down');
      // Its containers still run (it cannot know); the cluster runs the replicas elsewhere.
      await eventually('6 running elsewhere', () => live().length === REPLICAS && running().length === REPLICAS && running().every((t) => t.node !== h.name), 90000);
      assert.ok(tasks().some((t) => t.node === h.name && t.state === 'orphaned'), 'its tasks are orphaned');
    } finally {
      hosts.setLink(h, true);
    }
    await eventually('the node to be ready again', () => nodeState(h.name)?.status === 'ready');
    await settledWithout('the healed node to stop what is no longer its own', h.name);
    assert.deepEqual(httpds(h), []);
  });

  it('a dead worker host: all its processes gone, its tasks running elsewhere', async () => {
    const h = hosts.hosts[2]!;
    hosts.ok(hosts.manager, ['service', 'scale', 'fo_web=0']);
    await eventually('no task', () => live().length === 0 && allHttpds() === 0);
    hosts.ok(hosts.manager, ['service', 'scale', `fo_web=${REPLICAS}`]);
    await settledWithout('a spread again', null);
    assert.ok(running().some((t) => t.node === h.name), 'the host has tasks to lose');
    hosts.killHost(h);
    assert.deepEqual(hosts.hostPids(h), [], 'nothing of the host is left running');
    await eventually('the node to be down', () => nodeState(h.name)?.status === 'down');
    await settledWithout('6 running on the survivors', h.name);
  });

  it('node rm refuses a live node without --force, removes the dead one; labels are added and removed', () => {
    const m = hosts.manager;
    const live2 = hosts.cli(m, ['node', 'rm', 'host2']);
    assert.equal(live2.code, 1);
    assert.match(live2.stderr, /^error: node host2 is ready, not down; stop it first or use --force\n$/);
    hosts.ok(m, ['node', 'rm', 'host3']);
    assert.deepEqual(hosts.json<NodeRow[]>(['node', 'ls']).map((n) => n.hostname), ['host1', 'host2']);
    assert.deepEqual(running().length, REPLICAS);

    hosts.ok(m, ['node', 'update', '--label-add', 'zone=a', '--label-add', 'disk=ssd', 'host2']);
    const [n] = JSON.parse(hosts.ok(m, ['node', 'inspect', 'host2'])) as { labels: Record<string, string> }[];
    assert.deepEqual(n!.labels, { zone: 'a', disk: 'ssd' });
    hosts.ok(m, ['node', 'update', '--label-rm', 'disk', 'host2']);
    const [n2] = JSON.parse(hosts.ok(m, ['node', 'inspect', 'host2'])) as { labels: Record<string, string> }[];
    assert.deepEqual(n2!.labels, { zone: 'a' });

    const bad = hosts.cli(m, ['node', 'update', '--availability', 'sleepy', 'host2']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: invalid availability sleepy: use active, pause or drain\n$/);
    const missing = hosts.cli(m, ['node', 'update', '--label-rm', 'nope', 'host2']);
    assert.match(missing.stderr, /^error: label nope is not on node host2\n$/);
    const unknown = hosts.cli(m, ['node', 'rm', 'host9']);
    assert.match(unknown.stderr, /^error: node host9 not found\n$/);
  });

  it('tsswarm update changes the heartbeat settings on every agent; bad values change nothing', async () => {
    const m = hosts.manager;
    assert.equal(hosts.ok(m, ['update', '--heartbeat-period', '250ms', '--heartbeat-grace', '1s']), 'heartbeat every 250ms, node down after 1000ms of silence\n');
    const log = path.join(hosts.hosts[1]!.dataRoot, 'logs', 'agent.log');
    await eventually('the agent to take the new settings', () => fs.readFileSync(log, 'utf8').includes('heartbeat every 250 ms, grace 1000 ms'));
    const bad = hosts.cli(m, ['update', '--heartbeat-period', '2s']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: heartbeat grace must be at least twice the period \(4000ms\) and at most 600s\n$/);
    const junk = hosts.cli(m, ['update', '--heartbeat-grace', 'soon']);
    assert.match(junk.stderr, /^error: --heartbeat-grace: invalid duration "soon"/);
    // Nothing changed by the refusals; the nodes stay ready under the new settings.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(hosts.json<NodeRow[]>(['node', 'ls']).map((n) => n.status), ['ready', 'ready']);
    assert.equal(running().length, REPLICAS);
  });
});
