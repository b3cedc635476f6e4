/**
 * The cluster registry: the read side of the OCI distribution HTTP API over an
 * ImageStore, so agents (and any OCI client) pull what was imported on the
 * manager, and (with onPushed) the push side; the manager decides where this
 * listens and who may use it.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isValidImageName, parseImageRef } from '../../shared/image-ref';
import { isDigest } from '../../shared/oci';
import type { ImageStore } from './store';
import { routePush, type OnPushed } from './http-push';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * What to do on a manifest the store lacks: fetch it (pull-through.ts). true: the store has it
 * now; false: not one to fetch; a string: why fetching it failed.
 */
export type OnMissing = (name: string, reference: string, req: IncomingMessage) => Promise<boolean | string>;

export interface RegistryOptions {
  /** Why a request may not use the registry (null: it may). */
  authorize?: (req: IncomingMessage) => string | null;
  /** With it, pushes are taken and each manifest stored is reported. */
  onPushed?: OnPushed | null;
  onMissing?: OnMissing | null;
}

/** Distribution-spec error codes this registry answers with. */
type ErrorCode =
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'DIGEST_INVALID'
  | 'UNSUPPORTED'
  | 'UNAUTHORIZED'
  | 'UNKNOWN';

const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/**
 * Returns a request handler that answers paths under /v2/ and resolves false for anything else.
 * `authorize` says why a request may not use the registry (null: it may); the cluster's registry
 * is for its nodes and operators only (manager/main.ts checks their certificates). With
 * `onPushed`, it also takes pushes (http-push.ts) and reports each manifest stored; with
 * `onMissing`, a manifest the store lacks is fetched before it is refused (a pull-through cache).
 */
export function createRegistryHandler(store: ImageStore, options: RegistryOptions = {}): Handler {
  const authorize = options.authorize ?? (() => null);
  const onPushed = options.onPushed ?? null;
  const onMissing = options.onMissing ?? null;
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://registry').pathname;
    if (path !== '/v2' && !path.startsWith('/v2/')) return false;
    const refused = authorize(req);
    if (refused !== null) {
      sendError(req, res, 401, 'UNAUTHORIZED', refused);
      return true;
    }
    try {
      await route(store, req, res, path, onPushed, onMissing);
    } catch (e) {
      // A bug or a disk error; the client gets the distribution error shape all the same.
      if (!res.headersSent) sendError(req, res, 500, 'UNKNOWN', e instanceof Error ? e.message : String(e));
      else res.destroy();
    }
    return true;
  };
}

async function route(store: ImageStore, req: IncomingMessage, res: ServerResponse, path: string, onPushed: OnPushed | null, onMissing: OnMissing | null): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD' && onPushed !== null) {
    const send = (status: number, code: string, message: string, detail: unknown = null) => sendError(req, res, status, code as ErrorCode, message, detail);
    if (await routePush(store, req, res, path, onPushed, send)) return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendError(req, res, 405, 'UNSUPPORTED', `${req.method ?? ''} is not supported: this registry is read-only`);
  }
  if (path === '/v2' || path === '/v2/') return sendJson(req, res, 200, {});
  if (path === '/v2/_catalog') {
    const names = [...new Set((await store.list()).map((i) => parseImageRef(i.ref).name))].sort();
    return sendJson(req, res, 200, { repositories: names });
  }

  // Names may contain '/', so the operation is found from the end of the path.
  const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/([^/]+)$/.exec(path);
  if (!m || !m[1] || !m[2] || !m[3]) return sendError(req, res, 404, 'UNSUPPORTED', `no such endpoint: ${path}`);
  let name: string;
  let reference: string;
  try {
    name = decodeURIComponent(m[1]);
    reference = decodeURIComponent(m[3]);
  } catch {
    return sendError(req, res, 400, 'NAME_INVALID', `malformed path ${path}`);
  }
  if (!isValidImageName(name)) return sendError(req, res, 400, 'NAME_INVALID', `invalid repository name ${name}`);

  switch (m[2]) {
    case 'manifests':
      return serveManifest(store, req, res, name, reference, onMissing);
    case 'blobs':
      return serveBlob(store, req, res, reference);
    default:
      if (reference !== 'list') return sendError(req, res, 404, 'UNSUPPORTED', `no such endpoint: ${path}`);
      return serveTags(store, req, res, name);
  }
}

async function serveManifest(store: ImageStore, req: IncomingMessage, res: ServerResponse, name: string, reference: string, onMissing: OnMissing | null): Promise<void> {
  let ref: string;
  if (reference.includes(':')) {
    if (!isDigest(reference)) return sendError(req, res, 400, 'DIGEST_INVALID', `${reference} is not a sha256 digest`);
    ref = `${name}@${reference}`;
  } else {
    ref = `${name}:${reference}`;
  }
  try {
    parseImageRef(ref);
  } catch {
    // Not a valid tag: no manifest can have it.
    return sendError(req, res, 404, 'MANIFEST_UNKNOWN', `manifest unknown: ${ref}`, { name, reference });
  }
  let resolved = await store.resolve(ref);
  if (!resolved && onMissing) {
    const fetched = await onMissing(name, reference, req);
    if (typeof fetched === 'string') return sendError(req, res, 502, 'UNKNOWN', `the cluster could not pull ${ref} again: ${fetched}`, { name, reference });
    if (fetched) resolved = await store.resolve(ref);
  }
  if (!resolved) return sendError(req, res, 404, 'MANIFEST_UNKNOWN', `manifest unknown: ${ref}`, { name, reference });
  res.writeHead(200, {
    ...API_VERSION_HEADER,
    'Content-Type': resolved.mediaType,
    'Content-Length': resolved.raw.length,
    'Docker-Content-Digest': resolved.digest,
    ETag: `"${resolved.digest}"`,
  });
  res.end(req.method === 'HEAD' ? undefined : resolved.raw);
}

async function serveBlob(store: ImageStore, req: IncomingMessage, res: ServerResponse, digest: string): Promise<void> {
  if (!isDigest(digest)) return sendError(req, res, 400, 'DIGEST_INVALID', `${digest} is not a sha256 digest`);
  // Blobs are shared by every name in the store (one cluster, one trust domain),
  // so the repository name is not checked against the blob.
  const blob = await store.blobInfo(digest);
  if (!blob) return sendError(req, res, 404, 'BLOB_UNKNOWN', `blob unknown: ${digest}`, { digest });
  // Opened before the headers go out: a blob removed in between becomes a clean 404.
  const stream = createReadStream(blob.path);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch {
    return sendError(req, res, 404, 'BLOB_UNKNOWN', `blob unknown: ${digest}`, { digest });
  }
  res.writeHead(200, {
    ...API_VERSION_HEADER,
    'Content-Type': 'application/octet-stream',
    'Content-Length': blob.size,
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
  });
  if (req.method === 'HEAD') {
    stream.destroy();
    res.end();
    return;
  }
  await pipeline(stream, res);
}

async function serveTags(store: ImageStore, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const tags = (await store.list())
    .map((i) => parseImageRef(i.ref))
    .filter((r) => r.name === name && r.tag !== null)
    .map((r) => r.tag as string);
  if (tags.length === 0) return sendError(req, res, 404, 'NAME_UNKNOWN', `repository ${name} not known`, { name });
  sendJson(req, res, 200, { name, tags });
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...API_VERSION_HEADER, 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(req.method === 'HEAD' ? undefined : data);
}

function sendError(req: IncomingMessage, res: ServerResponse, status: number, code: ErrorCode, message: string, detail: unknown = null): void {
  sendJson(req, res, status, { errors: [{ code, message, detail }] });
}
