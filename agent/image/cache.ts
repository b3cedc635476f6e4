/**
 * The agent's images: pulls from the cluster registry and keeps each layer
 * unpacked once, named by chain id, for every container to share as an
 * overlayfs lowerdir.
 *
 *   <root>/layers/<chain-id hex>/fs          the unpacked layer (read-only by convention)
 *   <root>/layers/<chain-id hex>/layer.json  diff id, blob digest, size
 *   <root>/images.json                       ref → digest, chain ids, config (see local-index.ts)
 *   <root>/tmp/                              downloads and unpacks in progress
 *
 * A layer appears under layers/ only by renaming a finished directory from
 * tmp/, so a crash never leaves half a layer where prepare would trust it.
 * One agent process owns a root: tmp/ is emptied when the cache opens.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, isTsswarmError } from '../../shared/errors';
import { canonicalImageRef, formatImageRef, normalizeImageRef, type ImageRef } from '../../shared/image-ref';
import type { ImageSummary } from '../../shared/image-summary';
import type { HealthCheck } from '../../shared/types';
import {
  INDEX_TYPES,
  chainIds,
  digestHex,
  hostArchitecture,
  layerCompression,
  parseImageConfig,
  parseIndex,
  parseManifest,
  pickPlatform,
  type Descriptor,
  type ImageConfigJson,
  type ImageManifest,
} from '../../shared/oci';
import { ImagePullError } from '../../shared/registry/errors';
import { LocalIndex, type LocalImage } from './local-index';
import { RegistryClient, type Fetch } from '../../shared/registry/client';
import { Singleflight } from '../../shared/singleflight';
import { forEachLimited } from '../../shared/limited';
import type { ImageConfig, ImageSource, PreparedImage } from './types';
import { unpackLayerStream } from './unpack';
import { pathExists as exists } from '../../shared/path-exists';

export interface ImageCacheOptions {
  /** Directory the cache owns. */
  root: string;
  /** Base URL of the cluster registry (`https://10.0.0.1:4243`), null until the session knows one. */
  registryUrl: () => string | null;
  /** How to reach it: the cluster registry wants this node's certificate (default: plain fetch). */
  fetch?: Fetch;
  /** Layers downloaded at once per image. */
  parallelLayers?: number;
}

interface RemoteImage {
  digest: string;
  manifest: ImageManifest;
  config: ImageConfigJson;
}

export class ImageCache implements ImageSource {
  readonly root: string;
  private readonly layersDir: string;
  private readonly tmpDir: string;
  private readonly index: LocalIndex;
  private readonly registryUrl: () => string | null;
  private readonly fetch: Fetch | undefined;
  private readonly parallelLayers: number;
  private readonly pulls = new Singleflight<PreparedImage>();
  private readonly layerJobs = new Singleflight<string>();
  private opened: Promise<void> | null = null;
  private closed = false;
  /** A prune in progress: pulls wait for it; it waits for the pulls it found running. */
  private pruning: Promise<unknown> | null = null;
  private activePulls = 0;
  private pullsDone: (() => void) | null = null;

  constructor(options: ImageCacheOptions) {
    this.root = resolve(options.root);
    this.layersDir = join(this.root, 'layers');
    this.tmpDir = join(this.root, 'tmp');
    this.index = new LocalIndex(join(this.root, 'images.json'));
    this.registryUrl = options.registryUrl;
    this.fetch = options.fetch;
    this.parallelLayers = Math.max(1, options.parallelLayers ?? 3);
  }

  /** Makes the image's layers available locally, pulling what is missing; concurrent calls for a ref share one pull. */
  prepare(ref: string, signal?: AbortSignal): Promise<PreparedImage> {
    if (this.closed) return Promise.reject(new InvalidArgumentError('image cache is closed'));
    let normalized: string;
    try {
      normalized = normalizeImageRef(ref);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.pulls.run(normalized, signal, async (s) => {
      while (this.pruning) await this.pruning;
      this.activePulls++;
      try {
        const image = await this.pull(normalized, s);
        await this.markUsed(normalized);
        return image;
      } finally {
        if (--this.activePulls === 0) this.pullsDone?.();
      }
    });
  }

  /**
   * Removes images no task of this node uses (`inUse`: the tasks' refs; an image is kept when its
   * ref or its digest is one of theirs), least recently used first, for as long as `more` says
   * (default: all of them), and with each the layers no remaining image needs. Pulls wait until it
   * is done; it starts once the pulls in progress have finished. Returns the refs removed.
   */
  async prune(inUse: Iterable<string>, more: () => Promise<boolean> = async () => true): Promise<string[]> {
    while (this.pruning) await this.pruning;
    const run = (async () => {
      if (this.activePulls > 0) await new Promise<void>((r) => (this.pullsDone = r));
      this.pullsDone = null;
      await this.open();
      const mounted = await this.mountedLayers();
      const used = new Set<string>();
      for (const ref of inUse) {
        try {
          const c = canonicalImageRef(ref);
          used.add(formatImageRef(c));
          if (c.digest) used.add(c.digest);
        } catch {
          // not a ref: protects nothing
        }
      }
      const all = await this.index.all();
      const keep = new Set(all.filter((i) => used.has(i.ref) || used.has(i.digest)));
      const candidates = all.filter((i) => !keep.has(i)).sort((a, b) => (a.usedAt ?? a.pulledAt).localeCompare(b.usedAt ?? b.pulledAt));
      const removed: string[] = [];
      let left = all;
      // Layers no image names at all (a pull that stopped half way) go in the first round.
      for (const image of [null, ...candidates]) {
        if (image !== null) {
          if (!(await more())) break;
          await this.index.remove([image.ref]);
          removed.push(image.ref);
          left = left.filter((i) => i !== image);
        }
        await this.removeLayersExcept(new Set([...left.flatMap((i) => i.chainIds.map(digestHex)), ...mounted]));
      }
      return removed;
    })();
    this.pruning = run;
    try {
      return await run;
    } finally {
      this.pruning = null;
    }
  }


  /** True when the image was pulled and all its layers are still unpacked: prepare needs no network. */
  async has(ref: string): Promise<boolean> {
    const local = await this.localImage(canonicalImageRef(ref));
    return local !== null && (await this.isComplete(local));
  }

  async list(): Promise<ImageSummary[]> {
    return (await this.index.all()).map((i) => ({ ref: i.ref, digest: i.digest, size: i.size, layers: i.chainIds.length, created: i.created }));
  }

  /** Aborts pulls in flight; prepare() fails from now on. */
  close(): void {
    this.closed = true;
    // Shutting down is cancellation, not a failure: the usual AbortError.
    const reason = new DOMException('image cache closed', 'AbortError');
    this.pulls.abortAll(reason);
    this.layerJobs.abortAll(reason);
  }

  // --- pulling --------------------------------------------------------------

  private async pull(ref: string, signal: AbortSignal): Promise<PreparedImage> {
    await this.open();
    const parsed = canonicalImageRef(ref);
    const local = await this.localImage(parsed);
    // A digest names content: what is here already is exactly what the registry would send.
    if (parsed.digest !== null && local && (await this.isComplete(local))) return this.prepared(ref, local);

    const url = this.registryUrl();
    if (url === null) {
      if (local && (await this.isComplete(local))) return this.prepared(ref, local);
      throw new ImagePullError(`cannot pull ${ref}: no registry known yet`, { temporary: true });
    }
    const client = new RegistryClient(url, this.fetch);
    let remote: RemoteImage | LocalImage;
    try {
      remote = await this.resolveRemote(client, parsed, signal);
    } catch (e) {
      // The registry is momentarily away: a tag pulled before still runs what it ran.
      if (e instanceof ImagePullError && e.temporary && local && (await this.isComplete(local))) return this.prepared(ref, local);
      throw e;
    }
    if (!('manifest' in remote)) {
      if (remote.ref !== ref) await this.index.put({ ...remote, ref, pulledAt: new Date().toISOString() });
      return this.prepared(ref, remote);
    }

    const diffIds = remote.config.rootfs.diff_ids;
    const chain = chainIds(diffIds);
    await forEachLimited(remote.manifest.layers, this.parallelLayers, async (layer, i) => {
      const chainId = chain[i] as string;
      const diffId = diffIds[i] as string;
      await this.layerJobs.run(chainId, signal, (s) => this.ensureLayer(client, parsed.name, layer, diffId, chainId, s));
    });

    const image: LocalImage = {
      ref,
      digest: remote.digest,
      chainIds: chain,
      config: runtimeConfig(remote.config),
      size: remote.manifest.config.size + remote.manifest.layers.reduce((n, l) => n + l.size, 0),
      created: remote.config.created ?? null,
      pulledAt: new Date().toISOString(),
    };
    await this.index.put(image);
    return this.prepared(ref, image);
  }

  /** Manifest (through an index if need be) and config, checked against each other. */
  private async resolveRemote(client: RegistryClient, ref: ImageRef, signal: AbortSignal): Promise<RemoteImage | LocalImage> {
    const what = formatImageRef(ref);
    let fetched = await client.manifest(ref.name, ref.digest ?? ref.tag ?? 'latest', signal);
    try {
      if (INDEX_TYPES.includes(fetched.mediaType)) {
        const platform = pickPlatform(parseIndex(fetched.raw, fetched.mediaType));
        if (!platform) throw new Error(`it has no image for linux/${hostArchitecture()}`);
        fetched = await client.manifest(ref.name, platform.digest, signal);
      }
      // A tag that still points where it did costs one manifest request, nothing more.
      const known = await this.index.byDigest(fetched.digest);
      if (known && (await this.isComplete(known))) return known;
      const manifest = parseManifest(fetched.raw, fetched.mediaType);
      for (const l of manifest.layers) layerCompression(l.mediaType);
      const config = parseImageConfig(await client.blobBytes(ref.name, manifest.config, signal));
      if (config.rootfs.diff_ids.length !== manifest.layers.length) {
        throw new Error(`its config lists ${config.rootfs.diff_ids.length} layers and its manifest ${manifest.layers.length}`);
      }
      return { digest: fetched.digest, manifest, config };
    } catch (e) {
      if (isTsswarmError(e) && !(e instanceof InvalidArgumentError)) throw e;
      if (signal.aborted) throw signal.reason;
      throw new ImagePullError(`cannot pull ${what}: ${(e as Error).message}`, { temporary: false, cause: e });
    }
  }

  /** The unpacked directory of one layer: there already, or downloaded, verified and unpacked now. */
  private async ensureLayer(client: RegistryClient, name: string, layer: Descriptor, diffId: string, chainId: string, signal: AbortSignal): Promise<string> {
    const dir = join(this.layersDir, digestHex(chainId));
    if (await exists(join(dir, 'fs'))) return dir;
    const work = join(this.tmpDir, `layer-${randomBytes(8).toString('hex')}`);
    await mkdir(work, { mode: 0o700 });
    try {
      const staged = join(work, 'layer');
      await mkdir(staged, { mode: 0o700 });
      await mkdir(join(staged, 'fs'), { mode: 0o755 });
      // Unpacked as it downloads, into the staging directory: the blob's digest and the diff id
      // are both checked before the directory is renamed into place.
      const blob = await client.blobStream(name, layer, signal);
      await unpackLayerStream(blob.stream, layerCompression(layer.mediaType), diffId, join(staged, 'fs'), signal);
      blob.verify();
      await writeFile(
        join(staged, 'layer.json'),
        JSON.stringify({ chainId, diffId, digest: layer.digest, mediaType: layer.mediaType, size: layer.size, unpackedAt: new Date().toISOString() }) + '\n',
      );
      try {
        await rename(staged, dir);
      } catch (e) {
        // Another pull of this process finished the same layer first (after an abort restarted it); theirs is as good.
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await exists(join(dir, 'fs')))) throw e;
      }
      return dir;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  // --- local state ----------------------------------------------------------

  /**
   * The layers some overlayfs mount of this host has as a lowerdir (chain id hexes): whatever the
   * executor knows (after a restart it knows nothing until its first assignment), a mounted layer is
   * in use.
   */
  private async mountedLayers(): Promise<Set<string>> {
    const out = new Set<string>();
    const prefix = this.layersDir + '/';
    for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
      const sep = line.indexOf(' - ');
      if (sep < 0 || !line.startsWith('overlay ', sep + 3)) continue;
      const lower = /(?:^|,)lowerdir=([^,]*)/.exec(line.slice(sep + 3).split(' ')[2] ?? '');
      for (const dir of lower?.[1]?.split(':') ?? []) {
        if (dir.startsWith(prefix)) out.add(dir.slice(prefix.length).split('/')[0]!);
      }
    }
    return out;
  }

  /** Records when an image was last prepared (at most once a minute: a restart loop writes little). */
  private async markUsed(ref: string): Promise<void> {
    const i = await this.index.get(ref);
    const now = new Date();
    if (i && (!i.usedAt || now.getTime() - Date.parse(i.usedAt) > 60_000)) await this.index.touch(ref, now.toISOString());
  }

  /** Removes every unpacked layer not in `keep` (chain id hexes): renamed into tmp/ first, so it is gone at once. */
  private async removeLayersExcept(keep: Set<string>): Promise<void> {
    for (const name of await readdir(this.layersDir)) {
      if (keep.has(name)) continue;
      const doomed = join(this.tmpDir, `gc-${name}-${randomBytes(4).toString('hex')}`);
      await rename(join(this.layersDir, name), doomed);
      await rm(doomed, { recursive: true, force: true });
    }
  }

  private open(): Promise<void> {
    this.opened ??= (async () => {
      await mkdir(this.layersDir, { recursive: true, mode: 0o700 });
      await rm(this.tmpDir, { recursive: true, force: true });
      await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    })();
    return this.opened;
  }

  private async localImage(ref: ImageRef): Promise<LocalImage | null> {
    const exact = await this.index.get(formatImageRef(ref));
    if (exact || ref.digest === null) return exact;
    return this.index.byDigest(ref.digest);
  }

  private async isComplete(image: LocalImage): Promise<boolean> {
    for (const id of image.chainIds) if (!(await exists(join(this.layersDir, digestHex(id), 'fs')))) return false;
    return true;
  }

  private prepared(ref: string, image: LocalImage): PreparedImage {
    return {
      ref,
      digest: image.digest,
      // overlayfs lists lowerdirs top first; chain ids run bottom first.
      layers: [...image.chainIds].reverse().map((id) => join(this.layersDir, digestHex(id), 'fs')),
      config: image.config,
    };
  }
}


function runtimeConfig(config: ImageConfigJson): ImageConfig {
  const c = config.config ?? {};
  return {
    entrypoint: c.Entrypoint ?? null,
    cmd: c.Cmd ?? null,
    env: c.Env ?? [],
    workingDir: c.WorkingDir ? c.WorkingDir : null,
    user: c.User ? c.User : null,
    volumes: imageVolumes(c['Volumes']),
    healthcheck: imageHealthcheck(c['Healthcheck']),
  };
}

/** `"Healthcheck": {"Test": [...], "Interval": ns, ...}` (a Dockerfile's HEALTHCHECK) in the service model's shape. */
export function imageHealthcheck(v: unknown): HealthCheck | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const h = v as Record<string, unknown>;
  if (!Array.isArray(h.Test) || !h.Test.every((x) => typeof x === 'string')) return null;
  const ms = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? Math.round(x / 1e6) : null);
  const retries = typeof h.Retries === 'number' && Number.isSafeInteger(h.Retries) && h.Retries > 0 ? h.Retries : null;
  return { test: h.Test as string[], intervalMs: ms(h.Interval), timeoutMs: ms(h.Timeout), startPeriodMs: ms(h.StartPeriod), startIntervalMs: ms(h.StartInterval), retries };
}

/** `"Volumes": {"/data": {}}`, Docker's set of paths as an object; anything else declares none. */
export function imageVolumes(v: unknown): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
  return Object.keys(v).filter((p) => p.startsWith('/')).sort();
}
