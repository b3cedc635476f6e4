/**
 * Images from a real registry (Debian's docker-registry, distribution 2.8) on a test host's
 * address, pushed there by a real client of its own (skopeo), pulled into the cluster by
 * `tsswarm image pull` and run on three hosts: plain HTTP only once it is named insecure, a
 * multi-layer image, a manifest list of two platforms (only this platform's image is fetched), a
 * zstd layer, a registry answering through a tampering proxy (refused, nothing stored), and bad input;
 * then the same registry with TLS (its CA given to the managers in certs.d) and htpasswd basic auth
 * (`tsswarm login`, wrong credentials in one line, logout), and with token auth (the registry's
 * `auth: token`, a small issuer in the test signing with a test key).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually, makeBusyboxImage } from './harness/cluster';
import { tarOf, writeOciLayout } from './harness/oci-images';

interface TaskRow { id: string; name: string; node: string | null; desiredState: string; state: string }
interface ImageRow { ref: string; digest: string; size: number }

describe('pulling from a real registry', () => {
  let hosts: TestHosts;
  let m: TestHost;
  let registry: ChildProcess | null = null;
  let proxy: ChildProcess | null = null;
  const others: ChildProcess[] = [];
  let reg = '';
  let work = '';
  let busyboxTar = '';
  const images = () => hosts.json<ImageRow[]>(['image', 'ls']);

  /** skopeo copy from an OCI layout directory into the registry, as a user of another tool would. */
  const push = (dir: string, tag: string, dest: string, all = false) => {
    const r = hosts.exec(m, 'skopeo', ['copy', '--quiet', ...(all ? ['--all'] : []), '--dest-tls-verify=false', `oci:${dir}:${tag}`, `docker://${dest}`]);
    assert.equal(r.code, 0, `skopeo copy: ${r.stderr}`);
  };

  before(async () => {
    requireRoot();
    for (const tool of ['docker-registry', 'skopeo', 'zstd']) {
      if (!fs.existsSync(`/usr/bin/${tool}`)) assert.fail(`${tool} is missing: run scripts/setup.sh`);
    }
    hosts = new TestHosts(3);
    m = hosts.manager;
    hosts.start();
    work = path.join(hosts.root, 'registry-test');
    fs.mkdirSync(work, { recursive: true });
    reg = `${m.addr}:5000`;
    const config = path.join(work, 'registry.yml');
    fs.writeFileSync(config, ['version: 0.1', 'log: { level: error }', 'storage:', `  filesystem: { rootdirectory: ${path.join(work, 'data')} }`, 'http:', `  addr: ${reg}`, ''].join('\n'));
    registry = spawn('nsenter', [`--net=/run/netns/${m.netns}`, 'docker-registry', 'serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    await eventually('the registry to answer', () => hosts.exec(m, 'timeout', ['2', 'busybox', 'wget', '-qO-', `http://${reg}/v2/`]).code === 0, 30000);
    busyboxTar = makeBusyboxImage(work);
    // The CLI's credentials (tsswarm login) go to the test's directory, not root's home.
    process.env['TSSWARM_CONFIG'] = path.join(work, 'cli-config');
  });

  /** openssl: a CA and a certificate for `ip` signed by it; returns their paths. */
  const makeCerts = (name: string, ip: string) => {
    const d = path.join(work, name);
    fs.mkdirSync(d, { recursive: true });
    const run = (args: string[]) => {
      const r = hosts.exec(m, 'openssl', args);
      assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
    };
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test registry CA', '-keyout', `${d}/ca.key`, '-out', `${d}/ca.crt`]);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${ip}`, '-keyout', `${d}/server.key`, '-out', `${d}/server.csr`]);
    fs.writeFileSync(`${d}/ext.cnf`, `subjectAltName=IP:${ip}\n`);
    run(['x509', '-req', '-in', `${d}/server.csr`, '-CA', `${d}/ca.crt`, '-CAkey', `${d}/ca.key`, '-CAcreateserial', '-days', '2', '-extfile', `${d}/ext.cnf`, '-out', `${d}/server.crt`]);
    // A directory with the CA alone, for clients that read every key in theirs as a client certificate's (skopeo).
    fs.mkdirSync(`${d}/trust`);
    fs.copyFileSync(`${d}/ca.crt`, `${d}/trust/ca.crt`);
    return { ca: `${d}/ca.crt`, caKey: `${d}/ca.key`, cert: `${d}/server.crt`, key: `${d}/server.key`, trustDir: `${d}/trust` };
  };

  /** Another docker-registry on the manager host, with `extra` config lines; waits for it to listen. */
  const startRegistry = async (name: string, port: number, extra: string[]) => {
    const config = path.join(work, `${name}.yml`);
    fs.writeFileSync(config, ['version: 0.1', 'log: { level: error }', 'storage:', `  filesystem: { rootdirectory: ${path.join(work, `${name}-data`)} }`, ...extra, ''].join('\n'));
    const p = spawn('nsenter', [`--net=/run/netns/${m.netns}`, 'docker-registry', 'serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    others.push(p);
    let stderr = '';
    p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await eventually(`registry ${name} to listen (${stderr})`, () => hosts.exec(m, 'sh', ['-c', `ss -ltn | grep -q ':${port} '`]).code === 0, 30000);
  };

  /** A one-image layout pushed to `dest` with skopeo, using `extra` options (credentials, certificates). */
  const pushSmall = (name: string, dest: string, extra: string[]) => {
    const dir = path.join(work, name);
    const layer = tarOf(path.join(work, `${name}.tar`), { [`${name}.txt`]: `${name}\n` });
    writeOciLayout(dir, 'v', [{ architecture: 'amd64', layers: [{ tar: busyboxTar, compression: 'gzip' }, { tar: layer, compression: 'gzip' }], cmd: ['sh'] }]);
    const r = hosts.exec(m, 'skopeo', ['copy', '--quiet', ...extra, `oci:${dir}:v`, `docker://${dest}`]);
    assert.equal(r.code, 0, `skopeo copy: ${r.stderr}`);
  };

  after(() => {
    for (const p of [proxy, registry, ...others]) if (p?.pid) p.kill('SIGKILL');
    hosts?.destroy();
  });

  it('refuses plain HTTP until the registry is named insecure, then pulls a multi-layer image and runs it on three hosts', async () => {
    const dir = path.join(work, 'bb');
    const marker = tarOf(path.join(work, 'marker.tar'), { 'marker.txt': 'from the registry\n' });
    writeOciLayout(dir, '1', [{ architecture: 'amd64', layers: [{ tar: busyboxTar, compression: 'gzip' }, { tar: marker, compression: 'gzip' }], cmd: ['sh'] }]);
    push(dir, '1', `${reg}/team/bb:1`);

    const refused = hosts.cli(m, ['image', 'pull', `${reg}/team/bb:1`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`^error: cannot fetch manifest team/bb:1: registry ${reg.replace(/\./g, '\\.')} unreachable \\(.+\\)\\n$`));
    assert.ok(!images().some((i) => i.ref.includes('team/bb')), 'nothing stored');

    assert.match(hosts.ok(m, ['update', '--insecure-registry', reg]), new RegExp(`insecure registries: ${reg.replace(/\./g, '\\.')}`));
    const r = hosts.cli(m, ['image', 'pull', `${reg}/team/bb:1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stderr.match(/: Pull complete$/gm) ?? []).length, 2, `two layers fetched: ${r.stderr}`);
    assert.match(r.stderr, /Status: Downloaded newer image/);
    const stored = images().find((i) => i.ref === `${reg}/team/bb:1`);
    assert.ok(stored, JSON.stringify(images()));
    assert.equal(r.stdout.trim(), `${reg}/team/bb:1@${stored.digest}`);

    const again = hosts.cli(m, ['image', 'pull', `${reg}/team/bb:1`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Status: Image is up to date/);
    assert.equal((again.stderr.match(/: Already exists$/gm) ?? []).length, 2);

    hosts.ok(m, ['service', 'create', '--detach', '--name', 'bb', '--replicas', '3', '--replicas-max-per-node', '1', `${reg}/team/bb:1`, 'sh', '-c', 'cat /marker.txt; exec sleep 1000']);
    const running = await eventually('three tasks running', () => {
      const t = hosts.json<TaskRow[]>(['service', 'ps', 'bb']).filter((x) => x.desiredState === 'running' && x.state === 'running');
      return t.length === 3 ? t : null;
    }, 90000);
    assert.equal(new Set(running.map((t) => t.node)).size, 3, 'one on each host');
    await eventually('every task to print the marker', () => (hosts.ok(m, ['service', 'logs', '--raw', 'bb']).match(/^from the registry$/gm) ?? []).length === 3, 30000);
    hosts.ok(m, ['service', 'rm', 'bb']);
  });

  it('takes this platform\'s image from a manifest list, and unpacks a zstd layer', async () => {
    const dir = path.join(work, 'multi');
    const amd = tarOf(path.join(work, 'amd.tar'), { 'platform.txt': 'amd64 image\n' });
    const arm = tarOf(path.join(work, 'arm.tar'), { 'platform.txt': 'arm64 image\n' });
    const built = writeOciLayout(dir, 'multi', [
      { architecture: 'amd64', layers: [{ tar: busyboxTar, compression: 'gzip' }, { tar: amd, compression: 'zstd' }], cmd: ['sh'] },
      { architecture: 'arm64', layers: [{ tar: arm, compression: 'gzip' }], cmd: ['sh'] },
    ]);
    push(dir, 'multi', `${reg}/team/multi:1`, true);
    const r = hosts.cli(m, ['image', 'pull', `${reg}/team/multi:1`]);
    assert.equal(r.code, 0, r.stderr);
    const stored = images().find((i) => i.ref === `${reg}/team/multi:1`);
    assert.equal(stored?.digest, built.digest, 'the tag names the index, as the registry has it');
    const blobs = fs.readdirSync(path.join(m.dataRoot, 'manager', 'images', 'blobs', 'sha256'));
    for (const l of built.images[0]!.layers) assert.ok(blobs.includes(l.slice(7)), `amd64 layer ${l} fetched`);
    for (const l of built.images[1]!.layers) assert.ok(!blobs.includes(l.slice(7)), `arm64 layer ${l} not fetched`);

    hosts.ok(m, ['service', 'create', '--detach', '--name', 'multi', `${reg}/team/multi:1`, 'sh', '-c', 'cat /platform.txt; exec sleep 1000']);
    await eventually('the amd64 image to run, its zstd layer unpacked', () => /^amd64 image$/m.test(hosts.ok(m, ['service', 'logs', '--raw', 'multi'])), 60000);
    hosts.ok(m, ['service', 'rm', 'multi']);
  });

  it('refuses content that does not match its digest (a tampering proxy) and stores nothing', async () => {
    const proxyAddr = `${m.addr}:5001`;
    // Forwards to the registry and flips one byte of every blob it passes on.
    const script = [
      "const http = require('http');",
      `http.createServer((req, res) => { const up = http.request({ host: '${m.addr}', port: 5000, path: req.url, method: req.method, headers: req.headers }, (u) => {`,
      "  res.writeHead(u.statusCode, u.headers); let first = true;",
      "  u.on('data', (c) => { if (first && /\\/blobs\\//.test(req.url) && c.length > 0) { c = Buffer.from(c); c[0] ^= 0xff; first = false; } res.write(c); });",
      "  u.on('end', () => res.end()); }); req.pipe(up); }).listen(5001, '" + m.addr + "');",
    ].join('\n');
    proxy = spawn('nsenter', [`--net=/run/netns/${m.netns}`, process.execPath, '-e', script], { stdio: 'ignore' });
    await eventually('the proxy to answer', () => hosts.exec(m, 'timeout', ['2', 'busybox', 'wget', '-qO-', `http://${proxyAddr}/v2/`]).code === 0, 30000);
    hosts.ok(m, ['update', '--insecure-registry', reg, '--insecure-registry', proxyAddr]);
    const dir = path.join(work, 'tamper');
    const other = tarOf(path.join(work, 'other.tar'), { 'other.txt': 'never stored\n' });
    writeOciLayout(dir, 't', [{ architecture: 'amd64', layers: [{ tar: other, compression: 'gzip' }], cmd: ['sh'] }]);
    push(dir, 't', `${reg}/team/tampered:1`);
    const r = hosts.cli(m, ['image', 'pull', `${proxyAddr}/team/tampered:1`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*(does not match its digest|expected \d+ bytes with sha256:)/m);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1);
    assert.ok(!images().some((i) => i.ref.includes('tampered')), 'nothing stored');
  });

  it('TLS with the registry\'s CA in certs.d, htpasswd basic auth: login, wrong credentials, logout', async () => {
    const tlsReg = `${m.addr}:5443`;
    const certs = makeCerts('tls', m.addr);
    const htpasswd = path.join(work, 'htpasswd');
    const h = hosts.exec(m, 'htpasswd', ['-Bbc', htpasswd, 'alice', 'correct horse']);
    assert.equal(h.code, 0, h.stderr);
    await startRegistry('tls', 5443, ['http:', `  addr: ${tlsReg}`, `  tls: { certificate: ${certs.cert}, key: ${certs.key} }`, 'auth:', `  htpasswd: { realm: test, path: ${htpasswd} }`]);
    pushSmall('private', `${tlsReg}/team/private:1`, ['--dest-creds', 'alice:correct horse', '--dest-cert-dir', certs.trustDir]);

    const untrusted = hosts.cli(m, ['image', 'pull', `${tlsReg}/team/private:1`]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, new RegExp(`^error: cannot fetch manifest team/private:1: the certificate of registry ${tlsReg.replace(/\./g, '\\.')} is not trusted \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\): give the managers its CA as certs\\.d/.+/ca\\.crt under their data root, or name it with tsswarm update --insecure-registry .+\\n$`));

    // Docker's certs.d layout under the manager's data root.
    const dir = path.join(m.dataRoot, 'manager', 'certs.d', tlsReg);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(certs.ca, path.join(dir, 'ca.crt'));
    const anonymous = hosts.cli(m, ['image', 'pull', `${tlsReg}/team/private:1`]);
    assert.equal(anonymous.code, 1);
    assert.equal(anonymous.stderr, `error: registry ${tlsReg} requires authentication: log in with tsswarm login ${tlsReg}\n`);

    const wrong = hosts.cli(m, ['login', tlsReg, '-u', 'alice', '--password-stdin'], 'wrong\n');
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, `error: registry ${tlsReg} refused the credentials of alice\n`);
    assert.ok(!fs.existsSync(path.join(work, 'cli-config', 'config.json')), 'refused credentials are not kept');

    const ok = hosts.cli(m, ['login', `https://${tlsReg}/`, '-u', 'alice', '--password-stdin'], 'correct horse\n');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Login Succeeded/);
    const cfg = path.join(work, 'cli-config', 'config.json');
    assert.equal(fs.statSync(cfg).mode & 0o777, 0o600, 'the credentials file is for its owner only');
    const pulled = hosts.cli(m, ['image', 'pull', `${tlsReg}/team/private:1`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok(images().some((i) => i.ref === `${tlsReg}/team/private:1`));

    assert.match(hosts.ok(m, ['logout', tlsReg]), new RegExp(`Removing login credentials for ${tlsReg.replace(/\./g, '\\.')}`));
    assert.match(hosts.ok(m, ['logout', tlsReg]), /Not logged in/);
    const after = hosts.cli(m, ['image', 'pull', `${tlsReg}/team/private:1`]);
    assert.equal(after.code, 1, 'without credentials again');
  });

  it('--with-registry-auth: the cluster registry pulls a private image again for the tasks of the service that kept the credential, and only for those', async () => {
    const tlsReg = `${m.addr}:5443`;
    const login = hosts.cli(m, ['login', tlsReg, '-u', 'alice', '--password-stdin'], 'correct horse\n');
    assert.equal(login.code, 0, login.stderr);
    pushSmall('keeps', `${tlsReg}/team/keeps:1`, ['--dest-creds', 'alice:correct horse', '--dest-tls-verify=false']);
    pushSmall('forgets', `${tlsReg}/team/forgets:1`, ['--dest-creds', 'alice:correct horse', '--dest-tls-verify=false']);
    const create = (name: string, extra: string[]) =>
      hosts.ok(m, ['service', 'create', '--detach', '--name', name, ...extra, '--replicas', '1', '--replicas-max-per-node', '1', '--stop-grace-period', '1s', `${tlsReg}/team/${name}:1`, 'sleep', '1000']);
    create('keeps', ['--with-registry-auth']);
    create('forgets', []);
    const running = (s: string) => hosts.json<TaskRow[]>(['service', 'ps', s]).filter((t) => t.desiredState === 'running' && t.state === 'running');
    await eventually('both running', () => running('keeps').length === 1 && running('forgets').length === 1, 60000);
    hosts.ok(m, ['logout', tlsReg]);

    // Kept sealed in etcd, never shown.
    const stored = hosts.etcdctl(m, ['get', '--prefix', '/tsswarm/v1/registryauth/']);
    assert.equal(stored.code, 0, stored.stderr);
    assert.match(stored.stdout, /"alg":"A256GCM"/);
    assert.ok(!stored.stdout.includes('correct horse') && !stored.stdout.includes('alice'), 'the credential is not in plain text');
    assert.equal((stored.stdout.match(/registryauth\//g) ?? []).length, 1, 'only the service deployed with --with-registry-auth keeps one');
    assert.ok(!hosts.ok(m, ['service', 'inspect', 'keeps']).includes('correct horse'));

    // The cluster loses both images; the nodes that never ran them ask the cluster registry for them.
    for (const s of ['keeps', 'forgets']) hosts.ok(m, ['image', 'rm', '-f', `${tlsReg}/team/${s}:1`]);
    hosts.ok(m, ['service', 'scale', '--detach', 'keeps=3', 'forgets=3']);
    await eventually('keeps runs on the 3 hosts, pulled again with its credential', () => new Set(running('keeps').map((t) => t.node)).size === 3, 120000);
    const refused = await eventually('a task of forgets failing to get its image', () => {
      const t = hosts.json<Array<TaskRow & { error: string | null }>>(['service', 'ps', 'forgets']).find((x) => x.error?.includes('could not pull'));
      return t?.error ?? null;
    }, 60000);
    assert.match(refused, new RegExp(`the cluster could not pull ${tlsReg.replace(/\./g, '\\.')}/team/forgets@sha256:[0-9a-f]{64} again: registry ${tlsReg.replace(/\./g, '\\.')} requires authentication`));
    assert.equal(running('forgets').length, 1, 'only the task on the node that had the image runs');
    for (const s of ['keeps', 'forgets']) hosts.ok(m, ['service', 'rm', s]);
    assert.equal(hosts.etcdctl(m, ['get', '--prefix', '--keys-only', '/tsswarm/v1/registryauth/']).stdout.trim(), '', 'the credential goes with its service');
  });

  it('token auth: a bearer token from the registry\'s issuer, cached, refused for the wrong password', async () => {
    const tokReg = `${m.addr}:5444`;
    const issuer = `${m.addr}:5445`;
    const certs = makeCerts('token', m.addr);
    await startRegistry('token', 5444, ['http:', `  addr: ${tokReg}`, 'auth:', '  token:', `    realm: http://${issuer}/token`, '    service: test-registry', '    issuer: test-issuer', `    rootcertbundle: ${certs.ca}`]);
    // The issuer: basic auth alice/secret (anyone else gets nothing), a JWT signed with the CA's key,
    // its certificate in x5c, granting what was asked; every request counted in a file.
    const log = path.join(work, 'token-requests');
    const script = `
      const http = require('http'), crypto = require('crypto'), fs = require('fs');
      const key = fs.readFileSync(${JSON.stringify(certs.caKey)});
      const der = new crypto.X509Certificate(fs.readFileSync(${JSON.stringify(certs.ca)})).raw.toString('base64');
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      http.createServer((req, res) => {
        const u = new URL(req.url, 'http://x');
        fs.appendFileSync(${JSON.stringify(log)}, (u.searchParams.get('scope') || '-') + '\\n');
        if (req.headers.authorization !== 'Basic ' + Buffer.from('alice:secret').toString('base64')) { res.writeHead(401); return res.end(); }
        const scope = u.searchParams.get('scope');
        const access = scope ? [{ type: 'repository', name: scope.split(':')[1], actions: scope.split(':')[2].split(',') }] : [];
        const now = Math.floor(Date.now() / 1000);
        const head = b64({ alg: 'RS256', typ: 'JWT', x5c: [der] });
        const body = b64({ iss: 'test-issuer', sub: 'alice', aud: u.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access });
        const sig = crypto.sign('sha256', Buffer.from(head + '.' + body), key).toString('base64url');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: head + '.' + body + '.' + sig, expires_in: 300 }));
      }).listen(5445, ${JSON.stringify(m.addr)});`;
    const p = spawn('nsenter', [`--net=/run/netns/${m.netns}`, process.execPath, '-e', script], { stdio: 'ignore' });
    others.push(p);
    await eventually('the token issuer to listen', () => hosts.exec(m, 'sh', ['-c', "ss -ltn | grep -q ':5445 '"]).code === 0, 30000);
    hosts.ok(m, ['update', '--insecure-registry', reg, '--insecure-registry', tokReg]);
    pushSmall('tokened', `${tokReg}/team/tokened:1`, ['--dest-creds', 'alice:secret', '--dest-tls-verify=false']);
    fs.writeFileSync(log, '');

    const wrong = hosts.cli(m, ['login', tokReg, '-u', 'alice', '--password-stdin'], 'nope\n');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`^error: registry ${tokReg.replace(/\./g, '\\.')} refused the credentials of alice`));
    assert.equal(hosts.cli(m, ['login', tokReg, '-u', 'alice', '--password-stdin'], 'secret\n').code, 0);
    const r = hosts.cli(m, ['image', 'pull', `${tokReg}/team/tokened:1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(images().some((i) => i.ref === `${tokReg}/team/tokened:1`));
    const scopes = fs.readFileSync(log, 'utf8').trim().split('\n');
    // login's check (no scope), then one token for the pull's scope, reused for manifest, config and layers.
    assert.equal(scopes.filter((x) => x === 'repository:team/tokened:pull').length, 1, `token requests: ${JSON.stringify(scopes)}`);
  });

  it('deploy pins a tag to its digest: a tag moved upstream changes nothing running until the next deploy rolls it out', async () => {
    const build = (content: string) => {
      const dir = path.join(work, `app-${content}`);
      const layer = tarOf(path.join(work, `app-${content}.tar`), { 'version.txt': `${content}\n` });
      writeOciLayout(dir, 'v', [{ architecture: 'amd64', layers: [{ tar: busyboxTar, compression: 'gzip' }, { tar: layer, compression: 'gzip' }], cmd: ['sh'] }]);
      return dir;
    };
    const image = `${reg}/team/app:1`;
    push(build('first'), 'v', image);
    const file = path.join(work, 'app.yml');
    fs.writeFileSync(file, ['services:', '  web:', `    image: ${image}`, `    command: ["sh", "-c", "cat /version.txt; exec sleep 1000"]`, '    stop_grace_period: 1s', '    deploy: { replicas: 1 }', ''].join('\n'));
    // Not pulled before: the deploy pulls it into the cluster.
    hosts.ok(m, ['deploy', '-c', file, 'pin']);
    const spec = () => hosts.json<Array<{ spec: { task: { container: { image: string } } } }>>(['service', 'inspect', 'pin_web'])[0]!.spec.task.container.image;
    const first = spec();
    assert.match(first, new RegExp(`^${image.replace(/\./g, '\\.')}@sha256:[a-f0-9]{64}$`));
    assert.equal(first.split('@')[1], images().find((i) => i.ref === image)?.digest);
    assert.match(hosts.ok(m, ['service', 'ps', 'pin_web']), new RegExp(`team/app:1@sha256:${first.slice(-64, -52)}\\s`), 'service ps shows the digest');

    // The tag moves; a new replica still runs what the service was deployed with.
    push(build('second'), 'v', image);
    hosts.ok(m, ['service', 'scale', 'pin_web=2']);
    await eventually('two tasks printing the first version', () => (hosts.ok(m, ['service', 'logs', '--raw', 'pin_web']).match(/^first$/gm) ?? []).length === 2, 60000);
    assert.equal(spec(), first);

    // --resolve-image never keeps what the cluster has; a plain deploy asks the registry and rolls out the new digest.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('replicas: 1', 'replicas: 2'));
    hosts.ok(m, ['deploy', '--resolve-image', 'never', '-c', file, 'pin']);
    assert.equal(spec(), first);
    const r = hosts.cli(m, ['deploy', '-c', file, 'pin']);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(spec(), first);
    assert.match(r.stdout, /Updating service pin_web/);
    await eventually('both tasks on the second version', () => {
      const t = hosts.json<TaskRow[]>(['service', 'ps', 'pin_web']).filter((x) => x.desiredState === 'running' && x.state === 'running');
      return t.length === 2 && (hosts.ok(m, ['service', 'logs', '--raw', 'pin_web']).match(/^second$/gm) ?? []).length >= 2;
    }, 60000).catch((e: Error) => {
      throw new Error(`${e.message}: ${hosts.ok(m, ['service', 'ps', '--no-trunc', 'pin_web'])}\n${hosts.ok(m, ['service', 'logs', '--raw', 'pin_web'])}`);
    });
    assert.ok(images().some((i) => i.ref === `${reg}/team/app@${first.split('@')[1]}`), 'the old digest stays in the cluster (dangling) for tasks pinned to it');
    hosts.ok(m, ['stack', 'rm', 'pin']);
  });

  it('image push: what the cluster holds, read back by skopeo with the same digest', () => {
    const source = `${reg}/team/bb:1`;
    const target = `${reg}/pushed/copy:2`;
    hosts.ok(m, ['image', 'tag', source, target]);
    const digest = images().find((i) => i.ref === target)!.digest;
    const r = hosts.cli(m, ['image', 'push', target]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${target}@${digest}`);
    assert.ok((r.stderr.match(/: Layer already exists$/gm) ?? []).length === 0 && (r.stderr.match(/: Pushed$/gm) ?? []).length === 3, `config and two layers uploaded: ${r.stderr}`);
    const inspect = hosts.exec(m, 'skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${target}`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(`sha256:${require('node:crypto').createHash('sha256').update(inspect.stdout).digest('hex')}`, digest, 'the registry holds the manifest byte for byte');
    const out = path.join(work, 'pushed-copy');
    const copy = hosts.exec(m, 'skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${target}`, `oci:${out}:x`]);
    assert.equal(copy.code, 0, `another client reads every blob: ${copy.stderr}`);
    // Again: everything is there already.
    const again = hosts.cli(m, ['image', 'push', target]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.stderr.match(/: Layer already exists$/gm) ?? []).length, 3);
    assert.match(hosts.cli(m, ['image', 'push', 'not/here:1']).stderr, /^error: image not\/here:1 not found in the cluster\n$/);
    hosts.ok(m, ['image', 'rm', target]);
  });

  it('build --push: FROM an image of the registry, the result pushed back to it, which skopeo reads', () => {
    const dir = path.join(work, 'build-push');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${reg}/team/bb:1\nRUN echo pushed > /pushed.txt\nCMD ["cat", "/pushed.txt"]\n`);
    const target = `${reg}/built/app:1`;
    const r = hosts.cli(m, ['build', '--push', '-t', target, dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const digest = images().find((i) => i.ref === target)?.digest;
    assert.ok(digest, 'the build is in the cluster');
    assert.match(r.stdout, new RegExp(`^Pushed ${target.replace(/\./g, '\\.')}@${digest}$`, 'm'));
    const inspect = hosts.exec(m, 'skopeo', ['inspect', '--tls-verify=false', `docker://${target}`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, digest);
    assert.equal(info.Layers.length, 3, 'the base image\'s two layers and the RUN\'s');
    hosts.ok(m, ['image', 'rm', target]);
  });

  it('the cluster registry takes pushes from an operator\'s client certificate (skopeo), runs them on three hosts, refuses strangers', async () => {
    const certs = path.join(work, 'operator');
    hosts.ok(m, ['ca', 'client-cert', '--out', certs]);
    // skopeo's certificate directory: *.crt trusted, client.cert + client.key presented.
    const dir = path.join(work, 'operator-skopeo');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(certs, 'ca.pem'), path.join(dir, 'ca.crt'));
    fs.copyFileSync(path.join(certs, 'cert.pem'), path.join(dir, 'client.cert'));
    fs.copyFileSync(path.join(certs, 'key.pem'), path.join(dir, 'client.key'));
    const cluster = `${m.addr}:4243`;
    const layout = path.join(work, 'to-cluster');
    const layer = tarOf(path.join(work, 'to-cluster.tar'), { 'pushed.txt': 'pushed to the cluster\n' });
    const built = writeOciLayout(layout, 'v', [{ architecture: 'amd64', layers: [{ tar: busyboxTar, compression: 'gzip' }, { tar: layer, compression: 'gzip' }], cmd: ['sh'] }]);
    const push = hosts.exec(m, 'skopeo', ['copy', '--quiet', '--dest-cert-dir', dir, `oci:${layout}:v`, `docker://${cluster}/team/pushed:1`]);
    assert.equal(push.code, 0, `skopeo copy to the cluster registry: ${push.stderr}`);
    const stored = images().find((i) => i.ref === 'team/pushed:1');
    assert.equal(stored?.digest, built.digest, 'stored under its own name, with the digest it was pushed with');
    hosts.ok(m, ['service', 'create', '--detach', '--name', 'pushed', '--replicas', '3', '--replicas-max-per-node', '1', 'team/pushed:1', 'sh', '-c', 'cat /pushed.txt; exec sleep 1000']);
    await eventually('three tasks printing what was pushed', () => (hosts.ok(m, ['service', 'logs', '--raw', 'pushed']).match(/^pushed to the cluster$/gm) ?? []).length === 3, 90000);
    hosts.ok(m, ['service', 'rm', 'pushed']);

    // Without a certificate of the cluster: refused (TLS trusted, no client certificate).
    const trustOnly = path.join(work, 'trust-only');
    fs.mkdirSync(trustOnly);
    fs.copyFileSync(path.join(certs, 'ca.pem'), path.join(trustOnly, 'ca.crt'));
    const stranger = hosts.exec(m, 'skopeo', ['copy', '--quiet', '--dest-cert-dir', trustOnly, `oci:${layout}:v`, `docker://${cluster}/team/stranger:1`]);
    assert.notEqual(stranger.code, 0);
    assert.match(stranger.stderr, /unauthorized|authentication required|401/i);
    assert.ok(!images().some((i) => i.ref.includes('stranger')));
  });

  it('image save: one archive that skopeo reads (OCI layout and docker save) and tsswarm imports back', () => {
    const file = path.join(work, 'saved.tar');
    hosts.ok(m, ['image', 'save', '-o', file, 'team/pushed:1', `${reg}/team/bb:1`]);
    for (const transport of ['docker-archive:' + file + ':team/pushed:1', 'oci-archive:' + file + ':1']) {
      const r = hosts.exec(m, 'skopeo', ['inspect', '--raw', transport]);
      assert.equal(r.code, 0, `skopeo inspect ${transport}: ${r.stderr}`);
    }
    type Inspect = Array<{ layers: Array<{ digest: string }>; config: { Cmd?: string[] } }>;
    const original = hosts.json<Inspect>(['image', 'inspect', 'team/pushed:1'])[0]!;
    // A two-image archive imports the image named; a one-image archive under any name.
    const one = path.join(work, 'saved-one.tar');
    hosts.ok(m, ['image', 'save', '-o', one, 'team/pushed:1']);
    hosts.ok(m, ['image', 'import', one, 'team/roundtrip:1']);
    const back = hosts.json<Inspect>(['image', 'inspect', 'team/roundtrip:1'])[0]!;
    assert.deepEqual(back.layers.map((l) => l.digest), original.layers.map((l) => l.digest), 'the same layers');
    assert.deepEqual(back.config.Cmd, original.config.Cmd);
    const missing = hosts.cli(m, ['image', 'save', '-o', path.join(work, 'none.tar'), 'not/here:1']);
    assert.equal(missing.stderr, 'error: image not/here:1 not found\n');
    assert.ok(!fs.existsSync(path.join(work, 'none.tar')), 'no file for a failed save');
  });

  it('image inspect, tag and rm: never the image of a service unless forced', () => {
    const ref = `${reg}/team/bb:1`;
    const [info] = hosts.json<Array<{ ref: string; digest: string; source: string; layers: unknown[]; config: { Cmd?: string[] } }>>(['image', 'inspect', ref]);
    assert.equal(info?.ref, ref);
    assert.equal(info?.source, 'pull');
    assert.equal(info?.layers.length, 2);
    assert.deepEqual(info?.config.Cmd, ['sh']);
    hosts.ok(m, ['image', 'tag', ref, 'local/bb:mine']);
    const tagged = images().find((i) => i.ref === 'local/bb:mine');
    assert.equal(tagged?.digest, info?.digest);
    hosts.ok(m, ['service', 'create', '--detach', '--name', 'user', 'local/bb:mine', 'sleep', '1000']);
    // Another name still holds the image: untagging one is fine; the last one is guarded.
    assert.match(hosts.ok(m, ['image', 'rm', ref]), new RegExp(`^Untagged: ${ref.replace(/\./g, '\\.')}$`, 'm'));
    const refused = hosts.cli(m, ['image', 'rm', 'local/bb:mine']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'error: image local/bb:mine is used by service user (remove it first, or --force)\n');
    assert.ok(images().some((i) => i.ref === 'local/bb:mine'), 'nothing removed');
    hosts.ok(m, ['service', 'rm', 'user']);
    assert.match(hosts.ok(m, ['image', 'rm', 'local/bb:mine']), /^Deleted: sha256:/m);
    assert.ok(!images().some((i) => i.ref === 'local/bb:mine'));
    assert.match(hosts.cli(m, ['image', 'inspect', 'local/bb:mine']).stderr, /^error: image local\/bb:mine not found\n$/);
  });

  it('bad input: one line, nothing changed', () => {
    const before = images();
    for (const [args, message] of [
      [['image', 'pull', 'Not/Valid'], /^error: invalid image reference "Not\/Valid"/],
      [['image', 'pull'], /^error: usage: tsswarm image pull/],
      [['image', 'pull', `${reg}/team/nothere:1`], /^error: image team\/nothere:1 not found in the registry at /],
      [['update', '--registry-mirror', 'ftp://x'], /^error: registry mirror "ftp:\/\/x" must be http\(s\):\/\/host\[:port\]/],
      [['update', '--insecure-registry', 'a b'], /^error: insecure registry "a b" must be host\[:port\]/],
    ] as Array<[string[], RegExp]>) {
      const r = hosts.cli(m, args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(images(), before);
  });
});
