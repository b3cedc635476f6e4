/**
 * An import in progress: every blob of the image written and verified inside a
 * staging directory (on the store's filesystem, so committing is a rename).
 * Nothing here touches the store itself, which is what makes import all-or-nothing.
 */
import { realpath, stat, writeFile } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { MediaType, digestHex, sha256Digest, type Descriptor, type ImageManifest } from '../../shared/oci';
import type { LayerDigests } from './layer-digest';

export interface StagedBlob {
  path: string;
  digest: string;
  size: number;
}

export interface StagedImage {
  manifestDigest: string;
  /** Manifest, config and layers; may repeat a digest (docker save links shared layers). */
  blobs: StagedBlob[];
}

/** Writes bytes to the staging directory as a blob. */
export async function stageBytes(staging: string, data: Buffer): Promise<StagedBlob> {
  const digest = sha256Digest(data);
  const path = join(staging, `${digestHex(digest)}.blob`);
  await writeFile(path, data, { flag: 'wx' });
  return { path, digest, size: data.length };
}

export function layerDescriptor(d: LayerDigests): Descriptor {
  return {
    mediaType: d.compression === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayer,
    digest: d.digest,
    size: d.size,
  };
}

/** An OCI image manifest in a fixed field order, so importing the same archive twice gives the same digest. */
export function manifestBytes(config: StagedBlob, layers: Descriptor[]): Buffer {
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers,
  };
  return Buffer.from(JSON.stringify(m));
}

/**
 * Resolves an archive-relative path (following symlinks, which old docker save
 * archives use for shared layers) and refuses anything that leaves `root` or is
 * not a regular file: an archive must not make us read host files.
 */
export async function fileInside(root: string, rel: string): Promise<string> {
  if (isAbsolute(rel)) throw new Error(`archive path ${rel} is absolute`);
  let real: string;
  try {
    real = await realpath(join(root, rel));
  } catch {
    throw new Error(`archive has no ${rel}`);
  }
  const realRoot = await realpath(root);
  const r = relative(realRoot, real);
  if (r === '' || r.startsWith('..') || isAbsolute(r)) throw new Error(`archive path ${rel} points outside the archive`);
  if (!(await stat(real)).isFile()) throw new Error(`archive path ${rel} is not a regular file`);
  return real;
}
