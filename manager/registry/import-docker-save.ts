/**
 * Import of a `docker save` archive: manifest.json lists, per image, its config
 * file, its layer tars and its RepoTags. The config is kept byte for byte (its
 * digest is Docker's image id); a new OCI manifest is written for the layers.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { normalizeImageRef } from '../../shared/image-ref';
import { parseImageConfig, sha256Digest, type Descriptor } from '../../shared/oci';
import { digestLayerFile } from './layer-digest';
import { extractArchive } from './tar-command';
import { fileInside, layerDescriptor, manifestBytes, stageBytes, type StagedBlob, type StagedImage } from './staged-image';

interface SaveEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function parseSaveManifest(text: string): SaveEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('manifest.json is not JSON');
  }
  if (!Array.isArray(v) || v.length === 0) throw new Error('manifest.json is not a non-empty list');
  return v.map((e: unknown, i) => {
    const o = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
    if (typeof o['Config'] !== 'string' || !strings(o['Layers'])) throw new Error(`manifest.json entry ${i} lacks Config or Layers`);
    return { Config: o['Config'], Layers: o['Layers'], RepoTags: strings(o['RepoTags']) ? o['RepoTags'] : [] };
  });
}

function normalizedOrNull(tag: string): string | null {
  try {
    return normalizeImageRef(tag);
  } catch {
    return null;
  }
}

/** The entry to import: the only one, or the one tagged `ref`. */
function pickEntry(entries: SaveEntry[], ref: string): SaveEntry {
  if (entries.length === 1 && entries[0]) return entries[0];
  const match = entries.find((e) => e.RepoTags.some((t) => normalizedOrNull(t) === ref));
  if (match) return match;
  const tags = entries.flatMap((e) => e.RepoTags);
  throw new Error(`archive holds ${entries.length} images and none is tagged ${ref}` + (tags.length ? ` (it has ${tags.join(', ')})` : ''));
}

export async function stageDockerSave(file: string, staging: string, ref: string): Promise<StagedImage> {
  const dir = join(staging, 'archive');
  await mkdir(dir);
  await extractArchive(file, dir);
  const entry = pickEntry(parseSaveManifest(await readFile(await fileInside(dir, 'manifest.json'), 'utf8')), ref);

  const configPath = await fileInside(dir, entry.Config);
  const configData = await readFile(configPath);
  const configBlob: StagedBlob = { path: configPath, digest: sha256Digest(configData), size: configData.length };
  // Docker names the config by its digest (`<hex>.json` or `blobs/sha256/<hex>`): a cheap corruption check.
  const named = /^([a-f0-9]{64})(?:\.json)?$/.exec(basename(entry.Config));
  if (named && `sha256:${named[1]}` !== configBlob.digest) throw new Error(`${entry.Config} does not match its digest (corrupt archive)`);
  const config = parseImageConfig(configData);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== entry.Layers.length) {
    throw new Error(`the config lists ${diffIds.length} layers but manifest.json ${entry.Layers.length}`);
  }

  const blobs: StagedBlob[] = [configBlob];
  const layers: Descriptor[] = [];
  for (const [i, rel] of entry.Layers.entries()) {
    const path = await fileInside(dir, rel);
    const d = await digestLayerFile(path);
    if (d.diffId !== diffIds[i]) {
      throw new Error(`layer ${i + 1} of ${diffIds.length} (${rel}) does not match the image config: its diff id is ${d.diffId}, the config says ${diffIds[i]}`);
    }
    blobs.push({ path, digest: d.digest, size: d.size });
    layers.push(layerDescriptor(d));
  }
  const manifest = await stageBytes(staging, manifestBytes(configBlob, layers));
  return { manifestDigest: manifest.digest, blobs: [manifest, ...blobs] };
}
