/**
 * `tsswarm image push REF`: an image of the cluster's store to the registry its
 * name points at. Each blob the registry lacks is uploaded from the store (one
 * request per blob, layers a few at a time), then the manifest, then (for an
 * index whose every entry the store holds) the index; the digest the registry
 * stores is the one the cluster has, so what was pulled, built or imported
 * keeps its identity. An index the store holds only some entries of is pushed
 * as this platform's image alone, and the answer says so.
 */
import { readFile } from 'node:fs/promises';
import type { PullProgress } from '../../shared/api-types';
import { ImageNotFoundError } from '../../shared/errors';
import { canonicalImageRef, formatImageRef } from '../../shared/image-ref';
import { forEachLimited } from '../../shared/limited';
import { documentMediaType, parseManifest, pickPlatform, type Descriptor } from '../../shared/oci';
import type { RegistryClient } from '../../shared/registry/client';
import type { ImageStore } from './store';

const PARALLEL_LAYERS = 3;

export interface PushResult {
  ref: string;
  /** What the tag names at the registry now. */
  digest: string;
  /** Set when only this platform's image could be pushed (the store lacks some of the index's entries). */
  warning: string | null;
}

export async function pushImage(images: ImageStore, client: RegistryClient, remote: string, ref: string, progress: (p: PullProgress) => void, signal: AbortSignal): Promise<PushResult> {
  const c = canonicalImageRef(ref);
  const found = await images.resolve(ref);
  if (!found) throw new ImageNotFoundError(`image ${formatImageRef(c)} not found in the cluster`);
  const tag = c.tag ?? found.digest;
  const pushManifest = async (digest: string, reference: string): Promise<void> => {
    const info = await images.blobInfo(digest);
    if (!info) throw new ImageNotFoundError(`manifest ${digest} of ${formatImageRef(c)} is missing from the store`);
    const raw = await readFile(info.path);
    const mediaType = documentMediaType(raw);
    const m = parseManifest(raw, mediaType);
    await forEachLimited([m.config, ...m.layers], PARALLEL_LAYERS, (d) => pushBlob(images, client, remote, d, progress, signal));
    await client.putManifest(remote, reference, raw, mediaType, signal);
  };
  let warning: string | null = null;
  let digest = found.digest;
  if (found.index) {
    const held = await Promise.all(found.index.manifests.map(async (d) => (await images.blobInfo(d.digest)) !== null));
    if (held.every(Boolean)) {
      for (const d of found.index.manifests) await pushManifest(d.digest, d.digest);
      await client.putManifest(remote, tag, found.raw, found.mediaType, signal);
    } else {
      // The entry the store resolved the index to (this host's platform), whose blobs it holds.
      const own = pickPlatform(found.index)?.digest;
      if (!own) throw new ImageNotFoundError(`image ${formatImageRef(c)}: this platform's entry of its index is missing from the store`);
      await pushManifest(own, tag);
      digest = own;
      warning = `pushed this platform's image only: the cluster holds ${held.filter(Boolean).length} of the index's ${held.length} images`;
    }
  } else {
    await pushManifest(found.digest, tag);
  }
  progress({ status: `${tag}: digest: ${digest}` });
  return { ref: formatImageRef(c), digest, warning };
}

async function pushBlob(images: ImageStore, client: RegistryClient, remote: string, d: Descriptor, progress: (p: PullProgress) => void, signal: AbortSignal): Promise<void> {
  const id = d.digest.slice(7, 19);
  if (await client.hasBlob(remote, d.digest, signal)) {
    progress({ id, status: 'Layer already exists' });
    return;
  }
  const info = await images.blobInfo(d.digest);
  if (!info) throw new ImageNotFoundError(`blob ${d.digest} is missing from the store`);
  progress({ id, status: 'Preparing' });
  await client.pushBlob(remote, d, info.path, signal, (current, total) => progress({ id, status: 'Pushing', current, total }));
  progress({ id, status: 'Pushed' });
}
