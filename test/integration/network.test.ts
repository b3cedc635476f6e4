/**
 * Containers on different hosts talking over the overlay: names, VIPs,
 * tasks.<service>, load balancing over every backend, isolation between two
 * networks of a stack, and egress through the host with NAT.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { inContainer as inContainerOf, TestHosts } from './harness/hosts';
import { eventually } from './harness/cluster';

interface TaskRow { id: string; name: string; service: string; node: string | null; desiredState: string; state: string; pid: number | null }

/** Runs a command inside a container; `out` is what it printed on both streams. */
function inContainer(pid: number, args: string[]): { code: number; out: string } {
  const r = inContainerOf(pid, args);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

const STACK = `
services:
  web:
    image: busybox
    # Each replica serves its own hostname, so a client can tell backends apart.
    command: ["sh", "-c", "hostname > /var/www/index.html && exec httpd -f -p 8080 -h /var/www"]
    stop_grace_period: 1s
    networks: [front]
    deploy:
      replicas: 3
  client:
    image: busybox
    command: ["sh", "-c", "while true; do sleep 1; done"]
    stop_grace_period: 1s
    networks: [front]
    deploy:
      replicas: 2
  pub:
    image: busybox
    command: ["sh", "-c", "hostname > /var/www/index.html && exec httpd -f -p 8080 -h /var/www"]
    stop_grace_period: 1s
    networks: [front]
    ports: ["8081:8080"]
  hm:
    image: busybox
    command: ["sh", "-c", "hostname > /var/www/index.html && exec httpd -f -p 8080 -h /var/www"]
    stop_grace_period: 1s
    networks: [front]
    ports:
      - { target: 8080, published: 9090, mode: host }
  peer:
    image: busybox
    # Answers with the address it sees a client connect from (what a proxy would log).
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    stop_grace_period: 1s
    networks: [front]
    ports: ["8082:8080"]
    configs:
      - { source: peer_cgi, target: /www/cgi-bin/peer, mode: 0555 }
  other:
    image: busybox
    command: ["sh", "-c", "while true; do sleep 1; done"]
    stop_grace_period: 1s
    networks: [back]
configs:
  peer_cgi:
    content: |
      #!/bin/sh
      printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$$REMOTE_ADDR"
networks:
  front:
    ipam:
      config:
        - subnet: 10.214.10.0/24
  back: {}
`;

describe('overlay networking across hosts', () => {
  let hosts: TestHosts;
  let tasks: TaskRow[] = [];
  const pidsOf = (svc: string) => tasks.filter((t) => t.service === svc).map((t) => t.pid!);

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.start();
    const m = hosts.manager;
    hosts.importBusybox();
    const file = path.join(m.dataRoot, 'net.yml');
    fs.writeFileSync(file, STACK);
    hosts.ok(m, ['deploy', '-c', file, 'net']);
    tasks = hosts.json<TaskRow[]>(['stack', 'ps', 'net']).filter((t) => t.desiredState === 'running' && t.state === 'running');
  });

  after(() => {
    hosts?.destroy();
  });

  it('places the services on different hosts', () => {
    assert.equal(tasks.length, 9);
    assert.equal(new Set(tasks.filter((t) => t.service === 'net_web').map((t) => t.node)).size, 3);
    assert.equal(new Set(tasks.filter((t) => t.service === 'net_client').map((t) => t.node)).size, 2);
  });

  it('lets every client reach web by name across hosts', async () => {
    for (const pid of pidsOf('net_client')) {
      for (const name of ['web', 'net_web']) {
        // Load-balancing rules follow the backends a moment after the deploy converged.
        const r = await eventually(`client ${pid} to reach ${name}`, () => {
          const x = inContainer(pid, ['wget', '-qO-', `http://${name}:8080/`]);
          return x.code === 0 ? x : null;
        }, 15000);
        assert.match(r.out, /^[0-9a-v]{12}\n$/);
      }
    }
  });

  it('answers tasks.web with every task address and web with the VIP', () => {
    const pid = pidsOf('net_client')[0]!;
    const tasksAnswer = inContainer(pid, ['nslookup', 'tasks.web']).out;
    const ips = [...tasksAnswer.matchAll(/^Address(?: \d+)?:\s*(10\.214\.10\.\d+)$/gm)].map((m) => m[1]);
    assert.equal(new Set(ips).size, 3, tasksAnswer);
    const vipAnswer = inContainer(pid, ['nslookup', 'web']).out;
    const vip = [...vipAnswer.matchAll(/^Address(?: \d+)?:\s*(10\.214\.10\.\d+)$/gm)].map((m) => m[1]);
    assert.equal(vip.length, 1, vipAnswer);
    assert.ok(!ips.includes(vip[0]), 'the VIP is not a task address');
  });

  it('balances the VIP over every backend', async () => {
    const pid = pidsOf('net_client')[0]!;
    const seen = new Set<string>();
    await eventually('every backend to answer through the VIP', () => {
      const r = inContainer(pid, ['wget', '-qO-', 'http://web:8080/']);
      if (r.code === 0) seen.add(r.out.trim());
      return seen.size === 3;
    }, 30000);
  });

  it('publishes an ingress port on every host, also those without a task', async () => {
    const pub = tasks.find((t) => t.service === 'net_pub')!;
    for (const from of hosts.hosts) {
      for (const to of hosts.hosts) {
        const r = await eventually(`${from.name} → ${to.name}:8081`, () => {
          const x = hosts.exec(from, 'wget', ['-qO-', '-T', '3', '-t', '1', `http://${to.addr}:8081/`]);
          return x.code === 0 ? x : null;
        }, 15000);
        assert.equal(r.stdout.trim(), pub.id.slice(0, 12), `${from.name} → ${to.name} reaches the pub task`);
      }
    }
  });

  it("the routing mesh keeps the client's address: a task sees who connected, through any host, and its replies find their way back", async () => {
    const peer = tasks.find((t) => t.service === 'net_peer')!;
    const seen = (from: (typeof hosts.hosts)[number], to: (typeof hosts.hosts)[number]) => {
      const x = hosts.exec(from, 'wget', ['-qO-', '-T', '3', '-t', '1', `http://${to.addr}:8082/cgi-bin/peer`]);
      return x.code === 0 ? x.stdout.trim().replace(/^\[::ffff:(.*)\]$/, '$1') : null;
    };
    for (const from of hosts.hosts) {
      for (const to of hosts.hosts) {
        // The task runs on one host; the others forward to it over the ingress network.
        assert.equal(await eventually(`${from.name} → ${to.name}:8082`, () => seen(from, to), 15000), from.addr, `${from.name} → ${to.name} (task on ${peer.node})`);
      }
    }
  });

  it('publishes a host-mode port only where its task runs', async () => {
    const hm = tasks.find((t) => t.service === 'net_hm')!;
    const where = hosts.hosts.find((h) => h.name === hm.node)!;
    const elsewhere = hosts.hosts.find((h) => h.name !== hm.node)!;
    const r = await eventually(`${where.name}:9090`, () => {
      const x = hosts.exec(elsewhere, 'wget', ['-qO-', '-T', '3', '-t', '1', `http://${where.addr}:9090/`]);
      return x.code === 0 ? x : null;
    }, 15000);
    assert.equal(r.stdout.trim(), hm.id.slice(0, 12));
    const none = hosts.exec(where, 'wget', ['-qO-', '-T', '2', '-t', '1', `http://${elsewhere.addr}:9090/`]);
    assert.notEqual(none.code, 0, 'no host-mode port where no task runs');
  });

  it('follows scaling: the VIP balances over exactly the running tasks', async () => {
    const client = pidsOf('net_client')[0]!;
    const current = () => new Set(hosts.json<TaskRow[]>(['service', 'ps', 'net_web']).filter((t) => t.desiredState === 'running' && t.state === 'running').map((t) => t.id.slice(0, 12)));
    for (const n of [5, 2]) {
      hosts.ok(hosts.manager, ['service', 'scale', `net_web=${n}`]);
      const want = current();
      assert.equal(want.size, n);
      const seen = new Set<string>();
      await eventually(`the VIP to reach all ${n} tasks`, () => {
        const r = inContainer(client, ['wget', '-qO-', 'http://web:8080/']);
        if (r.code === 0) seen.add(r.out.trim());
        // Answers from tasks that were stopped do not count.
        for (const id of seen) if (!want.has(id)) seen.delete(id);
        return seen.size === n;
      }, 30000);
    }
  });

  it('keeps the two networks of the stack apart', () => {
    const other = pidsOf('net_other')[0]!;
    const r = inContainer(other, ['wget', '-qO-', '-T', '2', 'http://web:8080/']);
    assert.notEqual(r.code, 0, 'a container on back must not reach web on front');
    const webIp = inContainer(pidsOf('net_client')[0]!, ['nslookup', 'tasks.web']).out.match(/10\.214\.10\.\d+/g)?.find((ip) => !ip.endsWith('.1'));
    const r2 = inContainer(other, ['ping', '-c', '1', '-W', '2', webIp!]);
    assert.notEqual(r2.code, 0, `back must not reach ${webIp}`);
  });

  it('refuses bad network input with a clear error and applies nothing', () => {
    const m = hosts.manager;
    const before = [hosts.ok(m, ['network', 'ls', '--format', 'json']), hosts.ok(m, ['service', 'ls', '--format', 'json'])];
    const file = path.join(m.dataRoot, 'bad.yml');
    const cases: [string, RegExp][] = [
      // overlaps net_front (10.214.10.0/24)
      ['services:\n  a:\n    image: busybox\n    networks: [n]\nnetworks:\n  n:\n    ipam:\n      config: [{subnet: 10.214.10.128/25}]\n', /overlaps network net_front/],
      ['services:\n  a:\n    image: busybox\n    networks: [nope]\n', /undefined network "nope"/],
      ['services:\n  a:\n    image: busybox\nnetworks:\n  n:\n    ipam:\n      config: [{subnet: 10.214.300.0/24}]\n', /subnet/],
      ['services:\n  a:\n    image: busybox\nnetworks:\n  n:\n    external: true\n    name: nosuchnet\n', /nosuchnet/],
    ];
    for (const [text, why] of cases) {
      fs.writeFileSync(file, text);
      const r = hosts.cli(m, ['deploy', '-c', file, 'bad']);
      assert.equal(r.code, 1, text);
      assert.match(r.stderr, /^error: /);
      assert.match(r.stderr, why);
    }
    // A published port another stack already has.
    fs.writeFileSync(file, 'services:\n  a:\n    image: busybox\n    command: httpd -f -p 80\n    ports: ["8080:80"]\n');
    hosts.ok(m, ['deploy', '-c', file, 'p1', '--detach']);
    const taken = hosts.cli(m, ['deploy', '-c', file, 'p2', '--detach']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^error: port 8080\/tcp is already published by service p1_a\n$/);
    hosts.ok(m, ['stack', 'rm', 'p1']);
    const netCreate = hosts.cli(m, ['network', 'create', '--subnet', '10.214.10.0/26', 'clash']);
    assert.equal(netCreate.code, 1);
    assert.match(netCreate.stderr, /^error: subnet 10\.214\.10\.0\/26 overlaps network net_front/);
    assert.deepEqual([hosts.ok(m, ['network', 'ls', '--format', 'json']), hosts.ok(m, ['service', 'ls', '--format', 'json'])], before);
  });

  it('reaches an address outside the overlay through NAT', () => {
    // Host 2's underlay address, from a client container wherever it runs.
    const pid = pidsOf('net_client')[0]!;
    const r = inContainer(pid, ['ping', '-c', '1', '-W', '3', hosts.hosts[1]!.addr]);
    assert.equal(r.code, 0, r.out);
  });
});
