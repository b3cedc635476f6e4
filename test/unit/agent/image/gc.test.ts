/** The node's image GC: least recently used first, never an image a task uses, down to 5 points below the threshold. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ImageCache } from '../../../../agent/image/cache';
import { ImageGc } from '../../../../agent/image/gc';
import { createLogger } from '../../../../shared/log';

const hex = (c: string) => c.repeat(64);
const roots: string[] = [];

/** A cache root with images a (oldest use), b, c (newest), each on its own layer over a shared base layer. */
function cacheWith(): { cache: ImageCache; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'tsswarm-gc-'));
  roots.push(root);
  const images: Record<string, unknown> = {};
  const config = { entrypoint: null, cmd: null, env: [], workingDir: null, user: null };
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    const ref = `${name}:1@sha256:${hex(String(i + 1))}`;
    images[ref] = { ref, digest: `sha256:${hex(String(i + 1))}`, chainIds: [`sha256:${hex('0')}`, `sha256:${hex(name)}`], config, size: 1, created: null, pulledAt: '2026-01-01T00:00:00Z', usedAt: `2026-01-0${i + 1}T00:00:00Z` };
  }
  for (const l of ['0', 'a', 'b', 'c']) mkdirSync(join(root, 'layers', hex(l), 'fs'), { recursive: true });
  writeFileSync(join(root, 'images.json'), JSON.stringify({ version: 1, images }));
  return { cache: new ImageCache({ root, registryUrl: () => null }), root };
}

const layers = (root: string) => readdirSync(join(root, 'layers')).map((n) => n[0]).sort();

after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('image garbage collection on a node', () => {
  it('prune removes every image no task uses, and the layers only they had', async () => {
    const { cache, root } = cacheWith();
    const removed = await cache.prune([`b:1@sha256:${hex('2')}`]);
    assert.deepEqual(removed, [`a:1@sha256:${hex('1')}`, `c:1@sha256:${hex('3')}`]);
    assert.deepEqual((await cache.list()).map((i) => i.ref), [`b:1@sha256:${hex('2')}`]);
    assert.deepEqual(layers(root), ['0', 'b'], 'the shared base layer stays with b');
  });

  it('above the threshold: least recently used first, until 5 points below it; never what a task runs', async () => {
    const { cache, root } = cacheWith();
    // The disk: 60 % plus 10 per image, so 90 % now; 85 % is the threshold, 80 % the target.
    const disk = async () => 60 + 10 * (await cache.list()).length;
    const gc = new ImageGc(cache, () => [`a:1@sha256:${hex('1')}`], createLogger('test', 'error'), disk);
    gc.setThreshold(85);
    await gc.check();
    // a is in use (and the least recently used); b is the least recently used of the others; 80 % is reached without c.
    assert.deepEqual((await cache.list()).map((i) => i.ref), [`a:1@sha256:${hex('1')}`, `c:1@sha256:${hex('3')}`]);
    assert.deepEqual(layers(root), ['0', 'a', 'c']);
    // Under the threshold nothing goes.
    await gc.check();
    assert.equal((await cache.list()).length, 2);
  });

  it('100 % means never', async () => {
    const { cache } = cacheWith();
    const gc = new ImageGc(cache, () => [], createLogger('test', 'error'), async () => 99);
    gc.setThreshold(100);
    await gc.check();
    assert.equal((await cache.list()).length, 3);
  });
});
