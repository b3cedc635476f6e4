/**
 * Three test hosts (network namespaces on a test bridge): join with tokens,
 * node ls, refusals, and services spread over the hosts, their images pulled
 * from the manager's registry by the workers.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts } from './harness/hosts';
import { eventually } from './harness/cluster';

interface NodeRow { id: string; hostname: string; addr: string; status: string; availability: string; manager: string | null; cpus: number; memoryBytes: number }
interface TaskRow { name: string; service: string; node: string | null; desiredState: string; state: string; pid: number | null; error: string | null }
interface ServiceRow { name: string; desired: number; running: number }

describe('several hosts', () => {
  let hosts: TestHosts;

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.createNetwork();
    hosts.initManager();
  });

  after(() => {
    hosts?.destroy();
  });

  it('refuses a join with a wrong token, saying why', () => {
    const { token, managerAddr } = hosts.joinToken();
    const h = hosts.hosts[1]!;
    // The cluster's CA digest, another secret.
    const bad = `${token.slice(0, -25)}${'0'.repeat(25)}`;
    const r = hosts.cli(h, hosts.joinArgs(h, bad, managerAddr));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: the manager refused this node: invalid join token \(rotated, or of another cluster\)\n$/);
    assert.deepEqual(hosts.processes().filter((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(h.dataRoot)), [], 'nothing left running on the refused host');
    const r2 = hosts.cli(h, hosts.joinArgs(h, 'not-a-token', managerAddr));
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /^error: invalid join token/);
  });

  it('joins two workers; node ls shows every host with its address', () => {
    const out = hosts.ok(hosts.manager, ['join-token', 'worker']);
    assert.match(out, /tsswarm join --token SWMTKN-1-\S+ 10\.213\.0\.1:\d+/);
    hosts.joinWorkers();
    const nodes = hosts.json<NodeRow[]>(['node', 'ls']);
    assert.deepEqual(
      nodes.map((n) => [n.hostname, n.addr, n.status, n.availability, n.manager]),
      [
        ['host1', '10.213.0.1', 'ready', 'active', 'leader'],
        ['host2', '10.213.0.2', 'ready', 'active', null],
        ['host3', '10.213.0.3', 'ready', 'active', null],
      ],
    );
    for (const n of nodes) assert.ok(n.cpus >= 1 && n.memoryBytes > 2 ** 28, `${n.hostname} reports its resources`);
  });

  it('refuses a second join of the same host', () => {
    const h = hosts.hosts[2]!;
    const { token, managerAddr } = hosts.joinToken();
    const r = hosts.cli(h, hosts.joinArgs(h, token, managerAddr));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: this host is already part of a cluster/);
    // The same address from a fresh data root is refused by the manager.
    const other = { ...h, dataRoot: `${h.dataRoot}-again`, cgroupParent: `${h.cgroupParent}-again` };
    const r2 = hosts.cli(other, hosts.joinArgs(other, token, managerAddr));
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /already node host3/);
    assert.equal(hosts.json<NodeRow[]>(['node', 'ls']).length, 3);
  });

  it('spreads replicas and runs a global service on every host', async () => {
    const m = hosts.manager;
    hosts.importBusybox();
    const stack = path.join(m.dataRoot, 'stack.yml');
    fs.writeFileSync(stack, [
      'services:',
      '  web:',
      '    image: busybox',
      '    command: httpd -f -p 8080 -h /var/www',
      '    stop_grace_period: 1s',
      '    deploy: { replicas: 6 }',
      '  agent:',
      '    image: busybox',
      '    command: sh -c "while true; do sleep 1; done"',
      '    stop_grace_period: 1s',
      '    deploy: { mode: global }',
      '',
    ].join('\n'));
    hosts.ok(m, ['deploy', '-c', stack, 'multi']);
    const services = hosts.json<ServiceRow[]>(['service', 'ls']);
    assert.deepEqual(services.map((s) => [s.name, s.running, s.desired]), [['multi_agent', 3, 3], ['multi_web', 6, 6]]);
    const tasks = hosts.json<TaskRow[]>(['stack', 'ps', 'multi']).filter((t) => t.desiredState === 'running');
    const perHost = (svc: string) => {
      const c: Record<string, number> = {};
      for (const t of tasks.filter((x) => x.service === svc)) c[t.node!] = (c[t.node!] ?? 0) + 1;
      return c;
    };
    assert.deepEqual(perHost('multi_web'), { host1: 2, host2: 2, host3: 2 });
    assert.deepEqual(perHost('multi_agent'), { host1: 1, host2: 1, host3: 1 });
    // Each container runs under its own host's agent: its cgroup is that host's.
    for (const t of tasks) {
      const h = hosts.hosts.find((x) => x.name === t.node)!;
      assert.match(fs.readFileSync(`/proc/${t.pid}/cgroup`, 'utf8'), new RegExp(h.cgroupParent), `${t.name} runs on ${t.node}`);
    }
    hosts.ok(m, ['stack', 'rm', 'multi']);
    await eventually('stack to be gone', () => hosts.json<unknown[]>(['stack', 'ls']).length === 0);
  });
});
