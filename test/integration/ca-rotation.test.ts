/**
 * Root CA rotation on three test hosts, all managers (three etcd members),
 * with a service running: `tsswarm ca --rotate` makes a new root, every node
 * renews onto it, the old root is retired. Nothing restarts (same tasks, same
 * container PIDs, nodes ready), every host ends trusting the new root alone
 * with a certificate from it, and certificates from the old root are refused
 * afterwards: a node certificate by the dispatcher's peers (the cluster
 * registry here), an etcd certificate by the etcd members, which restart one
 * at a time to load the new roots.
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

    // Waits until the old root is retired.
    hosts.ok(hosts.manager, ['ca', '--rotate']);
    // The members restart one at a time to load the new roots; a manager talks to its own member
    // alone, so while that one restarts its API answers "cluster store unavailable" (a known
    // blip, see the issue note): ask until it answers.
    const after = await eventually('the CA view after the rotation', () => hosts.json<CaRow>(['ca']), 60000);
    assert.equal(after.rotating, false);
    assert.notEqual(after.root, oldRoot);
    await eventually('every host trusts the new root alone, with a certificate from it', () =>
      hosts.hosts.every((h) => JSON.stringify(onRoot(h)) === JSON.stringify({ trusts: [after.root], issuer: after.root })), 60000);

    // Nothing restarted (asked until the members' rolling restart is over and the store answers).
    await eventually('the same tasks, with the same pids', () => {
      try {
        return JSON.stringify(running().map((t) => [t.id, t.pid]).sort()) === JSON.stringify(before);
      } catch {
        return false;
      }
    }, 60000);
    await eventually('every node ready', () => hosts.json<NodeRow[]>(['node', 'ls']).every((n) => n.status === 'ready'));
    const tokens = await eventually('the join token', () => hosts.joinToken('worker').token);
    assert.ok(tokens.includes(after.root), 'join tokens name the new root');

    // The old root's certificates are refused: by the registry (which trusts the new root alone)...
    const newCa = path.join(certs(w), 'ca.pem');
    // (The manager reads its renewed files within a couple of seconds.)
    await eventually('an old-root node certificate is refused', () => registryStatus(w, newCa, path.join(keep, 'node.pem'), path.join(keep, 'node.key')) === '401', 30000);
    assert.equal(registryStatus(w, newCa, path.join(certs(w), 'node.pem'), path.join(certs(w), 'node.key')), '200', 'the renewed one reads it');
    // ...and by etcd, once its member restarted with the new roots.
    await eventually('every etcd member restarted', () => {
      try {
        return etcdPids().every((p, i) => p !== etcdBefore[i]);
      } catch {
        return false;
      }
    }, 90000);
    const etcdctl = (cert: string, key: string) =>
      hosts.exec(hosts.manager, 'etcdctl', ['--dial-timeout', '3s', '--command-timeout', '5s', '--endpoints', `https://${hosts.manager.addr}:2379`, '--cacert', path.join(certs(hosts.manager), 'ca.pem'), '--cert', cert, '--key', key, 'endpoint', 'health']).code;
    await eventually('etcd answers the renewed etcd certificate', () => etcdctl(path.join(certs(hosts.manager), 'etcd.pem'), path.join(certs(hosts.manager), 'etcd.key')) === 0, 30000);
    assert.notEqual(etcdctl(path.join(keep, 'etcd.pem'), path.join(keep, 'etcd.key')), 0, 'an old-root etcd certificate is refused');
    hosts.ok(hosts.manager, ['stack', 'rm', 'rot']);
  });
});
