/** Import of a plain root filesystem tar (what `docker export` or the busybox script writes): one layer, an empty runtime config. */
import { join } from 'node:path';
import { hostArchitecture, type ImageConfigJson } from '../../shared/oci';
import { digestLayerFile } from './layer-digest';
import { layerDescriptor, manifestBytes, stageBytes, type StagedImage } from './staged-image';

export async function stageRootfs(file: string, staging: string, now: Date = new Date()): Promise<StagedImage> {
  // The archive itself becomes the layer blob (gzip kept as it is); copy it so a
  // later change to the user's file cannot alter a stored blob.
  const layerPath = join(staging, 'rootfs-layer');
  const d = await digestLayerFile(file, layerPath);
  const created = now.toISOString();
  const config: ImageConfigJson = {
    created,
    // The tar says nothing about its architecture; it was most likely built for this host.
    architecture: hostArchitecture(),
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [d.diffId] },
    history: [{ created, created_by: 'tsswarm image import' }],
  };
  const configBlob = await stageBytes(staging, Buffer.from(JSON.stringify(config)));
  const manifest = await stageBytes(staging, manifestBytes(configBlob, [layerDescriptor(d)]));
  return {
    manifestDigest: manifest.digest,
    blobs: [manifest, configBlob, { path: layerPath, digest: d.digest, size: d.size }],
  };
}
