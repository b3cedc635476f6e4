/**
 * Copies an image from a distribution registry (an upstream one, or another
 * manager's cluster registry) into the store, verifying every byte against its
 * digest:
 *
 * - an index (manifest list) is stored as it is, with the image of each
 *   platform the cluster's nodes run (others are left to be fetched if a node
 *   of that platform joins);
 * - layers are fetched a few at a time straight into the store's blobs (a layer
 *   the store has is not fetched; concurrent pulls of one layer share one
 *   download), pinned until the ref is committed;
 * - the documents (index, manifests, configs) are staged and committed with the
 *   ref, all or nothing.
 */
import { formatImageRef, type ImageRef } from '../../shared/image-ref';
import type { ImageSummary } from '../../shared/image-summary';
import type { PullProgress } from '../../shared/api-types';
import { forEachLimited } from '../../shared/limited';
import { INDEX_TYPES, layerCompression, matchesPlatform, parseImageConfig, parseIndex, parseManifest, platformName, sha256Digest, type Descriptor, type Platform } from '../../shared/oci';
import type { FetchedManifest, RegistryClient } from '../../shared/registry/client';
import { ImagePullError } from '../../shared/registry/errors';
import { firstAnswering } from './upstream';
import { stageBytes, type StagedBlob } from './staged-image';
import type { ImageSource, ImageStore } from './store';

/** Layers downloaded at once per pull. */
const PARALLEL_LAYERS = 3;

export type { PullProgress } from '../../shared/api-types';

export interface PullOptions {
  /** The platforms to take from an index (the nodes'); the first one must be there. */
  platforms: Platform[];
  signal?: AbortSignal;
  progress?: (p: PullProgress) => void;
  /** What the store records (default: pulled); a copy from another manager keeps the origin's. */
  source?: ImageSource;
}

export interface PullResult extends ImageSummary {
  /** False when the store had every blob already. */
  downloaded: boolean;
}

/**
 * Pulls `remote` (the repository path on that registry: `library/busybox`) at `reference` (tag or
 * digest) into the store as `target`. `clients` are tried in order until one answers the manifest
 * (mirrors, then the registry); the rest of the pull stays on that one.
 */
export async function pullImage(images: ImageStore, clients: RegistryClient[], remote: string, reference: string, target: ImageRef, options: PullOptions): Promise<PullResult> {
  const signal = options.signal ?? new AbortController().signal;
  const progress = options.progress ?? (() => undefined);
  const { client, value: top } = await firstAnswering(clients, signal, (c) => c.manifest(remote, reference, signal));
  const releases: Array<() => void> = [];
  let downloaded = false;
  try {
    const docs: Buffer[] = [top.raw];
    const manifests: FetchedManifest[] = [];
    if (INDEX_TYPES.includes(top.mediaType)) {
      const index = parseIndex(top.raw, top.mediaType);
      const chosen = choosePlatforms(index.manifests, options.platforms, formatImageRef(target));
      for (const d of chosen) {
        const m = await client.manifest(remote, d.digest, signal);
        docs.push(m.raw);
        manifests.push(m);
      }
    } else {
      manifests.push(top);
    }
    const layers = new Map<string, Descriptor>();
    for (const m of manifests) {
      const manifest = parseManifest(m.raw, m.mediaType);
      const configBytes = await client.blobBytes(remote, manifest.config, signal);
      const config = parseImageConfig(configBytes);
      if (config.rootfs.diff_ids.length !== manifest.layers.length) {
        throw new ImagePullError(`cannot pull ${formatImageRef(target)}: its config lists ${config.rootfs.diff_ids.length} layers and its manifest ${manifest.layers.length}`, { temporary: false });
      }
      docs.push(configBytes);
      for (const l of manifest.layers) {
        layerCompression(l.mediaType);
        layers.set(l.digest, l);
      }
    }
    await forEachLimited([...layers.values()], PARALLEL_LAYERS, async (l) => {
      const id = l.digest.slice(7, 19);
      progress({ id, status: 'Pulling fs layer' });
      const got = await images.ensureBlob(l, (file, s) => client.blobToFile(remote, l, file, s, (current, total) => progress({ id, status: 'Downloading', current, total })), signal);
      releases.push(got.release);
      if (got.fetched) downloaded = true;
      progress({ id, status: got.fetched ? 'Pull complete' : 'Already exists' });
    });
    const summary = await images.importStaged(formatImageRef(target), async (staging) => {
      const blobs: StagedBlob[] = [];
      // Two platforms may share a config: each document is staged once.
      const unique = new Map(docs.map((d) => [sha256Digest(d), d]));
      for (const d of unique.values()) blobs.push(await stageBytes(staging, d));
      return { manifestDigest: top.digest, blobs };
    }, options.source ?? 'pull');
    progress({ status: `Digest: ${top.digest}` });
    return { ...summary, downloaded };
  } finally {
    for (const r of releases) r();
  }
}

/** The index entries for the platforms wanted, the first platform's being required. */
function choosePlatforms(entries: Descriptor[], platforms: Platform[], what: string): Descriptor[] {
  const out: Descriptor[] = [];
  for (const [i, p] of platforms.entries()) {
    const match = entries.find((d) => d.platform && matchesPlatform(d.platform, p));
    if (match && !out.includes(match)) out.push(match);
    if (!match && i === 0) {
      const has = entries.map((d) => (d.platform ? platformName(d.platform) : 'unknown')).join(', ');
      throw new ImagePullError(`cannot pull ${what}: it has no image for ${platformName(p)} (it has ${has || 'none'})`, { temporary: false });
    }
  }
  return out;
}
