/**
 * `FROM image` and `COPY --from=image`: the image from the cluster registry (asking the managers
 * to pull it first when the cluster does not have it, as `docker build` pulls its bases), this
 * host's platform of an index, its layers unpacked by the node's image cache (agent/image/cache.ts,
 * under the build root), its manifest and full config for the image being built.
 */
import { canonicalImageRef, formatImageRef } from '../../../shared/image-ref';
import { INDEX_TYPES, hostArchitecture, parseImageConfig, parseIndex, parseManifest, pickPlatform, type ImageConfigJson } from '../../../shared/oci';
import type { RegistryClient } from '../../../shared/registry/client';
import { isTsswarmError } from '../../../shared/errors';
import type { ImageCache } from '../cache';
import type { BuildLayer } from './build-root';

export interface BaseImage {
  /** The platform manifest's digest: what the cache key of the stage starts from. */
  digest: string;
  config: ImageConfigJson;
  /** Bottom first. */
  layers: BuildLayer[];
}

export async function baseImage(registry: RegistryClient, cache: ImageCache, ref: string, ensure: (ref: string) => Promise<void>, signal: AbortSignal): Promise<BaseImage> {
  const c = canonicalImageRef(ref);
  const reference = c.digest ?? c.tag ?? 'latest';
  let top;
  try {
    top = await registry.manifest(c.name, reference, signal);
  } catch (e) {
    if (!isTsswarmError(e) || e.code !== 'IMAGE_NOT_FOUND') throw e;
    await ensure(formatImageRef(c));
    top = await registry.manifest(c.name, reference, signal);
  }
  let fetched = top;
  if (INDEX_TYPES.includes(top.mediaType)) {
    const entry = pickPlatform(parseIndex(top.raw, top.mediaType));
    if (!entry) throw new Error(`image ${formatImageRef(c)} has no image for linux/${hostArchitecture()}`);
    fetched = await registry.manifest(c.name, entry.digest, signal);
  }
  const manifest = parseManifest(fetched.raw, fetched.mediaType);
  const config = parseImageConfig(await registry.blobBytes(c.name, manifest.config, signal));
  const prepared = await cache.prepare(`${c.name}@${fetched.digest}`, signal);
  const dirs = [...prepared.layers].reverse();
  return {
    digest: fetched.digest,
    config,
    layers: manifest.layers.map((l, i) => ({ dir: dirs[i]!, digest: l.digest, diffId: config.rootfs.diff_ids[i]!, size: l.size, mediaType: l.mediaType, blob: null })),
  };
}
