/**
 * Import of an OCI image-layout archive (oci-layout + index.json + blobs/).
 * The chosen manifest is kept byte for byte so its digest survives; every blob
 * it reaches is checked against its digest and size, and layers against the
 * config's diff ids.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseImageRef } from '../../shared/image-ref';
import {
  INDEX_TYPES,
  MANIFEST_TYPES,
  digestHex,
  layerCompression,
  parseImageConfig,
  parseIndex,
  parseManifest,
  pickPlatform,
  sha256Digest,
  type Descriptor,
} from '../../shared/oci';
import { digestLayerFile } from './layer-digest';
import { extractArchive } from './tar-command';
import { fileInside, type StagedBlob, type StagedImage } from './staged-image';

async function readBlob(dir: string, d: Descriptor): Promise<{ blob: StagedBlob; data: Buffer }> {
  const path = await fileInside(dir, `blobs/sha256/${digestHex(d.digest)}`);
  const data = await readFile(path);
  if (data.length !== d.size || sha256Digest(data) !== d.digest) throw new Error(`blob ${d.digest} does not match its digest or size (corrupt archive)`);
  return { blob: { path, digest: d.digest, size: d.size }, data };
}

/** The index entry for `ref`: named by annotation, else the only one, else the one for this platform. */
function pickManifest(manifests: Descriptor[], ref: string): Descriptor {
  const { tag } = parseImageRef(ref);
  const named = manifests.find((d) => {
    const a = d.annotations ?? {};
    return a['io.containerd.image.name'] === ref || a['org.opencontainers.image.ref.name'] === ref || a['org.opencontainers.image.ref.name'] === tag;
  });
  if (named) return named;
  if (manifests.length === 1 && manifests[0]) return manifests[0];
  const forHost = pickPlatform({ schemaVersion: 2, mediaType: '', manifests });
  if (forHost) return forHost;
  throw new Error(`index.json lists ${manifests.length} manifests and none is named ${ref}`);
}

export async function stageOciLayout(file: string, staging: string, ref: string): Promise<StagedImage> {
  const dir = join(staging, 'archive');
  await mkdir(dir);
  await extractArchive(file, dir);
  const index = parseIndex(await readFile(await fileInside(dir, 'index.json')));
  let desc = pickManifest(index.manifests, ref);
  if (INDEX_TYPES.includes(desc.mediaType)) {
    const nested = parseIndex((await readBlob(dir, desc)).data, desc.mediaType);
    const forHost = pickPlatform(nested);
    if (!forHost) throw new Error(`the image index ${desc.digest} has no linux manifest for this architecture`);
    desc = forHost;
  }
  if (!MANIFEST_TYPES.includes(desc.mediaType)) throw new Error(`unsupported manifest media type ${desc.mediaType}`);

  const manifestBlob = await readBlob(dir, desc);
  const manifest = parseManifest(manifestBlob.data, desc.mediaType);
  const configBlob = await readBlob(dir, manifest.config);
  const diffIds = parseImageConfig(configBlob.data).rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) throw new Error(`the config lists ${diffIds.length} layers but the manifest ${manifest.layers.length}`);

  const blobs: StagedBlob[] = [manifestBlob.blob, configBlob.blob];
  for (const [i, layer] of manifest.layers.entries()) {
    const expected = layerCompression(layer.mediaType);
    const path = await fileInside(dir, `blobs/sha256/${digestHex(layer.digest)}`);
    const d = await digestLayerFile(path);
    if (d.digest !== layer.digest || d.size !== layer.size) throw new Error(`layer ${layer.digest} does not match its digest or size (corrupt archive)`);
    if (d.compression !== expected) throw new Error(`layer ${layer.digest} is ${d.compression === 'gzip' ? '' : 'not '}gzip but its media type says ${layer.mediaType}`);
    if (d.diffId !== diffIds[i]) throw new Error(`layer ${i + 1} does not match the image config's diff id`);
    blobs.push({ path, digest: d.digest, size: d.size });
  }
  return { manifestDigest: desc.digest, blobs };
}
