/**
 * A client of the OCI distribution API (Docker registry API v2): manifests by
 * tag or digest, blobs, and the push side (blob upload, cross-repository mount,
 * manifest put). Every byte read is checked against the digest it was asked for
 * before anything else sees it. Agents use it against the cluster registry on a
 * manager (presenting their node certificate: the `fetch` they are given does);
 * managers against upstream registries, with `auth` for their token or basic
 * challenges.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ImageNotFoundError } from '../errors';
import { DigestTap, hashFile } from '../digest-stream';
import type { Fetch, FetchInit } from '../fetch';
import { INDEX_TYPES, MANIFEST_TYPES, documentMediaType, isDigest, sha256Digest, type Descriptor } from '../oci';
import type { RegistryAuth } from './auth';
import { ImagePullError, RegistryAuthError } from './errors';

/** Manifests and configs are small; anything bigger is not one. */
const MAX_DOCUMENT_BYTES = 4 << 20;
const DOCUMENT_TIMEOUT_MS = 30_000;
/** A blob download cut off half way is resumed with a Range request this many times. */
const BLOB_RESUMES = 3;

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  raw: Buffer;
}

export type { Fetch } from '../fetch';

/** Bytes of one blob so far; called as they arrive. */
export type ProgressFn = (done: number, total: number) => void;

export interface RegistryClientOptions {
  /** Answers 401s (token or basic); without it a 401 is an error. */
  auth?: RegistryAuth;
  /** The registry as named in image references (`docker.io`, `host:5000`), for credentials and messages. */
  host?: string;
}

export class RegistryClient {
  private readonly base: string;
  private readonly host: string;

  constructor(
    readonly baseUrl: string,
    private readonly fetch: Fetch = globalThis.fetch as Fetch,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.host = options.host ?? new URL(this.base).host;
  }

  /** GET /v2/: reachable, and (with auth) the credentials accepted; `tsswarm login` checks them so. */
  async ping(signal: AbortSignal): Promise<void> {
    const res = await this.send('/v2/', 'the registry', '', withTimeout(signal));
    await discard(res);
    if (res.status === 401) throw new RegistryAuthError(`registry ${this.host} refused the credentials`);
    await this.failUnlessOk(res, 'the registry');
  }

  /** GET /v2/<name>/manifests/<reference>; a digest reference is verified, a tag's digest is computed. */
  async manifest(name: string, reference: string, signal: AbortSignal): Promise<FetchedManifest> {
    const what = `manifest ${name}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.send(`/v2/${name}/manifests/${reference}`, what, pullScope(name), withTimeout(signal), {
      headers: { Accept: [...MANIFEST_TYPES, ...INDEX_TYPES].join(', ') },
    });
    if (res.status === 404) {
      await discard(res);
      throw new ImageNotFoundError(`image ${name}${isDigest(reference) ? '@' : ':'}${reference} not found in the registry at ${this.host}`);
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
    const res = await this.send(`/v2/${name}/blobs/${d.digest}`, what, pullScope(name), withTimeout(signal));
    await this.failUnlessOk(res, what);
    const raw = await readLimited(res, what);
    if (raw.length !== d.size || sha256Digest(raw) !== d.digest) throw corrupt(`${what}: content does not match its digest`);
    return raw;
  }

  /**
   * Streams a blob (a layer) into `file`, verifying digest and size. A download
   * cut off half way goes on from where it stopped when the registry honours
   * Range requests; no file that fails to verify is left for anyone to trust.
   */
  async blobToFile(name: string, d: Descriptor, file: string, signal: AbortSignal, progress?: ProgressFn): Promise<void> {
    const what = `blob ${d.digest} of ${name}`;
    let hash = createHash('sha256');
    let have = 0;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {};
      const res = await this.send(`/v2/${name}/blobs/${d.digest}`, what, pullScope(name), signal, { headers });
      if (have > 0 && res.status === 200) {
        // No ranges here: the whole blob comes again, so the file starts over.
        hash = createHash('sha256');
        have = 0;
        await truncate(file, 0);
      } else if (have > 0 && res.status !== 206) {
        await this.failUnlessOk(res, what);
        await discard(res);
        throw new ImagePullError(`${what}: cannot resume after ${have} bytes (registry answered ${res.status})`, { temporary: true });
      }
      await this.failUnlessOk(res, what);
      if (!res.body) throw corrupt(`${what}: empty response`);
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          have += chunk.length;
          progress?.(have, d.size);
          done(null, chunk);
        },
      });
      try {
        await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), tap, createWriteStream(file, { flags: attempt === 0 ? 'wx' : 'a' }), { signal });
        break;
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (attempt === BLOB_RESUMES) throw new ImagePullError(`${what}: download failed: ${(e as Error).message}`, { temporary: true, cause: e });
        // What reached the disk is what counts: hash it again and go on from its end.
        ({ hash, size: have } = await hashFile(file));
      }
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (have !== d.size || digest !== d.digest) {
      throw corrupt(`${what}: downloaded ${have} bytes with digest ${digest}, expected ${d.size} bytes with ${d.digest}`);
    }
  }

  /**
   * A blob's bytes as they arrive, hashed on the way, for a caller that uses them at once (an agent
   * unpacking a layer while it downloads). `verify()`, once the stream has ended, throws unless
   * they are exactly the blob; nothing may be trusted before. No resume: a broken stream fails.
   */
  async blobStream(name: string, d: Descriptor, signal: AbortSignal): Promise<{ stream: Readable; verify: () => void }> {
    const what = `blob ${d.digest} of ${name}`;
    const res = await this.send(`/v2/${name}/blobs/${d.digest}`, what, pullScope(name), signal);
    await this.failUnlessOk(res, what);
    if (!res.body) throw corrupt(`${what}: empty response`);
    const tap = new DigestTap();
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    body.once('error', (e) => tap.destroy(e));
    const verify = () => {
      if (tap.size !== d.size || tap.digest() !== d.digest) {
        throw corrupt(`${what}: downloaded ${tap.size} bytes with digest ${tap.digest()}, expected ${d.size} bytes with ${d.digest}`);
      }
    };
    return { stream: body.pipe(tap), verify };
  }

  // --- push -------------------------------------------------------------------

  /** HEAD /v2/<name>/blobs/<digest>: true when the repository has the blob. */
  async hasBlob(name: string, digest: string, signal: AbortSignal): Promise<boolean> {
    const what = `blob ${digest} of ${name}`;
    const res = await this.send(`/v2/${name}/blobs/${digest}`, what, pushScope(name), withTimeout(signal), { method: 'HEAD' });
    await discard(res);
    if (res.status === 404) return false;
    await this.failUnlessOk(res, what);
    return true;
  }

  /** Tries a cross-repository mount of a blob the registry has under `from`; true when it took. */
  async mountBlob(name: string, digest: string, from: string, signal: AbortSignal): Promise<boolean> {
    const what = `mount of ${digest} from ${from} into ${name}`;
    const path = `/v2/${name}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const res = await this.send(path, what, `${pushScope(name)} ${pullScope(from)}`, withTimeout(signal), { method: 'POST' });
    await discard(res);
    if (res.status === 201) return true;
    // 202: the registry opened an upload instead; it is left to expire.
    if (res.status === 202) return false;
    await this.failUnlessOk(res, what);
    return false;
  }

  /** Uploads a blob from a file in one request (POST for a location, then PUT with the digest). */
  async pushBlob(name: string, d: Descriptor, file: string, signal: AbortSignal, progress?: ProgressFn): Promise<void> {
    const what = `upload of ${d.digest} to ${name}`;
    const size = (await stat(file)).size;
    if (size !== d.size) throw corrupt(`${what}: the file has ${size} bytes, the descriptor says ${d.size}`);
    const start = await this.send(`/v2/${name}/blobs/uploads/`, what, pushScope(name), withTimeout(signal), { method: 'POST', headers: { 'Content-Length': '0' } });
    await discard(start);
    if (start.status !== 202) await this.failUnlessOk(start, what);
    const location = start.headers.get('location');
    if (start.status !== 202 || !location) throw new ImagePullError(`${what}: the registry did not open an upload (${start.status})`, { temporary: false });
    const url = new URL(location, this.base + '/');
    url.searchParams.set('digest', d.digest);
    // Counted on the way, in a stream of its own: fetch refuses a body something else has begun to read.
    let sent = 0;
    const body = createReadStream(file).pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          sent += chunk.length;
          progress?.(sent, d.size);
          done(null, chunk);
        },
      }),
    );
    const res = await this.send(url.toString(), what, pushScope(name), signal, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(d.size) },
      body,
      duplex: 'half',
    });
    await discard(res);
    if (res.status !== 201) await this.failUnlessOk(res, what, [201]);
  }

  /** PUT /v2/<name>/manifests/<reference>; returns the digest the registry says it stored. */
  async putManifest(name: string, reference: string, raw: Buffer, mediaType: string, signal: AbortSignal): Promise<string> {
    const what = `manifest ${name}:${reference}`;
    const res = await this.send(`/v2/${name}/manifests/${reference}`, what, pushScope(name), withTimeout(signal), {
      method: 'PUT',
      headers: { 'Content-Type': mediaType, 'Content-Length': String(raw.length) },
      body: raw,
    });
    await discard(res);
    if (res.status !== 201) await this.failUnlessOk(res, what, [201]);
    const digest = sha256Digest(raw);
    const said = res.headers.get('docker-content-digest');
    if (said !== null && said !== digest) throw corrupt(`${what}: the registry stored it as ${said}, its content is ${digest}`);
    return digest;
  }

  // --- transport --------------------------------------------------------------

  /**
   * One request, with what authenticated this scope before; a 401 is answered
   * once through `auth` (a token or basic credentials) and the request repeated.
   * A request with a stream body cannot be repeated, so it is preceded by a probe.
   */
  private async send(pathOrUrl: string, what: string, scope: string, signal: AbortSignal, init: FetchInit = {}): Promise<Response> {
    const url = pathOrUrl.startsWith('/') ? this.base + pathOrUrl : pathOrUrl;
    const auth = this.options.auth;
    let header = auth?.header(this.host, scope) ?? null;
    if (auth && header === null && init.body !== undefined && typeof (init.body as { pipe?: unknown }).pipe === 'function') {
      // A stream can be sent only once: learn the scheme first with a request that costs nothing.
      header = await this.authorizeFor(scope, signal);
    }
    let res = await this.once(url, what, signal, init, header);
    if (res.status === 401 && auth) {
      await discard(res);
      const retry = await auth.challenge(this.host, scope, res.headers.get('www-authenticate'), header);
      res = await this.once(url, what, signal, init, retry);
      if (res.status === 401) {
        await discard(res);
        await auth.challenge(this.host, scope, res.headers.get('www-authenticate'), retry);
      }
    }
    return res;
  }

  private async authorizeFor(scope: string, signal: AbortSignal): Promise<string | null> {
    const res = await this.once(`${this.base}/v2/`, 'the registry', withTimeout(signal), {}, null);
    await discard(res);
    if (res.status !== 401) return null;
    return this.options.auth!.challenge(this.host, scope, res.headers.get('www-authenticate'), null);
  }

  private async once(url: string, what: string, signal: AbortSignal, init: FetchInit, authorization: string | null): Promise<Response> {
    const headers = { ...init.headers };
    if (authorization !== null) headers['Authorization'] = authorization;
    try {
      return await this.fetch(url, { ...init, headers, signal, redirect: 'follow' });
    } catch (e) {
      if (signal.aborted && !isTimeout(signal.reason)) throw signal.reason;
      const reason = networkReason(e);
      if (isCertificateError(reason)) {
        throw new ImagePullError(
          `cannot fetch ${what}: the certificate of registry ${this.host} is not trusted (${reason}): give the managers its CA as certs.d/${this.host}/ca.crt under their data root, or name it with tsswarm update --insecure-registry ${this.host}`,
          { temporary: false, cause: e },
        );
      }
      throw new ImagePullError(`cannot fetch ${what}: registry ${this.host} unreachable (${reason})`, { temporary: true, cause: e });
    }
  }

  private async failUnlessOk(res: Response, what: string, ok: number[] = []): Promise<void> {
    if (res.ok && (ok.length === 0 || ok.includes(res.status))) return;
    const detail = await distributionError(res);
    // 5xx and 429 can pass; other 4xx mean the request itself is wrong.
    const temporary = res.status >= 500 || res.status === 429;
    throw new ImagePullError(`cannot fetch ${what}: registry ${this.host} answered ${res.status}${detail ? ` (${detail})` : ''}`, { temporary });
  }
}

export function pullScope(name: string): string {
  return `repository:${name}:pull`;
}

export function pushScope(name: string): string {
  return `repository:${name}:pull,push`;
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

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already consumed or closed
  }
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

/** OpenSSL's verification failures, as Node names them. */
function isCertificateError(code: string): boolean {
  return /^(UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/.test(code);
}

/** fetch() hides the socket error in `cause`; ECONNREFUSED says more than "fetch failed". */
function networkReason(e: unknown): string {
  if (isTimeout(e)) return 'timed out';
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}
