/**
 * What `tsswarm build` keeps on a host between builds, under one directory (`<data root>/build`):
 *
 *   layers/<chain id hex>/fs   a built layer unpacked (the step's upper directory, renamed): the
 *                              lower directory of the steps after it, in this build and the next
 *   blobs/<hex>                its OCI layer blob (tar+gzip), pushed to the cluster registry
 *   cache/<key hex>.json       one step's result: the layer it made (or none), by cache key
 *   images/                    base images pulled from the cluster registry (agent/image/cache.ts)
 *   containers/                RUN steps' containers (the runtime's root), gone after each step
 *   tmp/                       work in progress, emptied when a build starts
 *
 * A layer or blob appears only by a rename of a finished one, so a build that stops half way
 * leaves nothing a later build would trust; a cache record names a layer only once both exist.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../shared/atomic-write';
import { digestHex } from '../../../shared/oci';
import { pathExists } from '../../../shared/path-exists';

/** A layer of the image being built: where it is unpacked, and its blob when this host made it. */
export interface BuildLayer {
  /** The unpacked directory (an overlayfs lowerdir). */
  dir: string;
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
  /** The blob's file; null for a base image's layer (the cluster registry has it). */
  blob: string | null;
}

/** What a cached step made. */
export interface CachedStep {
  v: 1;
  layer: { digest: string; diffId: string; size: number; mediaType: string; chainId: string } | null;
  createdAt: string;
}

export class BuildRoot {
  readonly layersDir: string;
  readonly blobsDir: string;
  readonly cacheDir: string;
  readonly imagesDir: string;
  readonly containersDir: string;
  readonly tmpDir: string;
  /** An empty directory: the lowerdir of a step on `FROM scratch`, which has no layer yet. */
  readonly emptyDir: string;

  constructor(readonly root: string) {
    this.layersDir = join(root, 'layers');
    this.blobsDir = join(root, 'blobs');
    this.cacheDir = join(root, 'cache');
    this.imagesDir = join(root, 'images');
    this.containersDir = join(root, 'containers');
    this.tmpDir = join(root, 'tmp');
    this.emptyDir = join(root, 'empty');
  }

  async open(): Promise<void> {
    for (const d of [this.layersDir, this.blobsDir, this.cacheDir, this.imagesDir, this.containersDir, this.emptyDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  /** A fresh directory under tmp/. */
  async scratch(prefix: string): Promise<string> {
    const dir = join(this.tmpDir, `${prefix}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  layerDir(chainId: string): string {
    return join(this.layersDir, digestHex(chainId), 'fs');
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  /** A cached step whose layer is still here, or null. */
  async cached(key: string): Promise<CachedStep | null> {
    let rec: CachedStep;
    try {
      rec = JSON.parse(await readFile(join(this.cacheDir, `${digestHex(key)}.json`), 'utf8')) as CachedStep;
    } catch {
      return null;
    }
    if (rec.v !== 1) return null;
    if (rec.layer && !((await pathExists(this.layerDir(rec.layer.chainId))) && (await sizeIs(this.blobPath(rec.layer.digest), rec.layer.size)))) return null;
    return rec;
  }

  async remember(key: string, step: CachedStep): Promise<void> {
    await writeFileAtomic(join(this.cacheDir, `${digestHex(key)}.json`), JSON.stringify(step) + '\n');
  }

  /**
   * Puts a step's result in place: its unpacked directory (renamed from `upper`) and its blob
   * (renamed from `blobFile`). Another build may have made the same layer: theirs is as good.
   */
  async keepLayer(chainId: string, upper: string, blobFile: string, digest: string): Promise<void> {
    const dir = this.layerDir(chainId);
    if (!(await pathExists(dir))) {
      await mkdir(join(dir, '..'), { recursive: true, mode: 0o700 });
      try {
        await rename(upper, dir);
      } catch (e) {
        if (!(await pathExists(dir))) throw e;
      }
    }
    const blob = this.blobPath(digest);
    if (!(await pathExists(blob))) await rename(blobFile, blob);
  }
}

async function sizeIs(file: string, size: number): Promise<boolean> {
  try {
    return (await stat(file)).size === size;
  } catch {
    return false;
  }
}
