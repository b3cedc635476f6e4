/**
 * The pull side of the OCI distribution API, as much as the agent needs:
 * manifests (by tag or digest) and blobs. Every byte is checked against the
 * digest it was asked for before anything else sees it. Agents pull from the
 * cluster registry on a manager, presenting their node certificate (the
 * `fetch` they are given does).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ImageNotFoundError } from '../../shared/errors';
import { DigestTap } from '../../shared/digest-stream';
import { INDEX_TYPES, MANIFEST_TYPES, documentMediaType, isDigest, sha256Digest, type Descriptor } from '../../shared/oci';
import { ImagePullError } from './errors';

/** Manifests and configs are small; anything bigger is not one. */
const MAX_DOCUMENT_BYTES = 4 << 20;
const DOCUMENT_TIMEOUT_MS = 30_000;

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  raw: Buffer;
}

export type Fetch = (url: string, init: { headers: Record<string, string>; signal: AbortSignal; redirect: 'follow' }) => Promise<Response>;

export class RegistryClient {
  constructor(
    readonly baseUrl: string,
    private readonly fetch: Fetch = globalThis.fetch,
  ) {}

  /** GET /v2/<name>/manifests/<reference>; a digest reference is verified, a tag's digest is computed. */
  async manifest(name: string, reference: string, signal: AbortSignal): Promise<FetchedManifest> {
    const what = `manifest ${name}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.get(`/v2/${name}/manifests/${reference}`, what, withTimeout(signal), {
      Accept: [...MANIFEST_TYPES, ...INDEX_TYPES].join(', '),
    });
    if (res.status === 404) {
      throw new ImageNotFoundError(`image ${name}${isDigest(reference) ? '@' : ':'}${reference} not found in the registry at ${this.baseUrl}`);
    }
    await this.failUnlessOk(res, what);
    const raw = await readLimited(res, what);
    const digest = sha256Digest(raw);
    if (isDigest(reference) && digest !== reference) throw corrupt(`${what}: the registry sent content with digest ${digest}`);
    const header = res.headers.get('docker-content-digest');
    if (header !== null && isDigest(header) && header !== digest) throw corrupt(`${what}: content digest ${digest} differs from the registry's ${header}`);
    let mediaType: string;
    try {
      mediaType = documentMediaType(raw, res.headers.get('content-type'));
    } catch (e) {
      throw corrupt(`${what}: ${(e as Error).message}`, e);
    }
    return { digest, mediaType, raw };
  }

  /** A small blob (an image config) in memory, verified. */
  async blobBytes(name: string, d: Descriptor, signal: AbortSignal): Promise<Buffer> {
    const what = `blob ${d.digest} of ${name}`;
    const res = await this.get(`/v2/${name}/blobs/${d.digest}`, what, withTimeout(signal));
    await this.failUnlessOk(res, what);
    const raw = await readLimited(res, what);
    if (raw.length !== d.size || sha256Digest(raw) !== d.digest) throw corrupt(`${what}: content does not match its digest`);
    return raw;
  }

  /** Streams a blob (a layer) into `file`, verifying digest and size; no partial file survives a failure to verify. */
  async blobToFile(name: string, d: Descriptor, file: string, signal: AbortSignal): Promise<void> {
    const what = `blob ${d.digest} of ${name}`;
    const res = await this.get(`/v2/${name}/blobs/${d.digest}`, what, signal);
    await this.failUnlessOk(res, what);
    if (!res.body) throw corrupt(`${what}: empty response`);
    const tap = new DigestTap();
    try {
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), tap, createWriteStream(file, { flags: 'wx' }), { signal });
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      throw new ImagePullError(`${what}: download failed: ${(e as Error).message}`, { temporary: true, cause: e });
    }
    if (tap.size !== d.size || tap.digest() !== d.digest) {
      throw corrupt(`${what}: downloaded ${tap.size} bytes with digest ${tap.digest()}, expected ${d.size} bytes`);
    }
  }

  private async get(path: string, what: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
    try {
      return await this.fetch(this.baseUrl.replace(/\/+$/, '') + path, { headers, signal, redirect: 'follow' });
    } catch (e) {
      if (signal.aborted && !isTimeout(signal.reason)) throw signal.reason;
      throw new ImagePullError(`cannot fetch ${what}: registry ${this.baseUrl} unreachable (${networkReason(e)})`, { temporary: true, cause: e });
    }
  }

  private async failUnlessOk(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    const detail = await distributionError(res);
    // 5xx and 429 can pass; other 4xx mean the request itself is wrong.
    const temporary = res.status >= 500 || res.status === 429;
    throw new ImagePullError(`cannot fetch ${what}: registry answered ${res.status}${detail ? ` (${detail})` : ''}`, { temporary });
  }
}

function withTimeout(signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal, AbortSignal.timeout(DOCUMENT_TIMEOUT_MS)]);
}

function isTimeout(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === 'TimeoutError';
}

function corrupt(message: string, cause?: unknown): ImagePullError {
  return new ImagePullError(message, { temporary: false, cause });
}

async function readLimited(res: Response, what: string): Promise<Buffer> {
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > MAX_DOCUMENT_BYTES) throw corrupt(`${what}: ${length} bytes is too large for a manifest or config`);
  try {
    const data = Buffer.from(await res.arrayBuffer());
    if (data.length > MAX_DOCUMENT_BYTES) throw corrupt(`${what}: too large for a manifest or config`);
    return data;
  } catch (e) {
    if (e instanceof ImagePullError) throw e;
    throw new ImagePullError(`cannot fetch ${what}: ${(e as Error).message}`, { temporary: true, cause: e });
  }
}

/** The first message of a distribution-spec error body, if the registry sent one. */
async function distributionError(res: Response): Promise<string | null> {
  try {
    const body = (await res.json()) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = body.errors?.[0];
    if (!first) return null;
    return [first.code, first.message].filter((x) => typeof x === 'string').join(': ') || null;
  } catch {
    return null;
  }
}

/** fetch() hides the socket error in `cause`; ECONNREFUSED says more than "fetch failed". */
function networkReason(e: unknown): string {
  if (isTimeout(e)) return 'timed out';
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}
