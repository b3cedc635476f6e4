/**
 * The registry client against a small in-process registry (a fake: the integration tests use
 * Debian's docker-registry): the token flow and its cache, basic auth, refused credentials,
 * blob downloads resumed with Range after a cut, digests checked, and the push calls.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { RegistryAuth } from '../../../shared/registry/auth';
import { RegistryClient } from '../../../shared/registry/client';
import { ImagePullError, RegistryAuthError } from '../../../shared/registry/errors';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = Buffer.alloc(300_000, 7);
blob.write('a blob with some content at its start');
const blobDigest = sha(blob);
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobDigest, size: blob.length }, layers: [] }));

type Mode = 'bearer' | 'basic' | 'open';
let mode: Mode = 'bearer';
let base = '';
let server: Server;
let tokenRequests: URLSearchParams[] = [];
let tokenAuth: (string | undefined)[] = [];
/** Cut the first blob response after this many bytes (0: never). */
let cutAfter = 0;
let ranges: string[] = [];
let uploads: Buffer[] = [];
let work = '';

const USER = 'alice';
const PASS = 's3cret';
const basic = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  if (url.pathname === '/token') {
    tokenRequests.push(url.searchParams);
    tokenAuth.push(req.headers.authorization);
    // Anonymous callers get a token that only reads `public`; alice's reads all.
    const who = req.headers.authorization === basic ? 'alice' : req.headers.authorization ? null : 'anon';
    if (who === null) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `tok-${who}`, expires_in: 300 }));
    return;
  }
  const authz = req.headers.authorization;
  const scopeName = /^\/v2\/([^/]+(?:\/[^/]+)*?)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
  const allowed =
    mode === 'open' ||
    (mode === 'basic' && authz === basic) ||
    (mode === 'bearer' && (authz === 'Bearer tok-alice' || (authz === 'Bearer tok-anon' && scopeName === 'public')));
  if (!allowed) {
    const challenge = mode === 'basic' ? 'Basic realm="test"' : `Bearer realm="${base}/token",service="test-registry",scope="repository:${scopeName}:pull"`;
    res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    return;
  }
  if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
  if (url.pathname.endsWith('/manifests/v1')) {
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha(manifest) }).end(manifest);
    return;
  }
  if (url.pathname.endsWith(`/blobs/${blobDigest}`) && (req.method === 'GET' || req.method === 'HEAD')) {
    const range = req.headers.range;
    if (range) {
      ranges.push(range);
      const from = Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0);
      res.writeHead(206, { 'content-length': blob.length - from, 'content-range': `bytes ${from}-${blob.length - 1}/${blob.length}` }).end(blob.subarray(from));
      return;
    }
    res.writeHead(200, { 'content-length': blob.length });
    if (req.method === 'HEAD') return void res.end();
    if (cutAfter > 0) {
      const n = cutAfter;
      cutAfter = 0;
      res.write(blob.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(blob);
    return;
  }
  if (url.pathname.endsWith('/blobs/uploads/') && req.method === 'POST') {
    res.writeHead(202, { location: '/v2/upload/abc?state=1', 'content-length': 0 }).end();
    return;
  }
  if (url.pathname === '/v2/upload/abc' && req.method === 'PUT') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      uploads.push(body);
      if (sha(body) !== url.searchParams.get('digest')) return void res.writeHead(400).end(JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'digest mismatch' }] }));
      res.writeHead(201, { 'docker-content-digest': sha(body) }).end();
    });
    return;
  }
  res.writeHead(404).end();
}

describe('RegistryClient and RegistryAuth', () => {
  before(async () => {
    server = createServer(handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    work = await mkdtemp(join(tmpdir(), 'registry-client-'));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    mode = 'bearer';
    tokenRequests = [];
    tokenAuth = [];
    cutAfter = 0;
    ranges = [];
    uploads = [];
  });

  const client = (cred: { username: string; password: string } | null) => new RegistryClient(base, fetch, { auth: new RegistryAuth(() => cred, fetch), host: 'reg.test' });
  const signal = () => AbortSignal.timeout(10_000);

  it('gets a token from the realm with service and scope, and reuses it for the scope', async () => {
    const c = client({ username: USER, password: PASS });
    const m = await c.manifest('team/app', 'v1', signal());
    assert.equal(m.digest, sha(manifest));
    await c.manifest('team/app', 'v1', signal());
    assert.equal(tokenRequests.length, 1, 'one token for two requests of one scope');
    assert.equal(tokenRequests[0]?.get('service'), 'test-registry');
    assert.equal(tokenRequests[0]?.get('scope'), 'repository:team/app:pull');
    assert.equal(tokenAuth[0], basic, 'the credentials go to the token endpoint as basic auth');
  });

  it('anonymous tokens read what anonymous may read, and say login when more is needed', async () => {
    const c = client(null);
    await c.manifest('public', 'v1', signal());
    assert.equal(tokenAuth[0], undefined);
    await assert.rejects(c.manifest('team/app', 'v1', signal()), (e: unknown) => e instanceof RegistryAuthError && /requires authentication for pull of team\/app: log in with tsswarm login reg.test/.test(e.message));
  });

  it('wrong credentials: one line naming the user', async () => {
    const c = client({ username: USER, password: 'wrong' });
    await assert.rejects(c.manifest('team/app', 'v1', signal()), (e: unknown) => e instanceof RegistryAuthError && /refused the credentials of alice for pull of team\/app/.test(e.message));
  });

  it('basic auth: sent from then on, refused credentials said so', async () => {
    mode = 'basic';
    await client({ username: USER, password: PASS }).manifest('team/app', 'v1', signal());
    assert.equal(tokenRequests.length, 0);
    await assert.rejects(client({ username: USER, password: 'nope' }).manifest('team/app', 'v1', signal()), RegistryAuthError);
    await assert.rejects(client(null).ping(signal()), /requires authentication: log in with tsswarm login reg.test/);
  });

  it('ping checks credentials as login does', async () => {
    await client({ username: USER, password: PASS }).ping(signal());
    mode = 'basic';
    await assert.rejects(client({ username: USER, password: 'x' }).ping(signal()), RegistryAuthError);
  });

  it('a blob cut off half way is resumed with a Range request and verified whole', async () => {
    mode = 'open';
    cutAfter = 100_000;
    const file = join(work, 'resumed');
    await client(null).blobToFile('team/app', { mediaType: 'application/octet-stream', digest: blobDigest, size: blob.length }, file, signal());
    assert.ok(ranges.length >= 1 && /^bytes=\d+-$/.test(ranges[0]!), `resumed with ${JSON.stringify(ranges)}`);
    assert.ok(Number(ranges[0]!.slice(6, -1)) > 0, 'from where it stopped, not from 0');
    assert.deepEqual(await readFile(file), blob);
  });

  it('a blob whose bytes do not match its descriptor is refused', async () => {
    mode = 'open';
    await assert.rejects(
      client(null).blobBytes('team/app', { mediaType: 'x', digest: blobDigest, size: blob.length - 1 }, signal()),
      (e: unknown) => e instanceof ImagePullError && !e.temporary && /does not match its digest/.test(e.message),
    );
  });

  it('pushes a blob from a file (POST, then PUT with the digest) with a token', async () => {
    const file = join(work, 'push');
    await writeFile(file, blob);
    await client({ username: USER, password: PASS }).pushBlob('team/app', { mediaType: 'x', digest: blobDigest, size: blob.length }, file, signal());
    assert.equal(uploads.length, 1);
    assert.equal(sha(uploads[0]!), blobDigest);
    assert.equal(await client({ username: USER, password: PASS }).hasBlob('team/app', blobDigest, signal()), true);
  });
});
