/**
 * Mutual TLS on real processes: every listener of a cluster refuses strangers. Two clusters on
 * five test hosts: A (host1 manager with the API on TCP, host2 worker, host3 the host whose joins
 * are refused, which then joins and is removed) and B (host4 manager with node certificates valid
 * one minute, host5 worker, a global service on both), whose worker token is A's "token of another cluster"
 * and whose renewals run while A's refusals are checked. Clients run inside a host's network
 * namespace (tls-probe.ts) with a node's files, a forged certificate or an expired one. Asserts
 * who is refused and with which status, never how long anything took.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually, makeBusyboxImage, repoRoot, type CliResult } from './harness/cluster';
import { probe, type ProbeResult, type ProbeTls } from './harness/tls-probe';
import { certFiles } from '../../shared/pki/node-files';
import { certInfo, splitPem, type CertInfo } from '../../shared/pki/certificate';
import { createRootCa, issueLeaf, keyMatches, newKeyAndCsr } from '../../shared/pki/issue';
import type { CertRole } from '../../shared/pki/roles';

interface NodeRow { id: string; hostname: string; status: string; role: string }
interface TaskRow { id: string; name: string; node: string | null; desiredState: string; state: string; pid: number | null }
interface HostConfigFile { grpcPort: number; registryPort: number; etcdClientPort: number }

const cliPath = path.join(repoRoot, 'dist', 'cli', 'main.js');
const TCP_API_PORT = 2377;
const HOUR_MS = 3600_000;

/** The leaf of a PEM file (a chain holds it first). */
function leaf(file: string): CertInfo {
  const first = splitPem(fs.readFileSync(file, 'utf8'))[0];
  if (!first) throw new Error(`${file}: no certificate`);
  return certInfo(new X509Certificate(first));
}

function config(h: TestHost): HostConfigFile {
  return JSON.parse(fs.readFileSync(path.join(h.dataRoot, 'config.json'), 'utf8')) as HostConfigFile;
}

/** A host's node certificate as its own files hold it now (they change when it renews). */
function nodeTls(h: TestHost): ProbeTls {
  const f = certFiles(h.dataRoot);
  return { ca: f.ca, cert: f.cert, key: f.key };
}

/** Copies a host's node files as they are now (a thief's copy, or what a removed node keeps). */
function copyNodeFiles(h: TestHost, dir: string): ProbeTls {
  const from = nodeTls(h);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const to = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'node.pem'), key: path.join(dir, 'node.key') };
  // Key and certificate must be a pair: a renewal between the two reads would tear them apart.
  for (;;) {
    const cert = fs.readFileSync(from.cert!, 'utf8');
    const key = fs.readFileSync(from.key!, 'utf8');
    if (!keyMatches(cert, key)) continue;
    fs.copyFileSync(from.ca, to.ca);
    fs.writeFileSync(to.cert, cert);
    fs.writeFileSync(to.key, key, { mode: 0o600 });
    return to;
  }
}

/**
 * A certificate the cluster never issued, shaped like one of its own: a root of the same name,
 * a leaf with a real node id as CN, the role's OU and the cluster's id as O.
 */
async function forge(dir: string, commonName: string, role: CertRole, clusterId: string): Promise<ProbeTls> {
  const root = await createRootCa('tsswarm-root-ca', HOUR_MS);
  const k = await newKeyAndCsr();
  const cert = await issueLeaf(root, { csrPem: k.csrPem, commonName, role, clusterId, validityMs: HOUR_MS });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  fs.writeFileSync(files.ca, root.certPem);
  fs.writeFileSync(files.cert, cert);
  fs.writeFileSync(files.key, k.keyPem, { mode: 0o600 });
  return files;
}

/**
 * Starts a host's supervisor again, detached as `tsswarm init`/`join` leave it: through
 * `setsid -f`, so it is not this process's child (a child that exits stays a zombie while this
 * process blocks in spawnSync, and `down` would wait for it in vain). `down` stops it.
 */
function startSupervisor(h: TestHost): void {
  const out = fs.openSync(path.join(h.dataRoot, 'logs', 'supervisor.log'), 'a');
  const r = spawnSync('setsid', ['-f', 'nsenter', `--net=/run/netns/${h.netns}`, process.execPath, path.join(repoRoot, 'dist', 'cli', 'init', 'supervisor.js'), '--data-root', h.dataRoot], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  assert.equal(r.status, 0, 'setsid started the supervisor');
}

function assertStatus(r: ProbeResult, code: grpc.status, what: string): void {
  assert.equal(r.code, code, `${what}: expected ${grpc.status[code]}, got ${JSON.stringify(r)}`);
  assert.equal(r.ok, false, what);
}

describe('mutual TLS: every listener refuses strangers', () => {
  let hosts: TestHosts;
  let h1: TestHost, h2: TestHost, h3: TestHost, h4: TestHost, h5: TestHost;
  /** Cluster A's id (the O of its certificates) and node ids. */
  let clusterA = '';
  let h1Id = '';
  let h2Id = '';
  /** Host5's node files copied right after it joined cluster B, and the serials host5's node.pem has held, in order. */
  let stolen: ProbeTls;
  let stolenInfo: CertInfo;
  const serials: string[] = [];
  let serialWatch: NodeJS.Timeout | null = null;
  /** Cluster B's tasks (node:id:pid) once they ran, and how many serials host5 had held by then. */
  let tasksB: string[] = [];
  let serialsAtStart = 0;

  /** The CLI against cluster B's manager (the harness's cli() talks to host 1). */
  const onB = (args: string[]): string => hosts.ok(h4, ['--host', hosts.api(h4), ...args]);
  const tokenOf = (text: string): { token: string; managerAddr: string } => {
    const m = /tsswarm join --token (\S+) (\S+)/.exec(text);
    if (!m) throw new Error(`unexpected join-token output: ${text}`);
    return { token: m[1]!, managerAddr: m[2]! };
  };
  const dispatcherOf = (h: TestHost) => `${h.addr}:${config(h).grpcPort}`;
  const tasksOfB = () => JSON.parse(onB(['stack', 'ps', 'renew', '--format', 'json'])) as TaskRow[];
  const runningB = () => tasksOfB().filter((t) => t.desiredState === 'running' && t.state === 'running' && t.pid !== null);

  before(async () => {
    requireRoot();
    hosts = new TestHosts(5);
    [h1, h2, h3, h4, h5] = hosts.hosts as [TestHost, TestHost, TestHost, TestHost, TestHost];
    hosts.createNetwork();
    // Cluster B first: its certificates start renewing while cluster A's refusals are checked.
    hosts.ok(h4, ['init', '--data-root', h4.dataRoot, '--advertise-addr', h4.addr, '--cgroup-parent', h4.cgroupParent, '--hostname', h4.name, '--cert-expiry', '1m']);
    const b = tokenOf(onB(['join-token', 'worker']));
    hosts.ok(h5, hosts.joinArgs(h5, b.token, b.managerAddr));
    stolen = copyNodeFiles(h5, path.join(hosts.root, 'stolen-h5'));
    stolenInfo = leaf(stolen.cert!);
    // Control: the copy is a working credential until it expires.
    const valid = probe(hosts, h5, { kind: 'grpc', addr: dispatcherOf(h4), method: 'Renew', tls: stolen });
    assert.equal(valid.ok, true, `the fresh copy renews: ${JSON.stringify(valid)}`);
    serials.push(stolenInfo.serial);
    serialWatch = setInterval(() => {
      try {
        const s = leaf(nodeTls(h5).cert!).serial;
        if (!serials.includes(s)) serials.push(s);
      } catch {
        // between two renames
      }
    }, 250);
    serialWatch.unref();
    onB(['image', 'import', makeBusyboxImage(h4.dataRoot), 'busybox:latest']);
    const stack = path.join(h4.dataRoot, 'renew.yml');
    fs.writeFileSync(stack, ['services:', '  idle:', '    image: busybox', '    command: sh -c "while true; do sleep 1; done"', '    stop_grace_period: 1s', '    deploy: { mode: global }', ''].join('\n'));
    onB(['deploy', '-c', stack, 'renew']);
    const running = await eventually('the global task on both hosts of cluster B', () => {
      const r = runningB();
      return r.length === 2 && r.some((t) => t.node === h5.name) && r;
    }, 120000);
    tasksB = running.map((t) => `${t.node}:${t.id}:${t.pid}`).sort();
    serialsAtStart = serials.length;

    hosts.initManager(['--listen-api', `tcp://${h1.addr}:${TCP_API_PORT}`]);
    const a0 = hosts.joinToken('worker');
    hosts.ok(h2, hosts.joinArgs(h2, a0.token, a0.managerAddr));
    const a = leaf(nodeTls(h1).cert!);
    clusterA = a.clusterId;
    h1Id = a.commonName;
    h2Id = leaf(nodeTls(h2).cert!).commonName;
  });

  after(() => {
    if (serialWatch) clearInterval(serialWatch);
    hosts?.destroy();
  });

  it('etcd on the advertised address: no plain HTTP, no TLS without a certificate, no node certificate; the etcd certificate gets in', () => {
    const port = config(h1).etcdClientPort;
    // Plain HTTP from the worker host, and on the manager host's loopback: no HTTP answer, nothing of etcd's.
    for (const [from, addr] of [[h2, h1.addr], [h1, '127.0.0.1']] as const) {
      const r = probe(hosts, from, { kind: 'raw', host: addr, port, send: `GET /version HTTP/1.1\r\nHost: ${addr}:${port}\r\nConnection: close\r\n\r\n` });
      assert.equal(r.ok, true, `something listens on ${addr}:${port}`);
      assert.doesNotMatch(String(r.answer), /HTTP\/|etcdserver/, `plain HTTP to ${addr}:${port} gets no HTTP answer`);
    }
    const curl = hosts.exec(h2, 'curl', ['-s', '-m', '5', `http://${h1.addr}:${port}/version`]);
    assert.notEqual(curl.code, 0, 'curl over plain HTTP fails');
    assert.doesNotMatch(curl.stdout, /etcdserver/, 'curl over plain HTTP reads no version');

    // TLS: the handshake fails (alert bad certificate) without a client certificate and with a
    // node's; nodes' certificates are of the same CA, only the etcd certificate names tsswarm-etcd.
    const certs = certFiles(h1.dataRoot);
    const endpoint = `https://${h1.addr}:${port}`;
    const etcdCert = { ca: certs.ca, cert: certs.etcdCert, key: certs.etcdKey };
    for (const [what, from, tls] of [['no client certificate', h2, { ca: certs.ca }], ["a worker's node certificate", h2, nodeTls(h2)], ["the manager's node certificate", h1, nodeTls(h1)]] as const) {
      const r = probe(hosts, from, { kind: 'https', url: `${endpoint}/version`, tls });
      assert.match(String(r.code), /^ERR_SSL_\w+_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED)$/, `${what}: ${JSON.stringify(r)}`);
    }
    const version = probe(hosts, h1, { kind: 'https', url: `${endpoint}/version`, tls: etcdCert });
    assert.equal(version.code, 200, `control, the etcd certificate: ${JSON.stringify(version)}`);
    assert.match(String((version.answer as { etcdserver?: string }).etcdserver), /^3\./);

    // etcdctl as an operator would run it: only --cacert fails; the etcd certificate reads the keys.
    const etcdctl = (h: TestHost, creds: string[]): CliResult =>
      hosts.exec(h, 'etcdctl', ['--endpoints', endpoint, '--dial-timeout', '3s', '--command-timeout', '3s', '--cacert', certs.ca, ...creds, 'get', '/tsswarm/v1/', '--prefix', '--keys-only', '--limit', '1']);
    const bare = etcdctl(h2, []);
    assert.notEqual(bare.code, 0, `etcdctl with only --cacert must fail: ${bare.stdout}`);
    assert.equal(bare.stdout, '', 'no key read without a client certificate');
    const ok = etcdctl(h1, ['--cert', etcdCert.cert, '--key', etcdCert.key]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^\/tsswarm\/v1\//);
  });

  it('the dispatcher: no certificate and a forged one are UNAUTHENTICATED; the roots are served to anyone', async () => {
    const addr = dispatcherOf(h1);
    const ca = certFiles(h1.dataRoot).ca;
    // Control: TLS without a certificate reaches the server, and GetRootCA needs none.
    const roots = probe(hosts, h3, { kind: 'grpc', addr, method: 'GetRootCA', tls: { ca } });
    assert.equal(roots.ok, true, JSON.stringify(roots));
    assert.equal((roots.answer as { trustPem: string }).trustPem, fs.readFileSync(ca, 'utf8'));
    // Control: a worker's own certificate renews.
    const renewed = probe(hosts, h2, { kind: 'grpc', addr, method: 'Renew', tls: nodeTls(h2) });
    assert.equal(renewed.ok, true, JSON.stringify(renewed));
    assert.deepEqual(renewed.answer, { nodeId: h2Id, role: 'worker' });

    assertStatus(probe(hosts, h3, { kind: 'grpc', addr, method: 'Renew', tls: { ca } }), grpc.status.UNAUTHENTICATED, 'Renew without a certificate');
    assertStatus(probe(hosts, h3, { kind: 'grpc', addr, method: 'Session', tls: { ca }, register: { node_id: h2Id, hostname: h2.name, addr: h2.addr, role: 'worker' } }), grpc.status.UNAUTHENTICATED, 'Session without a certificate');
    assertStatus(probe(hosts, h3, { kind: 'grpc', addr, method: 'GetDataKey', tls: { ca } }), grpc.status.UNAUTHENTICATED, 'GetDataKey without a certificate');

    // Forged: a worker's (host2's id) and a manager's (host1's id), the cluster's O, another root.
    const worker = { ...(await forge(path.join(hosts.root, 'forged-worker'), h2Id, 'worker', clusterA)), ca };
    const manager = { ...(await forge(path.join(hosts.root, 'forged-manager'), h1Id, 'manager', clusterA)), ca };
    assertStatus(probe(hosts, h3, { kind: 'grpc', addr, method: 'Renew', tls: worker }), grpc.status.UNAUTHENTICATED, 'Renew with a self-signed certificate');
    assertStatus(probe(hosts, h3, { kind: 'grpc', addr, method: 'Session', tls: worker, register: { node_id: h2Id, hostname: h2.name, addr: h2.addr, role: 'worker' } }), grpc.status.UNAUTHENTICATED, 'Session with a self-signed certificate');
    assertStatus(probe(hosts, h3, { kind: 'grpc', addr, method: 'GetDataKey', tls: manager }), grpc.status.UNAUTHENTICATED, "GetDataKey with a self-signed manager's certificate");
  });

  it("a worker's certificate may not take the data key; a manager's gets its 32 bytes", () => {
    const addr = dispatcherOf(h1);
    assertStatus(probe(hosts, h2, { kind: 'grpc', addr, method: 'GetDataKey', tls: nodeTls(h2) }), grpc.status.PERMISSION_DENIED, "GetDataKey with a worker's certificate");
    const dek = probe(hosts, h1, { kind: 'grpc', addr, method: 'GetDataKey', tls: nodeTls(h1) });
    assert.equal(dek.ok, true, JSON.stringify(dek));
    assert.equal((dek.answer as { dekBytes: number }).dekBytes, 32);
  });

  it("a session registering another node's id is rejected, naming both ids; the node keeps its record", () => {
    const r = probe(hosts, h2, { kind: 'grpc', addr: dispatcherOf(h1), method: 'Session', tls: nodeTls(h2), register: { node_id: h1Id, hostname: h1.name, addr: h1.addr, role: 'manager' } });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.answer, { rejected: `the registration names node ${h1Id.slice(0, 12)}, the certificate ${h2Id.slice(0, 12)}` });
    const nodes = hosts.json<NodeRow[]>(['node', 'ls']);
    assert.deepEqual(nodes.map((n) => [n.hostname, n.id, n.role, n.status]), [[h1.name, h1Id, 'manager', 'ready'], [h2.name, h2Id, 'worker', 'ready']]);
  });

  it("join: another cluster's token is refused before it is sent, a rotated one by the manager; nothing is left running", () => {
    const managerLog = path.join(h1.dataRoot, 'logs', 'manager.log');
    const joinsFromH3 = () => fs.readFileSync(managerLog, 'utf8').split('\n').filter((l) => l.includes('Join from') && l.includes(h3.addr));
    const nothingRuns = (what: string) => {
      assert.deepEqual(hosts.hostPids(h3), [], `${what}: nothing left running on the refused host`);
      assert.equal(fs.existsSync(path.join(h3.dataRoot, 'config.json')), false, `${what}: no config left`);
    };
    const a = hosts.joinToken('worker');

    // Cluster B's token names B's CA: host3 sees A's roots do not match and never sends the token.
    const b = tokenOf(onB(['join-token', 'worker']));
    const other = hosts.cli(h3, hosts.joinArgs(h3, b.token, a.managerAddr));
    assert.equal(other.code, 1, other.stdout);
    assert.match(other.stderr, /^error: the manager at 10\.213\.0\.1:\d+ has another CA than the token names \(digest \w{12}…, the token's \w{12}…\): refusing to send it the token\n$/);
    assert.deepEqual(joinsFromH3(), [], 'the manager never saw a Join from the host');
    nothingRuns("another cluster's token");

    // A's digest with B's secret: the CA matches, the manager refuses the secret.
    const mixed = `${a.token.slice(0, -25)}${b.token.slice(-25)}`;
    const wrong = hosts.cli(h3, hosts.joinArgs(h3, mixed, a.managerAddr));
    assert.equal(wrong.code, 1, wrong.stdout);
    assert.match(wrong.stderr, /^error: the manager refused this node: invalid join token \(rotated, or of another cluster\)\n$/);
    nothingRuns("A's digest with another cluster's secret");

    const rotated = hosts.ok(h1, ['join-token', 'worker', '--rotate']);
    assert.match(rotated, /^Successfully rotated worker join token\./);
    const fresh = tokenOf(rotated);
    assert.notEqual(fresh.token, a.token);
    const old = hosts.cli(h3, hosts.joinArgs(h3, a.token, a.managerAddr));
    assert.equal(old.code, 1, old.stdout);
    assert.match(old.stderr, /^error: the manager refused this node: invalid join token \(rotated, or of another cluster\)\n$/);
    assert.equal(joinsFromH3().length, 2, 'the manager saw and refused both Joins that carried a token of A\'s CA');
    nothingRuns('a rotated token');
    assert.deepEqual(hosts.json<NodeRow[]>(['node', 'ls']).map((n) => n.hostname), [h1.name, h2.name]);

    // Control: the new token joins the host.
    hosts.ok(h3, hosts.joinArgs(h3, fresh.token, fresh.managerAddr));
    assert.equal(hosts.json<NodeRow[]>(['node', 'ls']).find((n) => n.hostname === h3.name)?.status, 'ready');
  });

  it("a removed node's certificate is PERMISSION_DENIED, also after its agent restarts; the registry refuses it", async () => {
    const addr = dispatcherOf(h1);
    const h3Id = leaf(nodeTls(h3).cert!).commonName;
    const removed = copyNodeFiles(h3, path.join(hosts.root, 'removed-h3'));
    const before = probe(hosts, h3, { kind: 'grpc', addr, method: 'Renew', tls: removed });
    assert.equal(before.ok, true, `control: host3's certificate renews before the removal: ${JSON.stringify(before)}`);

    const session = path.join(h3.dataRoot, 'agent', 'session.json');
    const agentPid = Number(fs.readFileSync(path.join(h3.dataRoot, 'agent.pid'), 'utf8'));
    hosts.ok(h1, ['node', 'rm', '--force', h3.name]);
    await eventually('the removed agent to be told and to exit', () => !fs.existsSync(`/proc/${agentPid}`) && (JSON.parse(fs.readFileSync(session, 'utf8')) as { state: string }).state === 'rejected');
    assert.deepEqual(hosts.containerPids(h3), [], 'the removed host runs no container');

    const reg = { node_id: h3Id, hostname: h3.name, addr: h3.addr, role: 'worker' as const };
    // The revocation reaches the dispatcher through a watch: a call may come first.
    const renew = await eventually('the revocation to reach the dispatcher', () => {
      const r = probe(hosts, h3, { kind: 'grpc', addr, method: 'Renew', tls: removed });
      return r.code !== grpc.status.OK && r;
    });
    assertStatus(renew, grpc.status.PERMISSION_DENIED, "Renew with a removed node's certificate");
    assert.match(renew.details, /this node was removed from the cluster/);
    // A session is told it was removed, as a live one is (the agent then stops trying).
    const sess = probe(hosts, h3, { kind: 'grpc', addr, method: 'Session', tls: removed, register: reg });
    assert.match((sess.answer as { rejected?: string } | null)?.rejected ?? '', /this node was removed from the cluster/, `Session with a removed node's certificate: ${JSON.stringify(sess)}`);
    // The registry refuses it too.
    const pull = probe(hosts, h3, { kind: 'https', url: `https://${h1.addr}:${config(h1).registryPort}/v2/`, tls: removed });
    assert.equal(pull.code, 401, `the registry and a removed node's certificate: ${JSON.stringify(pull)}`);
    assert.deepEqual((pull.answer as { errors?: { code?: string; message?: string }[] }).errors?.map((e) => [e.code, e.message]), [['UNAUTHORIZED', 'this node was removed from the cluster']]);

    // The host comes back (its supervisor started again, as after a reboot): its agent, with the
    // files it has, is refused and stops (exit 78: its supervisor does not start it again).
    hosts.ok(h3, ['down', '--data-root', h3.dataRoot]);
    const agentLog = path.join(h3.dataRoot, 'logs', 'agent.log');
    const logFrom = fs.statSync(agentLog).size;
    fs.rmSync(session, { force: true });
    startSupervisor(h3);
    await eventually('the restarted agent to be refused', () => {
      try {
        return (JSON.parse(fs.readFileSync(session, 'utf8')) as { state: string; reason: string }).state === 'rejected';
      } catch {
        return false;
      }
    });
    assert.match((JSON.parse(fs.readFileSync(session, 'utf8')) as { reason: string }).reason, /this node was removed from the cluster/);
    await eventually('the refused agent exited and was not started again', () => {
      const pid = Number(fs.readFileSync(path.join(h3.dataRoot, 'agent.pid'), 'utf8'));
      return pid !== agentPid && !fs.existsSync(`/proc/${pid}`);
    });
    assert.match(fs.readFileSync(agentLog, 'utf8').slice(logFrom), /refused this node: this node was removed from the cluster/);
    assert.equal(fs.readFileSync(agentLog, 'utf8').slice(logFrom).includes('session established'), false, 'no session for the removed node');
    assert.equal(hosts.json<NodeRow[]>(['node', 'ls']).some((n) => n.hostname === h3.name || n.id === h3Id), false, 'the removed node is not registered again');
    hosts.ok(h3, ['down', '--data-root', h3.dataRoot]);
    assert.deepEqual(hosts.hostPids(h3), [], 'the removed host is stopped again');
  });

  it('the TCP API: 401 without a client certificate, with a node\'s or a forged one; a client certificate works', async () => {
    const url = `https://${h1.addr}:${TCP_API_PORT}/v1/nodes`;
    const ca = certFiles(h1.dataRoot).ca;
    const unauthenticated = (r: ProbeResult, what: string) => {
      assert.equal(r.code, 401, `${what}: ${JSON.stringify(r)}`);
      assert.equal((r.answer as { error?: { code?: string } }).error?.code, 'UNAUTHENTICATED', what);
    };
    unauthenticated(probe(hosts, h2, { kind: 'https', url, tls: { ca } }), 'no client certificate');
    unauthenticated(probe(hosts, h2, { kind: 'https', url, tls: nodeTls(h2) }), "a worker's node certificate");
    unauthenticated(probe(hosts, h1, { kind: 'https', url, tls: nodeTls(h1) }), "the manager's node certificate");
    unauthenticated(probe(hosts, h2, { kind: 'https', url, tls: { ...(await forge(path.join(hosts.root, 'forged-client'), 'operator', 'client', clusterA)), ca } }), 'a self-signed client certificate');
    const curl = hosts.exec(h2, 'curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', ca, url]);
    assert.equal(curl.stdout, '401', `curl with only --cacert: ${curl.stderr}`);

    const dir = path.join(hosts.root, 'client-cert');
    hosts.ok(h1, ['ca', 'client-cert', '--out', dir, '--expiry', '720h']);
    const client = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    assert.equal(leaf(client.cert).role, 'client');
    const ok = probe(hosts, h2, { kind: 'https', url, tls: client });
    assert.equal(ok.code, 200, JSON.stringify(ok));
    const hostnames = [h1.name, h2.name];

    // Through the CLI, from another host: the flags, then the environment (DOCKER_CERT_PATH's layout).
    const remote = (args: string[], env: Record<string, string>): CliResult => {
      const r = spawnSync('nsenter', [`--net=/run/netns/${h2.netns}`, process.execPath, cliPath, ...args], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60000 });
      return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };
    const tcp = `tcp://${h1.addr}:${TCP_API_PORT}`;
    const byFlags = remote(['--host', tcp, '--tlsverify', '--tlscacert', client.ca, '--tlscert', client.cert, '--tlskey', client.key, 'node', 'ls', '--format', 'json'], {});
    assert.equal(byFlags.code, 0, byFlags.stderr);
    assert.deepEqual((JSON.parse(byFlags.stdout) as NodeRow[]).map((n) => n.hostname), hostnames);
    const byEnv = remote(['node', 'ls', '--format', 'json'], { TSSWARM_HOST: tcp, TSSWARM_TLS_VERIFY: '1', TSSWARM_CERT_PATH: dir });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.deepEqual((JSON.parse(byEnv.stdout) as NodeRow[]).map((n) => n.hostname), hostnames);
    // The CLI with a worker's files instead: refused, in one line.
    const w = nodeTls(h2);
    const asWorker = remote(['--host', tcp, '--tlsverify', '--tlscacert', w.ca, '--tlscert', w.cert!, '--tlskey', w.key!, 'node', 'ls'], {});
    assert.equal(asWorker.code, 1, asWorker.stdout);
    assert.match(asWorker.stderr, /^error: a worker's certificate cannot use the API; use a client certificate \(tsswarm ca client-cert\)\n$/);
  });

  it("the registry: 401 without a node certificate or with a forged one; 200 with a worker's", async () => {
    const url = `https://${h1.addr}:${config(h1).registryPort}/v2/`;
    const ca = certFiles(h1.dataRoot).ca;
    const unauthorized = (r: ProbeResult, what: string) => {
      assert.equal(r.code, 401, `${what}: ${JSON.stringify(r)}`);
      assert.equal((r.answer as { errors?: { code?: string }[] }).errors?.[0]?.code, 'UNAUTHORIZED', what);
    };
    unauthorized(probe(hosts, h3, { kind: 'https', url, tls: { ca } }), 'no client certificate');
    unauthorized(probe(hosts, h3, { kind: 'https', url, tls: { ...(await forge(path.join(hosts.root, 'forged-puller'), h2Id, 'worker', clusterA)), ca } }), 'a self-signed worker certificate');
    const ok = probe(hosts, h2, { kind: 'https', url, tls: nodeTls(h2) });
    assert.equal(ok.code, 200, JSON.stringify(ok));
  });

  it('node certificates valid one minute renew while the tasks run; an expired copy is UNAUTHENTICATED', async () => {
    // Two renewals of host5's certificate while the tasks ran.
    await eventually("two renewals of the worker's certificate while its task runs", () => serials.length >= serialsAtStart + 2, 240000);
    const current = leaf(nodeTls(h5).cert!);
    assert.equal(current.commonName, stolenInfo.commonName, 'the renewed certificate names the same node');
    assert.equal(current.role, 'worker');
    assert.ok(current.notAfter > stolenInfo.notAfter, 'the renewed certificate lasts longer than the copy');
    const agentLog = fs.readFileSync(path.join(h5.dataRoot, 'logs', 'agent.log'), 'utf8');
    assert.ok(agentLog.split('\n').filter((l) => l.includes('certificate renewed through')).length >= 2, 'the agent logged its renewals');
    assert.equal(agentLog.split('\n').filter((l) => l.includes('session established with')).length, 1, 'the session was never dropped');
    // Nothing restarted: the same tasks with the same container PIDs, the nodes ready.
    assert.deepEqual(runningB().map((t) => `${t.node}:${t.id}:${t.pid}`).sort(), tasksB);
    for (const t of tasksB) assert.ok(fs.existsSync(`/proc/${t.split(':')[2]}`), `container ${t} still runs`);
    assert.equal(tasksOfB().length, 2, 'no task was replaced');
    const nodes = JSON.parse(onB(['node', 'ls', '--format', 'json'])) as NodeRow[];
    assert.deepEqual(nodes.map((n) => [n.hostname, n.status]), [[h4.name, 'ready'], [h5.name, 'ready']]);

    await eventually('the copy to be past its notAfter', () => Date.now() > stolenInfo.notAfter.getTime() + 2000, 180000);
    const addr = dispatcherOf(h4);
    assertStatus(probe(hosts, h5, { kind: 'grpc', addr, method: 'Renew', tls: stolen }), grpc.status.UNAUTHENTICATED, 'Renew with an expired certificate');
    assertStatus(probe(hosts, h5, { kind: 'grpc', addr, method: 'Session', tls: stolen, register: { node_id: stolenInfo.commonName, hostname: h5.name, addr: h5.addr, role: 'worker' } }), grpc.status.UNAUTHENTICATED, 'Session with an expired certificate');
    // Control: host5's current files renew.
    const fresh = probe(hosts, h5, { kind: 'grpc', addr, method: 'Renew', tls: copyNodeFiles(h5, path.join(hosts.root, 'current-h5')) });
    assert.equal(fresh.ok, true, JSON.stringify(fresh));
  });
});
