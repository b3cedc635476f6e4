import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageNotFoundError, InvalidArgumentError } from '../../../shared/errors';
import { MediaType, parseImageConfig } from '../../../shared/oci';
import { ImageImportError } from '../../../manager/registry/errors';
import { ImageStore } from '../../../manager/registry/store';
import { makeBusyboxImage, makeDockerSave, makeLayer, makeOciLayout, removeDir, sha256, tempDir } from './fixtures';

let work: string;
let rootfsTar: string;
let saveTar: string;

before(async () => {
  work = await tempDir('store-test');
  rootfsTar = join(work, 'busybox-rootfs.tar');
  saveTar = join(work, 'busybox-save.tar');
  makeBusyboxImage(rootfsTar);
  makeBusyboxImage(saveTar, 'busybox:1.36');
});

after(() => removeDir(work));

async function withStore(fn: (store: ImageStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('store');
  try {
    await fn(new ImageStore(dir), dir);
  } finally {
    await removeDir(dir);
  }
}

function flipByte(data: Buffer, at: number): void {
  data.writeUInt8(data.readUInt8(at) ^ 0xff, at);
}

async function blobNames(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'blobs', 'sha256'))).sort();
}

/** The store holds nothing: no blobs, no refs, no staging leftovers. */
async function assertEmpty(store: ImageStore, dir: string): Promise<void> {
  assert.deepEqual(await blobNames(dir), []);
  assert.deepEqual(await store.list(), []);
  assert.deepEqual(await readdir(join(dir, 'tmp')), []);
}

describe('ImageStore import', () => {
  it('imports a plain rootfs tar as one uncompressed layer with an empty config', async () => {
    await withStore(async (store, dir) => {
      const summary = await store.importArchive(rootfsTar, 'busybox');
      assert.equal(summary.ref, 'busybox:latest');
      assert.equal(summary.layers, 1);
      assert.match(summary.digest, /^sha256:[a-f0-9]{64}$/);
      assert.ok(summary.created !== null && !Number.isNaN(Date.parse(summary.created)));

      const resolved = await store.resolve('busybox:latest');
      assert.ok(resolved);
      assert.equal(resolved.digest, summary.digest);
      assert.equal(resolved.mediaType, MediaType.ociManifest);
      assert.equal(sha256(resolved.raw), resolved.digest);
      const layer = resolved.manifest.layers[0];
      assert.ok(layer);
      assert.equal(layer.mediaType, MediaType.ociLayer);
      const tarData = await readFile(rootfsTar);
      assert.equal(layer.digest, sha256(tarData));
      assert.equal(layer.size, tarData.length);
      assert.equal(summary.size, resolved.manifest.config.size + layer.size);

      const config = parseImageConfig(await readFile(join(dir, 'blobs', 'sha256', resolved.manifest.config.digest.slice(7))));
      assert.equal(config.os, 'linux');
      assert.equal(config.architecture, 'amd64');
      assert.deepEqual(config.config, {});
      assert.deepEqual(config.rootfs.diff_ids, [layer.digest]);
      // Every blob is stored under its own digest.
      for (const name of await blobNames(dir)) {
        assert.equal(sha256(await readFile(join(dir, 'blobs', 'sha256', name))), `sha256:${name}`);
      }
      assert.deepEqual(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
      assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    });
  });

  it('imports a gzipped rootfs tar as a tar+gzip layer whose diff id is the plain tar', async () => {
    await withStore(async (store, dir) => {
      const gz = join(work, 'rootfs.tar.gz');
      execFileSync('sh', ['-c', `gzip -9 -n -c "${rootfsTar}" > "${gz}"`]);
      await store.importArchive(gz, 'busybox:gz');
      const resolved = await store.resolve('busybox:gz');
      assert.ok(resolved);
      assert.equal(resolved.manifest.layers[0]?.mediaType, MediaType.ociLayerGzip);
      const config = parseImageConfig(await readFile(join(dir, 'blobs', 'sha256', resolved.manifest.config.digest.slice(7))));
      assert.deepEqual(config.rootfs.diff_ids, [sha256(await readFile(rootfsTar))]);
    });
  });

  it('imports a docker save archive and keeps its config (Cmd, Env) byte for byte', async () => {
    await withStore(async (store, dir) => {
      const summary = await store.importArchive(saveTar, 'busybox:1.36');
      assert.equal(summary.ref, 'busybox:1.36');
      assert.equal(summary.created, '2000-01-01T00:00:00Z');
      const resolved = await store.resolve('busybox:1.36');
      assert.ok(resolved);
      const configBytes = await readFile(join(dir, 'blobs', 'sha256', resolved.manifest.config.digest.slice(7)));
      const config = parseImageConfig(configBytes);
      assert.deepEqual(config.config?.Cmd, ['sh']);
      assert.equal(config.config?.WorkingDir, '/');
      assert.ok(config.config?.Env?.some((e) => e.startsWith('PATH=')));
      // The script's layer is the same reproducible tar as the plain output.
      assert.equal(resolved.manifest.layers[0]?.digest, sha256(await readFile(rootfsTar)));
      // Importing again gives the same digest and stores nothing new.
      const before = await blobNames(dir);
      const again = await store.importArchive(saveTar, 'busybox:1.36');
      assert.equal(again.digest, summary.digest);
      assert.deepEqual(await blobNames(dir), before);
    });
  });

  it('imports a two-layer docker save with a gzip layer and keeps Entrypoint/User', async () => {
    await withStore(async (store) => {
      const upper = join(work, 'upper.tar.gz');
      await makeLayer(upper, { 'app/hello.txt': 'hi\n' }, true);
      const archive = join(work, 'two-layer.tar');
      const { diffIds } = await makeDockerSave(archive, { layers: [rootfsTar, upper], repoTag: 'app:2', entrypoint: ['/bin/sh', '-c'], user: 'nobody' });
      const summary = await store.importArchive(archive, 'app:2');
      assert.equal(summary.layers, 2);
      const resolved = await store.resolve('app:2');
      assert.ok(resolved);
      assert.deepEqual(
        resolved.manifest.layers.map((l) => l.mediaType),
        [MediaType.ociLayer, MediaType.ociLayerGzip],
      );
      assert.equal(resolved.manifest.layers[1]?.digest, sha256(await readFile(upper)));
      assert.equal(diffIds.length, 2);
    });
  });

  it('imports an OCI image-layout archive keeping the manifest digest', async () => {
    await withStore(async (store) => {
      const archive = join(work, 'oci.tar');
      const { manifestDigest } = await makeOciLayout(archive, { layers: [rootfsTar], repoTag: 'ocibox:3' });
      const summary = await store.importArchive(archive, 'ocibox:3');
      assert.equal(summary.digest, manifestDigest);
      assert.ok(await store.resolve(`ocibox@${manifestDigest}`));
    });
  });

  it('picks the tagged image out of a multi-image docker save, and refuses when none matches', async () => {
    await withStore(async (store, dir) => {
      const archive = join(work, 'multi.tar');
      const extra = join(work, 'extra.tar');
      await makeLayer(extra, { 'x.txt': 'x' });
      // Two entries in one manifest.json: built from two single-image archives.
      const a = await tempDir('multi');
      try {
        await makeDockerSave(join(a, 'a.tar'), { layers: [rootfsTar], repoTag: 'one:1' });
        await makeDockerSave(join(a, 'b.tar'), { layers: [extra], repoTag: 'two:2' });
        const d = join(a, 'x');
        execFileSync('sh', ['-c', `mkdir "${d}" && tar -xf "${a}/a.tar" -C "${d}" && tar -xf "${a}/b.tar" -C "${d}" --exclude=./manifest.json`]);
        const ma = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8')) as unknown[];
        const mb = JSON.parse(execFileSync('tar', ['-xOf', join(a, 'b.tar'), './manifest.json']).toString()) as unknown[];
        await writeFile(join(d, 'manifest.json'), JSON.stringify([...ma, ...mb]));
        execFileSync('tar', ['-cf', archive, '-C', d, '.']);
      } finally {
        await removeDir(a);
      }
      const two = await store.importArchive(archive, 'two:2');
      assert.equal(two.layers, 1);
      const resolved = await store.resolve('two:2');
      assert.equal(resolved?.manifest.layers[0]?.digest, sha256(await readFile(extra)));
      const before = await blobNames(dir);
      await assert.rejects(store.importArchive(archive, 'three:3'), (e: unknown) => e instanceof ImageImportError && /none is tagged three:3/.test(e.message));
      assert.deepEqual(await blobNames(dir), before);
    });
  });

  it('rejects a digest as the import name', async () => {
    await withStore(async (store) => {
      await assert.rejects(store.importArchive(rootfsTar, `busybox@sha256:${'a'.repeat(64)}`), InvalidArgumentError);
      await assert.rejects(store.importArchive(rootfsTar, 'Bad Name'), InvalidArgumentError);
    });
  });
});

describe('ImageStore corrupt archives leave nothing behind', () => {
  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    ['a missing file', async () => join(work, 'nope.tar'), /cannot import .*nope\.tar: .*no such file/i],
    [
      'a file that is not a tar',
      async () => {
        const f = join(work, 'garbage.tar');
        await writeFile(f, Buffer.alloc(4096, 0x5a));
        return f;
      },
      /not a readable tar archive/,
    ],
    [
      'a truncated rootfs tar',
      async () => {
        const f = join(work, 'truncated.tar');
        execFileSync('cp', [rootfsTar, f]);
        await truncate(f, Math.floor((await stat(f)).size / 2) + 100);
        return f;
      },
      /not a readable tar archive/,
    ],
    [
      'a docker save whose layer does not match the config',
      async () => {
        const d = await tempDir('corrupt');
        try {
          execFileSync('tar', ['-xf', saveTar, '-C', d]);
          const manifest = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
          const layer = join(d, manifest[0]?.Layers[0] ?? '');
          const data = await readFile(layer);
          flipByte(data, data.length - 20000); // still a readable tar, different content
          await writeFile(layer, data);
          const f = join(work, 'bad-layer.tar');
          execFileSync('tar', ['-cf', f, '-C', d, '.']);
          return f;
        } finally {
          await removeDir(d);
        }
      },
      /layer 1 of 1 .* does not match the image config/,
    ],
    [
      'a docker save whose config was altered',
      async () => {
        const d = await tempDir('corrupt');
        try {
          execFileSync('tar', ['-xf', saveTar, '-C', d]);
          const manifest = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8')) as Array<{ Config: string }>;
          const configFile = join(d, manifest[0]?.Config ?? '');
          await writeFile(configFile, (await readFile(configFile, 'utf8')).replace('"sh"', '"ls"'));
          const f = join(work, 'bad-config.tar');
          execFileSync('tar', ['-cf', f, '-C', d, '.']);
          return f;
        } finally {
          await removeDir(d);
        }
      },
      /does not match its digest/,
    ],
    [
      'a docker save whose manifest.json is not JSON',
      async () => {
        const d = await tempDir('corrupt');
        try {
          execFileSync('tar', ['-xf', saveTar, '-C', d]);
          await writeFile(join(d, 'manifest.json'), '[{');
          const f = join(work, 'bad-manifest.tar');
          execFileSync('tar', ['-cf', f, '-C', d, '.']);
          return f;
        } finally {
          await removeDir(d);
        }
      },
      /manifest\.json is not JSON/,
    ],
    [
      'a docker save whose layer points outside the archive',
      async () => {
        const d = await tempDir('corrupt');
        try {
          execFileSync('tar', ['-xf', saveTar, '-C', d]);
          const manifest = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
          const layer = join(d, manifest[0]?.Layers[0] ?? '');
          execFileSync('ln', ['-sf', '/etc/hostname', layer]);
          const f = join(work, 'escape.tar');
          execFileSync('tar', ['-cf', f, '-C', d, '.']);
          return f;
        } finally {
          await removeDir(d);
        }
      },
      /points outside the archive/,
    ],
    [
      'an OCI layout with a corrupt layer blob',
      async () => {
        const f = join(work, 'bad-oci.tar');
        await makeOciLayout(f, { layers: [rootfsTar], repoTag: 'x:1' });
        const d = await tempDir('corrupt');
        try {
          execFileSync('tar', ['-xf', f, '-C', d]);
          const blob = join(d, 'blobs', 'sha256', sha256(await readFile(rootfsTar)).slice(7));
          const data = await readFile(blob);
          flipByte(data, 600);
          await writeFile(blob, data);
          execFileSync('tar', ['-cf', f, '-C', d, '.']);
          return f;
        } finally {
          await removeDir(d);
        }
      },
      /does not match its digest or size/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what}`, async () => {
      const file = await make();
      await withStore(async (store, dir) => {
        await assert.rejects(store.importArchive(file, 'broken:1'), (e: unknown) => {
          assert.ok(e instanceof ImageImportError, `expected ImageImportError, got ${String(e)}`);
          assert.equal(e.code, 'IMAGE_IMPORT');
          assert.match(e.message, message);
          assert.ok(!e.message.includes('\n'), 'one-line message');
          return true;
        });
        await assertEmpty(store, dir);
        assert.equal(await store.resolve('broken:1'), null);
      });
    });
  }

  it('leaves an existing image untouched when a later import fails', async () => {
    await withStore(async (store, dir) => {
      const good = await store.importArchive(rootfsTar, 'busybox:latest');
      const before = await blobNames(dir);
      const bad = join(work, 'garbage2.tar');
      await writeFile(bad, 'not a tar at all');
      await assert.rejects(store.importArchive(bad, 'busybox:latest'), ImageImportError);
      assert.deepEqual(await blobNames(dir), before);
      assert.equal((await store.resolve('busybox'))?.digest, good.digest);
    });
  });
});

describe('ImageStore list / resolve / remove', () => {
  it('lists refs sorted, resolves tags and digests, and removes with garbage collection', async () => {
    await withStore(async (store, dir) => {
      const a = await store.importArchive(saveTar, 'busybox:1.36');
      const b = await store.importArchive(saveTar, 'team/busybox:stable');
      const c = await store.importArchive(rootfsTar, 'plain');
      assert.equal(a.digest, b.digest);
      assert.deepEqual(
        (await store.list()).map((i) => i.ref),
        ['busybox:1.36', 'plain:latest', 'team/busybox:stable'],
      );
      assert.equal((await store.resolve(`busybox@${a.digest}`))?.digest, a.digest);
      assert.equal(await store.resolve(`other@${a.digest}`), null, 'a digest resolves only under a name that has it');
      assert.equal(await store.resolve('busybox:nope'), null);
      assert.equal(await store.resolve('busybox'), null, 'busybox means busybox:latest');

      // The busybox layer is shared by all three; removing one tag keeps it.
      await store.remove('busybox:1.36');
      assert.equal(await store.resolve('busybox:1.36'), null);
      assert.ok(await store.resolve('team/busybox:stable'));
      await store.remove('team/busybox:stable');
      // Only the plain image's manifest, config and (shared) layer remain.
      const left = await blobNames(dir);
      assert.equal(left.length, 3);
      assert.ok(left.includes(c.digest.slice(7)));
      await store.remove(`plain@${c.digest}`);
      await assertEmpty(store, dir);
      await assert.rejects(store.remove('plain'), ImageNotFoundError);
    });
  });

  it('survives a reopen: refs.json is the truth', async () => {
    await withStore(async (store, dir) => {
      const a = await store.importArchive(saveTar, 'busybox:1.36');
      const reopened = new ImageStore(dir);
      assert.deepEqual(await reopened.list(), [a]);
      const refs = JSON.parse(await readFile(join(dir, 'refs.json'), 'utf8')) as { refs: Record<string, { digest: string }> };
      assert.equal(refs.refs['busybox:1.36']?.digest, a.digest);
    });
  });

  it('serialises concurrent imports', async () => {
    await withStore(async (store) => {
      const results = await Promise.all([
        store.importArchive(saveTar, 'a:1'),
        store.importArchive(rootfsTar, 'b:1'),
        store.importArchive(saveTar, 'c:1'),
      ]);
      assert.equal(results.length, 3);
      assert.deepEqual(
        (await store.list()).map((i) => i.ref),
        ['a:1', 'b:1', 'c:1'],
      );
    });
  });
});

describe('ImageStore pulls', () => {
  it('a tag that moves leaves its old image under name@digest, still resolvable by that digest', async () => {
    await withStore(async (store) => {
      const a = await store.importArchive(saveTar, 'app:1');
      const b = await store.importArchive(rootfsTar, 'app:1');
      assert.notEqual(a.digest, b.digest);
      assert.deepEqual((await store.list()).map((i) => i.ref).sort(), ['app:1', `app@${a.digest}`]);
      assert.equal((await store.resolve(`app@${a.digest}`))?.digest, a.digest);
      assert.equal((await store.resolve('app:1'))?.digest, b.digest);
      assert.equal((await store.resolve('app:1'))?.source, 'import');
      await store.remove(`app@${a.digest}`);
      assert.equal(await store.resolve(`app@${a.digest}`), null);
    });
  });

  it('ensureBlob: one fetch for concurrent callers, verified by the fetcher, pinned against collection until released', async () => {
    await withStore(async (store) => {
      const data = Buffer.from('layer bytes');
      const d = { mediaType: MediaType.ociLayer, digest: sha256(data), size: data.length };
      let fetches = 0;
      const fetchTo = async (file: string) => {
        fetches++;
        await new Promise((r) => setTimeout(r, 20));
        await writeFile(file, data);
      };
      const [x, y] = await Promise.all([store.ensureBlob(d, fetchTo), store.ensureBlob(d, fetchTo)]);
      assert.equal(fetches, 1);
      assert.ok(await store.blobInfo(d.digest));
      // An import's garbage collection leaves a pinned blob alone...
      await store.importArchive(rootfsTar, 'other:1');
      assert.ok(await store.blobInfo(d.digest), 'kept while pinned');
      x.release();
      y.release();
      await store.remove('other:1');
      assert.equal(await store.blobInfo(d.digest), null, 'collected once released and unreferenced');
      // A fetcher that fails leaves nothing behind.
      await assert.rejects(store.ensureBlob(d, async () => { throw new Error('cut off'); }), /cut off/);
      assert.equal(await store.blobInfo(d.digest), null);
    });
  });

  it('keeps an index as it is, with the entries it holds; serves an entry by digest under the name', async () => {
    await withStore(async (store) => {
      const one = await store.importArchive(saveTar, 'seed:1');
      const resolved = (await store.resolve('seed:1'))!;
      const index = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { mediaType: resolved.mediaType, digest: one.digest, size: resolved.raw.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: MediaType.ociManifest, digest: `sha256:${'e'.repeat(64)}`, size: 10, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }));
      const staged = await store.importStaged('multi:1', async (staging) => {
        const file = join(staging, 'index');
        await writeFile(file, index);
        return { manifestDigest: sha256(index), blobs: [{ path: file, digest: sha256(index), size: index.length }] };
      }, 'pull');
      assert.equal(staged.digest, sha256(index));
      const r = (await store.resolve('multi:1'))!;
      assert.equal(r.digest, sha256(index));
      assert.equal(r.source, 'pull');
      assert.equal(r.index?.manifests.length, 2);
      assert.equal(r.manifest.config.digest, resolved.manifest.config.digest, 'this platform\'s image');
      assert.equal((await store.resolve(`multi@${one.digest}`))?.digest, one.digest, 'the entry it holds, by digest');
      assert.equal(await store.resolve(`multi@sha256:${'e'.repeat(64)}`), null, 'not an entry it lacks');
      // The entry's blobs stay while the index names them, after the tag that brought them goes.
      await store.remove('seed:1');
      assert.ok(await store.blobInfo(one.digest));
      await store.remove('multi:1');
      assert.equal(await store.blobInfo(one.digest), null);
    });
  });
});
