/**
 * Managers on an external 3-member etcd cluster with TLS (`tsswarm init
 * --etcd-endpoints --etcd-cacert --etcd-cert --etcd-key`), one member per test
 * host; the manager that joins gets the credentials from the first. Losing one member changes
 * nothing a user sees; losing quorum makes the API answer "cluster store
 * unavailable" (one line, nothing half-written) while the containers keep
 * running; when the members come back the cluster recovers by itself.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { EtcdMembers } from './harness/etcd-members';
import { eventually } from './harness/cluster';
import { httpdStack } from './harness/stacks';

interface TaskRow { node: string | null; desiredState: string; state: string }
interface ServiceRow { name: string; running: number; desired: number }

describe('external etcd cluster', () => {
  let hosts: TestHosts;
  let etcd: EtcdMembers;
  let file: string;

  before(async () => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.createNetwork();
    etcd = await EtcdMembers.create(hosts);
    for (const h of hosts.hosts) etcd.start(h);
    hosts.initManager(['--etcd-endpoints', etcd.endpoints.join(','), ...etcd.clientFlags]);
    // host2 a manager on the same etcd, host3 a worker.
    hosts.joinWorkers(2);
    hosts.importBusybox();
    file = path.join(hosts.manager.dataRoot, 'stack.yml');
  });

  after(async () => {
    await etcd?.destroy();
    hosts?.destroy();
  });

  const cli = (h: TestHost, args: string[]) => hosts.cli(h, ['--host', hosts.api(h), ...args]);
  const running = (h: TestHost, svc: string) => {
    const r = cli(h, ['service', 'ps', '--all', svc, '--format', 'json']);
    if (r.code !== 0) return -1;
    return (JSON.parse(r.stdout) as TaskRow[]).filter((t) => t.desiredState === 'running' && t.state === 'running').length;
  };
  const httpds = () => hosts.hosts.reduce((n, h) => n + hosts.containerPids(h).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('httpd');
    } catch {
      return false;
    }
  }).length, 0);

  it('keeps working with one member of three stopped', async () => {
    const [m1, m2, h3] = hosts.hosts as [TestHost, TestHost, TestHost];
    assert.equal(hosts.json<{ manager: string | null }[]>(['node', 'ls']).filter((n) => n.manager !== null).length, 2);
    fs.writeFileSync(file, httpdStack(4));
    hosts.ok(m1, ['deploy', '-c', file, 'st']);
    await eventually('4 running', () => running(m1, 'st_web') === 4, 90000);
    await etcd.stop(h3);
    // Both managers answer and act: a scale through each.
    fs.writeFileSync(file, httpdStack(6));
    hosts.ok(m2, ['--host', hosts.api(m2), 'deploy', '-c', file, 'st']);
    await eventually('6 running, seen from both managers', () => running(m1, 'st_web') === 6 && running(m2, 'st_web') === 6, 90000);
    assert.equal(httpds(), 6);
  });

  it('answers "cluster store unavailable" without quorum, writes nothing, and recovers when the members return', async () => {
    const [m1, m2, h3] = hosts.hosts as [TestHost, TestHost, TestHost];
    await etcd.stop(m2);
    const ls = cli(m1, ['service', 'ls']);
    assert.equal(ls.code, 1);
    assert.match(ls.stderr, /^error: cluster store unavailable/);
    assert.equal(ls.stderr.trim().split('\n').length, 1, ls.stderr);
    const other = path.join(m1.dataRoot, 'other.yml');
    fs.writeFileSync(other, httpdStack(2));
    const dep = cli(m1, ['deploy', '-c', other, 'half']);
    assert.equal(dep.code, 1);
    assert.match(dep.stderr, /^error: cluster store unavailable/);
    // The containers do not depend on the store.
    assert.equal(httpds(), 6);

    etcd.start(m2);
    etcd.start(h3);
    // No manager restarts: the same processes reconnect.
    const svcs = await eventually('the API answers again', () => {
      const r = cli(m1, ['service', 'ls', '--format', 'json']);
      return r.code === 0 ? (JSON.parse(r.stdout) as ServiceRow[]) : null;
    }, 90000);
    assert.deepEqual(svcs.map((s) => s.name), ['st_web'], 'the refused deploy left nothing behind');
    hosts.ok(m2, ['--host', hosts.api(m2), 'deploy', '-c', other, 'half']);
    await eventually('both stacks running', () => running(m1, 'st_web') === 6 && running(m1, 'half_web') === 2 && httpds() === 8, 90000);
  });
});
