/**
 * Manager store → cluster registry over HTTP (127.0.0.1) → agent ImageCache:
 * layers unpacked as root, whiteouts turned into overlayfs marks (checked by
 * mounting the result), layers shared and downloaded once.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageNotFoundError } from '../../shared/errors';
import { chainIds } from '../../shared/oci';
import { ImageCache } from '../../agent/image/cache';
import { ImagePullError } from '../../shared/registry/errors';
import { createRegistryHandler } from '../../manager/registry/http';
import { ImageStore } from '../../manager/registry/store';
import { makeBusyboxImage, makeDockerSave, makeLayer, removeDir, sha256, tempDir } from '../unit/image/fixtures';

let work: string | null = null;
let server: Server | null = null;
let base = '';
const caches: ImageCache[] = [];
/** GET/HEAD requests the registry saw, by path. */
const requests = new Map<string, number>();
/** When set, blob bodies are sent with one byte flipped. */
let corruptBlobs = false;

let store: ImageStore;
let busyboxDiffId = '';
let upperDiffId = '';
let upperDigest = '';

function requireRootTools(): void {
  if (process.getuid?.() !== 0) {
    assert.fail('image-pull needs root: unpacking layers makes device nodes (mknod) and trusted.* xattrs; run the integration tests as root');
  }
  for (const tool of ['tar', 'mknod', 'setfattr', 'getfattr']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) assert.fail(`image-pull needs ${tool}: run scripts/setup.sh`);
  }
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function count(pathPart: string): number {
  let n = 0;
  for (const [path, c] of requests) if (path.includes(pathPart)) n += c;
  return n;
}

function newCache(root: string, url: () => string | null = () => base): ImageCache {
  const cache = new ImageCache({ root, registryUrl: url });
  caches.push(cache);
  return cache;
}

async function serveCorrupt(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<boolean> {
  const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
  if (!corruptBlobs || !m?.[1]) return false;
  const info = await store.blobInfo(m[1]);
  if (!info) return false;
  const data = await readFile(info.path);
  data.writeUInt8(data.readUInt8(data.length >> 1) ^ 0xff, data.length >> 1);
  res.writeHead(200, { 'Content-Length': data.length });
  res.end(data);
  return true;
}

describe('image pull from the cluster registry', () => {
  before(async () => {
    requireRootTools();
    work = await tempDir('image-pull');
    // Layer 0: busybox, through the docker save path.
    const save = join(work, 'busybox-save.tar');
    makeBusyboxImage(save, 'busybox:latest');
    const rootfs = join(work, 'busybox-rootfs.tar');
    makeBusyboxImage(rootfs);
    busyboxDiffId = sha256(await readFile(rootfs));
    // Layer 1 (gzip): deletes /etc/group, makes /var/www opaque with one new file, adds /app.
    const upper = join(work, 'upper.tar.gz');
    await makeLayer(
      upper,
      {
        'etc/.wh.group': '',
        'var/www/.wh..wh..opq': '',
        'var/www/new.html': 'new page\n',
        'app/run.sh': 'echo run\n',
      },
      true,
    );
    upperDigest = sha256(await readFile(upper));
    const two = join(work, 'two-layer.tar');
    const { diffIds } = await makeDockerSave(two, {
      layers: [rootfs, upper],
      repoTag: 'team/wh:1',
      entrypoint: ['/bin/sh', '-c'],
      cmd: ['cat /var/www/new.html'],
      env: ['PATH=/bin', 'MODE=test'],
      workingDir: '/app',
      user: 'nobody',
    });
    upperDiffId = diffIds[1] ?? '';

    store = new ImageStore(join(work, 'store'));
    await store.importArchive(save, 'busybox:latest');
    await store.importArchive(two, 'team/wh:1');

    const handler = createRegistryHandler(store);
    const srv = createServer((req, res) => {
      requests.set(req.url ?? '', (requests.get(req.url ?? '') ?? 0) + 1);
      void serveCorrupt(req, res)
        .then((done) => done || handler(req, res))
        .then((handled) => {
          if (!handled) {
            res.writeHead(404);
            res.end();
          }
        });
    });
    server = srv;
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const c of caches) c.close();
    const srv = server;
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    await removeDir(work);
  });

  it('pulls busybox: one layer unpacked as root, config from the image', async () => {
    const root = join(work ?? '', 'agent-a');
    const cache = newCache(root);
    const image = await cache.prepare('busybox');
    assert.equal(image.ref, 'busybox:latest');
    assert.equal(image.digest, (await store.resolve('busybox:latest'))?.digest);
    assert.deepEqual(image.layers, [join(root, 'layers', busyboxDiffId.slice(7), 'fs')], 'chainID(L0) = diffID(L0)');
    const fs = image.layers[0] ?? '';
    const bb = await stat(join(fs, 'bin', 'busybox'));
    assert.equal(bb.uid, 0);
    assert.equal(bb.mode & 0o777, 0o755);
    assert.equal(await readlink(join(fs, 'bin', 'sh')), 'busybox');
    assert.equal((await stat(join(fs, 'tmp'))).mode & 0o7777, 0o1777);
    assert.equal(await readFile(join(fs, 'var', 'www', 'index.html'), 'utf8'), 'hello from tsswarm\n');
    assert.equal(execFileSync(join(fs, 'bin', 'busybox'), ['echo', 'static busybox runs']).toString(), 'static busybox runs\n');
    assert.deepEqual(image.config, {
      entrypoint: null,
      cmd: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      workingDir: '/',
      user: null,
      volumes: [],
      healthcheck: null,
    });
    const meta = JSON.parse(await readFile(join(root, 'layers', busyboxDiffId.slice(7), 'layer.json'), 'utf8')) as { diffId: string };
    assert.equal(meta.diffId, busyboxDiffId);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    assert.equal(await cache.has('busybox:latest'), true);
    assert.equal(await cache.has('team/wh:1'), false);
  });

  it('pulls a two-layer image: shares the busybox layer, converts whiteouts, overlay shows the deletions', async () => {
    const root = join(work ?? '', 'agent-a');
    const cache = newCache(root);
    const busyboxBlobGets = count(`/blobs/${busyboxDiffId}`);
    const image = await cache.prepare('team/wh:1');
    assert.equal(count(`/blobs/${busyboxDiffId}`), busyboxBlobGets, 'the busybox layer was already unpacked');
    assert.equal(count(`/blobs/${upperDigest}`), 1);

    const [topId, bottomId] = [chainIds([busyboxDiffId, upperDiffId])[1] ?? '', busyboxDiffId];
    assert.equal(topId, sha256(Buffer.from(`${busyboxDiffId} ${upperDiffId}`)));
    assert.deepEqual(image.layers, [join(root, 'layers', topId.slice(7), 'fs'), join(root, 'layers', bottomId.slice(7), 'fs')], 'top layer first');
    assert.deepEqual(image.config, { entrypoint: ['/bin/sh', '-c'], cmd: ['cat /var/www/new.html'], env: ['PATH=/bin', 'MODE=test'], workingDir: '/app', user: 'nobody', volumes: [], healthcheck: null });

    const top = image.layers[0] ?? '';
    const whiteout = await lstat(join(top, 'etc', 'group'));
    assert.ok(whiteout.isCharacterDevice(), 'etc/group became a character device');
    assert.equal(whiteout.rdev, 0);
    assert.equal(whiteout.uid, 0);
    assert.equal(whiteout.gid, 0);
    await assert.rejects(lstat(join(top, 'etc', '.wh.group')), { code: 'ENOENT' });
    await assert.rejects(lstat(join(top, 'var', 'www', '.wh..wh..opq')), { code: 'ENOENT' });
    const xattr = execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', join(top, 'var', 'www')]).toString();
    assert.equal(xattr, 'y');
    assert.equal(await readFile(join(top, 'var', 'www', 'new.html'), 'utf8'), 'new page\n');

    // What a container would see: a read-only overlay of the two lowerdirs.
    const mnt = await tempDir('overlay');
    try {
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${image.layers.join(':')}`, mnt]);
      try {
        await assert.rejects(lstat(join(mnt, 'etc', 'group')), { code: 'ENOENT' });
        assert.ok((await lstat(join(mnt, 'etc', 'passwd'))).isFile());
        assert.deepEqual((await readdir(join(mnt, 'var', 'www'))).sort(), ['new.html'], 'opaque dir hides index.html');
        assert.ok((await lstat(join(mnt, 'bin', 'busybox'))).isFile());
      } finally {
        execFileSync('umount', [mnt]);
      }
    } finally {
      await removeDir(mnt);
    }
  });

  it('prepares again without downloading anything', async () => {
    const root = join(work ?? '', 'agent-a');
    const cache = newCache(root);
    const blobs = count('/blobs/');
    const layerDir = join(root, 'layers', busyboxDiffId.slice(7));
    const before = (await stat(layerDir)).ino;
    const again = await cache.prepare('team/wh:1');
    assert.equal(again.layers.length, 2);
    assert.equal(count('/blobs/'), blobs, 'no blob fetched');
    assert.equal((await stat(layerDir)).ino, before, 'same directory, not unpacked again');
    assert.deepEqual(
      (await cache.list()).map((i) => [i.ref, i.layers]),
      [
        ['busybox:latest', 1],
        ['team/wh:1', 2],
      ],
    );
  });

  it('concurrent prepares download each layer once', async () => {
    const root = join(work ?? '', 'agent-b');
    const cache = newCache(root);
    const busyboxGets = count(`/blobs/${busyboxDiffId}`);
    const upperGets = count(`/blobs/${upperDigest}`);
    const manifestGets = count('/v2/team/wh/manifests/1');
    const results = await Promise.all([
      cache.prepare('team/wh:1'),
      cache.prepare('team/wh:1'),
      cache.prepare('team/wh'.concat(':1')),
      cache.prepare('busybox'),
      cache.prepare('busybox:latest'),
    ]);
    assert.equal(new Set(results.map((r) => r.layers.join(':'))).size, 2);
    assert.equal(count(`/blobs/${busyboxDiffId}`) - busyboxGets, 1, 'busybox layer fetched once for both images');
    assert.equal(count(`/blobs/${upperDigest}`) - upperGets, 1);
    assert.equal(count('/v2/team/wh/manifests/1') - manifestGets, 1, 'one pull per ref');
    assert.deepEqual(await readdir(join(root, 'layers')).then((l) => l.sort()), [busyboxDiffId.slice(7), (chainIds([busyboxDiffId, upperDiffId])[1] ?? '').slice(7)].sort());
  });

  it('works from its cache when the registry is unknown or unreachable, and says why when it cannot', async () => {
    const root = join(work ?? '', 'agent-a');
    let url: string | null = null;
    const cache = newCache(root, () => url);
    const digest = (await store.resolve('team/wh:1'))?.digest ?? '';
    assert.equal((await cache.prepare('team/wh:1')).layers.length, 2, 'no registry yet: the local copy serves');
    await assert.rejects(cache.prepare('never:pulled'), (e: unknown) => e instanceof ImagePullError && e.temporary && /no registry known yet/.test(e.message));

    url = `http://127.0.0.1:${await closedPort()}`;
    assert.equal((await cache.prepare('busybox:latest')).layers.length, 1);
    const before = requests.size;
    assert.equal((await cache.prepare(`team/wh@${digest}`)).digest, digest, 'digest-pinned: no network at all');
    assert.equal(requests.size, before);
    await assert.rejects(cache.prepare('never:pulled'), (e: unknown) => e instanceof ImagePullError && e.temporary && /unreachable \(ECONNREFUSED\)/.test(e.message));
  });

  it('reports an unknown image as ImageNotFoundError', async () => {
    const cache = newCache(join(work ?? '', 'agent-a'));
    await assert.rejects(cache.prepare('team/wh:2'), ImageNotFoundError);
  });

  it('refuses a blob that does not match its digest and leaves no layer behind', async () => {
    const root = join(work ?? '', 'agent-c');
    const cache = newCache(root);
    corruptBlobs = true;
    try {
      await assert.rejects(cache.prepare('busybox'), (e: unknown) => e instanceof ImagePullError && !e.temporary && /does not match its digest/.test(e.message));
    } finally {
      corruptBlobs = false;
    }
    assert.deepEqual(await readdir(join(root, 'layers')), []);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    assert.equal(await cache.has('busybox'), false);
    // And the next try, with an honest registry, works.
    assert.equal(basename((await cache.prepare('busybox')).layers[0] ?? ''), 'fs');
  });
});
