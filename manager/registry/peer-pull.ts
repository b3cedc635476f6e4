/**
 * Copies an image from another manager's registry (`/v2/`, read-only, see
 * http.ts) into a staging directory, verifying every byte against its digest.
 * Blobs the local store already has are not fetched again.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestHex, MANIFEST_TYPES, parseManifest, sha256Digest } from '../../shared/oci';
import { parseImageRef } from '../../shared/image-ref';
import { stageBytes, type StagedBlob, type StagedImage } from './staged-image';
import type { Fetch } from '../../shared/pki/https';

const TIMEOUT_MS = 120000;

async function get(fetch: Fetch, url: string, accept?: string): Promise<Response> {
  const res = await fetch(url, { headers: accept ? { Accept: accept } : {}, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res;
}

/** Streams one blob to the staging directory, checking its sha256 on the way. */
async function fetchBlob(fetch: Fetch, registry: string, name: string, digest: string, staging: string): Promise<StagedBlob> {
  const res = await get(fetch, `${registry}/v2/${name}/blobs/${digest}`);
  if (!res.body) throw new Error(`blob ${digest}: empty answer`);
  const path = join(staging, `${digestHex(digest)}.blob`);
  const hash = createHash('sha256');
  let size = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    hash.update(c);
    size += c.length;
  });
  await pipeline(body, createWriteStream(path, { flags: 'wx' }));
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) throw new Error(`blob ${digest}: content has digest ${got}`);
  return { path, digest, size };
}

/**
 * Stages `ref` (name:tag) from the registry at `registry` (https://IP:PORT),
 * fetched with `fetch` (presenting this manager's certificate).
 * `has(digest)` says which blobs need no download.
 */
export async function stageFromPeer(fetch: Fetch, registry: string, ref: string, staging: string, has: (digest: string) => Promise<boolean>): Promise<StagedImage> {
  const { name, tag } = parseImageRef(ref);
  const res = await get(fetch, `${registry}/v2/${name}/manifests/${tag ?? 'latest'}`, MANIFEST_TYPES.join(', '));
  const raw = Buffer.from(await res.arrayBuffer());
  const manifest = parseManifest(raw, res.headers.get('content-type'));
  const announced = res.headers.get('docker-content-digest');
  const staged = await stageBytes(staging, raw);
  if (announced && announced !== sha256Digest(raw)) throw new Error(`manifest of ${ref}: content has digest ${staged.digest}, the registry said ${announced}`);
  const blobs: StagedBlob[] = [staged];
  for (const d of [manifest.config, ...manifest.layers]) {
    if (await has(d.digest)) continue;
    blobs.push(await fetchBlob(fetch, registry, name, d.digest, staging));
  }
  return { manifestDigest: staged.digest, blobs };
}
