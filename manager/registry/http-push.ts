/**
 * The push side of the cluster registry (OCI distribution spec): blob uploads
 * (POST to start, PATCH chunks, PUT with the digest to finish; a monolithic
 * POST/PUT; cross-repository mounts, which always take, blobs being shared by
 * every name) and manifest puts. Nothing is trusted until checked: an upload's
 * bytes against its digest, a manifest's blobs (or an index's manifests)
 * against what the store holds; the ref is committed with the manifest, all or
 * nothing, and announced (`onPushed`) so every manager copies it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseImageRef } from '../../shared/image-ref';
import { INDEX_TYPES, documentMediaType, isDigest, parseIndex, parseManifest, sha256Digest } from '../../shared/oci';
import { stageBytes } from './staged-image';
import type { ImageStore } from './store';

const MAX_MANIFEST_BYTES = 4 << 20;

type Send = (status: number, code: string, message: string, detail?: unknown) => void;

export type OnPushed = (ref: string, digest: string) => Promise<void>;

/** Answers a write under /v2/; false when the path is not one this side serves. */
export async function routePush(store: ImageStore, req: IncomingMessage, res: ServerResponse, path: string, onPushed: OnPushed, send: Send): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://registry');
  const start = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(path);
  if (start && req.method === 'POST') {
    const name = start[1]!;
    const mount = url.searchParams.get('mount');
    if (mount !== null && isDigest(mount) && (await store.blobInfo(mount))) {
      res.writeHead(201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount, 'Content-Length': 0 });
      res.end();
      return true;
    }
    const id = await store.startUpload();
    const digest = url.searchParams.get('digest');
    if (digest !== null) {
      // Monolithic: the whole blob in this request.
      await store.appendUpload(id, req);
      return finish(store, res, name, id, digest, send);
    }
    req.resume();
    res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, Range: '0-0', 'Content-Length': 0 });
    res.end();
    return true;
  }
  const upload = /^\/v2\/(.+)\/blobs\/uploads\/([a-f0-9]{32})$/.exec(path);
  if (upload && (req.method === 'PATCH' || req.method === 'PUT')) {
    const [, name, id] = upload as unknown as [string, string, string];
    const before = await store.uploadSize(id);
    if (before === null) {
      req.resume();
      send(404, 'BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
      return true;
    }
    const range = req.headers['content-range'];
    if (typeof range === 'string' && Number(/^(\d+)-/.exec(range)?.[1] ?? before) !== before) {
      req.resume();
      res.setHeader('Range', `0-${Math.max(0, before - 1)}`);
      send(416, 'BLOB_UPLOAD_INVALID', `chunk starts at ${range}, the upload holds ${before} bytes`);
      return true;
    }
    await store.appendUpload(id, req);
    if (req.method === 'PATCH') {
      const size = (await store.uploadSize(id)) ?? 0;
      res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, Range: `0-${Math.max(0, size - 1)}`, 'Content-Length': 0 });
      res.end();
      return true;
    }
    return finish(store, res, name, id, url.searchParams.get('digest') ?? '', send);
  }
  if (upload && req.method === 'DELETE') {
    await store.cancelUpload(upload[2]!);
    res.writeHead(204).end();
    return true;
  }
  const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (manifest && req.method === 'PUT') return putManifest(store, req, res, manifest[1]!, decodeURIComponent(manifest[2]!), onPushed, send);
  return false;
}

async function finish(store: ImageStore, res: ServerResponse, name: string, id: string, digest: string, send: Send): Promise<boolean> {
  if (!isDigest(digest)) {
    await store.cancelUpload(id);
    send(400, 'DIGEST_INVALID', `${digest || 'no digest'}: a sha256 digest is required to finish an upload`);
    return true;
  }
  if (!(await store.finishUpload(id, digest))) {
    send(400, 'DIGEST_INVALID', `the uploaded content does not match ${digest}`);
    return true;
  }
  res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
  res.end();
  return true;
}

async function putManifest(store: ImageStore, req: IncomingMessage, res: ServerResponse, name: string, reference: string, onPushed: OnPushed, send: Send): Promise<boolean> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) {
      send(400, 'MANIFEST_INVALID', 'manifest too large');
      return true;
    }
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const digest = sha256Digest(raw);
  const ref = isDigest(reference) ? `${name}@${reference}` : `${name}:${reference}`;
  try {
    parseImageRef(ref);
  } catch (e) {
    send(400, 'NAME_INVALID', (e as Error).message);
    return true;
  }
  if (isDigest(reference) && reference !== digest) {
    send(400, 'DIGEST_INVALID', `the manifest's content has digest ${digest}, not ${reference}`);
    return true;
  }
  let needed: string[];
  try {
    const mediaType = documentMediaType(raw, req.headers['content-type'] ?? null);
    if (INDEX_TYPES.includes(mediaType)) needed = parseIndex(raw, mediaType).manifests.map((d) => d.digest);
    else {
      const m = parseManifest(raw, mediaType);
      needed = [m.config.digest, ...m.layers.map((l) => l.digest)];
    }
  } catch (e) {
    send(400, 'MANIFEST_INVALID', (e as Error).message);
    return true;
  }
  for (const d of needed) {
    if (!(await store.blobInfo(d))) {
      send(400, 'MANIFEST_BLOB_UNKNOWN', `blob ${d} is not in the registry: push it first`, { digest: d });
      return true;
    }
  }
  await store.importStaged(ref, async (staging) => ({ manifestDigest: digest, blobs: [await stageBytes(staging, raw)] }));
  await onPushed(ref, digest);
  res.writeHead(201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
  res.end();
  return true;
}
