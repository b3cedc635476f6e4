/**
 * Root CA rotation on three test hosts, all managers (three etcd members),
 * with a service running: `tsswarm ca --rotate` makes a new root, every node
 * renews onto it, the old root is retired. Nothing restarts (same tasks, same
 * container PIDs, nodes ready), every host ends trusting the new root alone
 * with a certificate from it, and certificates from the old root are refused
 * afterwards: a node certificate by the dispatcher's peers (the cluster
 * registry here), an etcd certificate by the etcd members, which restart one
 * at a time to load the new roots. Every manager's API answers all along: while
 * its own etcd member restarts, a manager's store uses the other members.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';
import { httpdStack } from './harness/stacks';
import { caDigest, splitPem } from '../../shared/pki/certificate';
import { Client } from '../../cli/client';

interface TaskRow { id: string; node: string | null; desiredState: string; state: string; pid: number | null }
interface NodeRow { hostname: string; status: string }
interface CaRow { rotating: boolean; root: string; pending: unknown[]; nodes: number }

describe('CA rotation', () => {
  let hosts: TestHosts;
  let keep: string;

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.start(3);
    hosts.importBusybox();
    keep = path.join(hosts.root, 'old-certs');
    fs.mkdirSync(keep);
  });

  after(() => hosts?.destroy());

  const certs = (h: TestHost) => path.join(h.dataRoot, 'certificates');
  const read = (h: TestHost, f: string) => fs.readFileSync(path.join(certs(h), f), 'utf8');
  /** The digests of the roots a host trusts, and of the root that signed its node certificate. */
  const onRoot = (h: TestHost) => {
    const roots = splitPem(read(h, 'ca.pem')).map((p) => new X509Certificate(p));
    const leaf = new X509Certificate(splitPem(read(h, 'node.pem'))[0]!);
    const issuer = roots.find((r) => leaf.checkIssued(r) && leaf.verify(r.publicKey));
    return { trusts: roots.map(caDigest), issuer: issuer ? caDigest(issuer) : null };
  };
  const registryPort = () => (JSON.parse(fs.readFileSync(path.join(hosts.manager.dataRoot, 'config.json'), 'utf8')) as { registryPort: number }).registryPort;
  /** etcdctl endpoint health against a host's member with the given client certificate: its exit code. */
  const etcdctl = (h: TestHost, cert: string, key: string) =>
    hosts.exec(h, 'etcdctl', ['--dial-timeout', '3s', '--command-timeout', '5s', '--endpoints', `https://${h.addr}:2379`, '--cacert', path.join(certs(h), 'ca.pem'), '--cert', cert, '--key', key, 'endpoint', 'health']).code;
  const etcdPids = () => hosts.hosts.map((h) => fs.readFileSync(path.join(h.dataRoot, 'etcd.pid'), 'utf8'));
  /** curl inside a host's namespace against the manager's registry with the given certificate. */
  const registryStatus = (h: TestHost, ca: string, cert: string, key: string) =>
    (({ stdout, stderr }) => `${stdout}${stderr.trim() ? ` ${stderr.trim()}` : ''}`)(hosts.exec(h, 'curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', ca, '--cert', cert, '--key', key, `https://${hosts.manager.addr}:${registryPort()}/v2/`]));

  it('rotates the root with services running: nothing restarts, every node ends on the new root, old-root certificates are refused', async () => {
    const file = path.join(hosts.root, 'rot.yml');
    fs.writeFileSync(file, httpdStack(3));
    hosts.ok(hosts.manager, ['deploy', '-c', file, 'rot']);
    const running = () => hosts.json<TaskRow[]>(['service', 'ps', 'rot_web']).filter((t) => t.desiredState === 'running' && t.state === 'running');
    const before = await eventually('3 tasks running', () => (running().length === 3 ? running().map((t) => [t.id, t.pid]).sort() : null), 90000);
    const oldRoot = hosts.json<CaRow>(['ca']).root;
    for (const h of hosts.hosts) assert.deepEqual(onRoot(h), { trusts: [oldRoot], issuer: oldRoot }, `${h.name} starts on the first root`);

    // A worker's and the manager's etcd credentials as they are before the rotation.
    const w = hosts.hosts[1]!;
    for (const f of ['node.pem', 'node.key']) fs.copyFileSync(path.join(certs(w), f), path.join(keep, f));
    for (const f of ['etcd.pem', 'etcd.key', 'ca.pem']) fs.copyFileSync(path.join(certs(hosts.manager), f), path.join(keep, f));
    assert.equal(registryStatus(w, path.join(keep, 'ca.pem'), path.join(keep, 'node.pem'), path.join(keep, 'node.key')), '200', 'the worker\'s certificate reads the registry before');
    const etcdBefore = etcdPids();

    hosts.ok(hosts.manager, ['ca', '--rotate', '--detach']);
    // Until the old root is retired and every etcd member restarted with the new roots (twice:
    // when the new root is added and when the old one goes), every manager's API is asked
    // what it has of the nodes, over and over: none may fail.
    const apis = hosts.hosts.map((h) => ({ name: h.name, client: new Client(hosts.api(h)) }));
    const failures: string[] = [];
    let asked = 0;
    // The members' second restart is over when each answers its host's renewed etcd certificate
    // and refuses the old one (asked every 2 s: etcdctl blocks this loop while it runs).
    const retired = () => hosts.hosts.every((h) => etcdctl(h, path.join(certs(h), 'etcd.pem'), path.join(certs(h), 'etcd.key')) === 0 && etcdctl(h, path.join(keep, 'etcd.pem'), path.join(keep, 'etcd.key')) !== 0);
    let checkedAt = 0;
    for (const end = Date.now() + 180000; ; ) {
      await Promise.all(apis.map(async (a) => {
        asked++;
        await a.client.get('/v1/nodes').catch((e: Error) => failures.push(`${a.name}: ${e.message}`));
      }));
      const ca = await apis[0]!.client.get<CaRow>('/v1/ca').catch(() => null);
      if (ca && !ca.rotating && ca.root !== oldRoot && Date.now() - checkedAt > 2000) {
        checkedAt = Date.now();
        if (retired()) break;
      }
      assert.ok(Date.now() < end, 'the rotation and the members\' restarts did not end in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(etcdPids().every((p, i) => p !== etcdBefore[i]), 'every etcd member restarted');
    assert.deepEqual(failures, [], `every manager answered during the rotation (${asked} requests)`);
    const after = hosts.json<CaRow>(['ca']);
    assert.equal(after.rotating, false);
    assert.notEqual(after.root, oldRoot);
    await eventually('every host trusts the new root alone, with a certificate from it', () =>
      hosts.hosts.every((h) => JSON.stringify(onRoot(h)) === JSON.stringify({ trusts: [after.root], issuer: after.root })), 60000);

    // Nothing restarted.
    assert.deepEqual(running().map((t) => [t.id, t.pid]).sort(), before);
    await eventually('every node ready', () => hosts.json<NodeRow[]>(['node', 'ls']).every((n) => n.status === 'ready'));
    const tokens = hosts.joinToken('worker').token;
    assert.ok(tokens.includes(after.root), 'join tokens name the new root');

    // The old root's certificates are refused: by the registry (which trusts the new root alone)...
    const newCa = path.join(certs(w), 'ca.pem');
    // (The manager reads its renewed files within a couple of seconds.)
    await eventually('an old-root node certificate is refused', () => registryStatus(w, newCa, path.join(keep, 'node.pem'), path.join(keep, 'node.key')) === '401', 30000);
    assert.equal(registryStatus(w, newCa, path.join(certs(w), 'node.pem'), path.join(certs(w), 'node.key')), '200', 'the renewed one reads it');
    // ...and by etcd, whose members restarted with the new roots (checked above).
    hosts.ok(hosts.manager, ['stack', 'rm', 'rot']);
  });
});
