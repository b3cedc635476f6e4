/**
 * The image a build made, as OCI documents (an image manifest and its config, Docker's config
 * fields), and its way into the cluster: each blob the cluster registry lacks is uploaded (a base
 * image's layers it has already), then the manifest under the first tag. The managers commit it
 * as the cluster's own image (built here, not pulled) and copy it to one another.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalImageRef } from '../../../shared/image-ref';
import { forEachLimited } from '../../../shared/limited';
import { hostArchitecture, MediaType, sha256Digest, type ContainerConfigJson, type Descriptor } from '../../../shared/oci';
import type { RegistryClient } from '../../../shared/registry/client';
import type { BuildLayer } from './build-root';

export interface HistoryEntry {
  created: string;
  created_by: string;
  empty_layer?: true;
  comment?: string;
}

export interface BuiltImage {
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  layers: BuildLayer[];
}

export function assembleImage(config: ContainerConfigJson, layers: BuildLayer[], history: HistoryEntry[], extra: { author?: string }): BuiltImage {
  const created = new Date().toISOString();
  const configDoc = {
    architecture: hostArchitecture(),
    os: 'linux',
    created,
    ...(extra.author ? { author: extra.author } : {}),
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
  };
  const configBytes = Buffer.from(JSON.stringify(configDoc));
  const configDigest = sha256Digest(configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l): Descriptor => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return { config: configBytes, configDigest, manifest: manifestBytes, manifestDigest: sha256Digest(manifestBytes), layers };
}

/** Pushes the image to the cluster registry as `ref` (name:tag); returns the manifest digest. */
export async function pushBuilt(registry: RegistryClient, ref: string, image: BuiltImage, scratch: string, signal: AbortSignal): Promise<string> {
  const c = canonicalImageRef(ref);
  const configFile = join(scratch, 'config.json');
  await writeFile(configFile, image.config);
  const blobs: Array<{ d: Descriptor; file: string | null }> = [
    { d: { mediaType: MediaType.ociConfig, digest: image.configDigest, size: image.config.length }, file: configFile },
    ...image.layers.map((l) => ({ d: { mediaType: l.mediaType, digest: l.digest, size: l.size }, file: l.blob })),
  ];
  await forEachLimited(blobs, 3, async ({ d, file }) => {
    if (await registry.hasBlob(c.name, d.digest, signal)) return;
    if (file === null) throw new Error(`the cluster registry lacks layer ${d.digest} of a base image`);
    await registry.pushBlob(c.name, d, file, signal);
  });
  return registry.putManifest(c.name, c.tag ?? 'latest', image.manifest, MediaType.ociManifest, signal);
}
