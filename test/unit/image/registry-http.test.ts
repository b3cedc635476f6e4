import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../../shared/oci';
import { createRegistryHandler } from '../../../manager/registry/http';
import { ImageStore } from '../../../manager/registry/store';
import { makeBusyboxImage, removeDir, sha256, tempDir } from './fixtures';

let work: string;
let server: Server | null = null;
let base: string;
let digest: string;
let layerDigest: string;
let layerBytes: Buffer;

before(async () => {
  work = await tempDir('registry-http');
  const archive = join(work, 'busybox.tar');
  makeBusyboxImage(archive, 'busybox:1.36');
  const store = new ImageStore(join(work, 'store'));
  digest = (await store.importArchive(archive, 'team/busybox:1.36')).digest;
  await store.importArchive(archive, 'busybox:latest');
  const resolved = await store.resolve('team/busybox:1.36');
  layerDigest = resolved?.manifest.layers[0]?.digest ?? '';
  layerBytes = await readFile(join(work, 'store', 'blobs', 'sha256', layerDigest.slice(7)));

  const handler = createRegistryHandler(store);
  const srv = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(418);
        res.end('not mine');
      }
    });
  });
  server = srv;
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
});

after(async () => {
  const srv = server;
  if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  await removeDir(work);
});

async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
  assert.equal(body.errors.length, 1);
  assert.equal(typeof body.errors[0]?.message, 'string');
  return body.errors[0]?.code;
}

describe('registry HTTP handler', () => {
  it('answers /v2/ with {} and the API version header', async () => {
    const res = await fetch(`${base}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await res.json(), {});
  });

  it('leaves paths outside /v2/ to the caller', async () => {
    for (const path of ['/', '/v1/images', '/v2x/foo']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 418, path);
      await res.arrayBuffer();
    }
  });

  it('serves a manifest by tag and by digest, names with a slash included', async () => {
    for (const ref of ['1.36', digest]) {
      const res = await fetch(`${base}/v2/team/busybox/manifests/${ref}`, { headers: { Accept: MediaType.ociManifest } });
      assert.equal(res.status, 200, ref);
      assert.equal(res.headers.get('content-type'), MediaType.ociManifest);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(sha256(body), digest);
      assert.equal(Number(res.headers.get('content-length')), body.length);
    }
  });

  it('answers HEAD for a manifest with headers and no body', async () => {
    const res = await fetch(`${base}/v2/busybox/manifests/latest`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.ok(Number(res.headers.get('content-length')) > 0);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  it('streams a blob with its length and digest', async () => {
    const res = await fetch(`${base}/v2/team/busybox/blobs/${layerDigest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), layerDigest);
    assert.equal(Number(res.headers.get('content-length')), layerBytes.length);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(body), layerDigest);
    const head = await fetch(`${base}/v2/team/busybox/blobs/${layerDigest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), layerBytes.length);
  });

  const notFound: Array<[string, number, string]> = [
    ['/v2/busybox/manifests/nope', 404, 'MANIFEST_UNKNOWN'],
    ['/v2/nobody/manifests/latest', 404, 'MANIFEST_UNKNOWN'],
    [`/v2/other/manifests/sha256:${'0'.repeat(64)}`, 404, 'MANIFEST_UNKNOWN'],
    ['/v2/busybox/manifests/sha256:xyz', 400, 'DIGEST_INVALID'],
    [`/v2/busybox/blobs/sha256:${'0'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
    ['/v2/busybox/blobs/latest', 400, 'DIGEST_INVALID'],
    ['/v2/Bad_Name/manifests/latest', 400, 'NAME_INVALID'],
    ['/v2/busybox/tags/list', 200, ''],
    ['/v2/nothing/tags/list', 404, 'NAME_UNKNOWN'],
    ['/v2/busybox/elsewhere', 404, 'UNSUPPORTED'],
  ];
  for (const [path, status, code] of notFound) {
    it(`GET ${path} → ${status} ${code}`, async () => {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, status);
      assert.equal(res.headers.get('content-type'), 'application/json');
      if (code) assert.equal(await errorCode(res), code);
      else await res.arrayBuffer();
    });
  }

  it('refuses to be written to', async () => {
    const res = await fetch(`${base}/v2/busybox/manifests/latest`, { method: 'PUT', body: '{}' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal(await errorCode(res), 'UNSUPPORTED');
  });

  it('lists tags and the catalog', async () => {
    const tags = (await (await fetch(`${base}/v2/team/busybox/tags/list`)).json()) as unknown;
    assert.deepEqual(tags, { name: 'team/busybox', tags: ['1.36'] });
    const catalog = (await (await fetch(`${base}/v2/_catalog`)).json()) as unknown;
    assert.deepEqual(catalog, { repositories: ['busybox', 'team/busybox'] });
  });
});
