/** The CLI's way in: HTTP to the manager's API over its unix socket (or a URL). */
import * as http from 'node:http';
import * as https from 'node:https';
import * as fs from 'node:fs';
import { TsswarmError, type ErrorBody } from '../shared/errors';
import type { ClientTls } from './tls-options';
import { requireRole } from '../shared/pki/roles';
import type { Fetch } from '../shared/fetch';

export class ApiError extends TsswarmError {
  constructor(readonly code: string, message: string, override readonly status: number) {
    super(message);
  }
}

export class ConnectError extends TsswarmError {
  readonly code = 'CONNECT';
}

export const DEFAULT_DATA_ROOT = '/var/lib/tsswarm';

export function defaultHost(): string {
  return process.env.TSSWARM_HOST ?? `${process.env.TSSWARM_DATA_ROOT ?? DEFAULT_DATA_ROOT}/api.sock`;
}

export class Client {
  constructor(
    readonly host: string,
    /** For a tcp:// host: our client certificate and the cluster's roots (cli/tls-options.ts). */
    private readonly tls: ClientTls | null = null,
  ) {}

  private target(p: string): http.RequestOptions {
    if (this.host.startsWith('tcp://') && this.tls) {
      const u = new URL(p, `https://${this.host.slice(6)}`);
      // The manager's certificate must chain to the cluster's roots and name a manager; the
      // address dialled is not in question (a manager's names are checked by role).
      return { hostname: u.hostname, port: u.port, path: u.pathname + u.search, ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, checkServerIdentity: requireRole('manager') } as https.RequestOptions;
    }
    if (/^https?:\/\//.test(this.host)) {
      const u = new URL(p, this.host);
      return { hostname: u.hostname, port: u.port, path: u.pathname + u.search };
    }
    return { socketPath: this.host, path: p };
  }

  request<T>(method: string, p: string, body?: unknown | fs.ReadStream): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const isStream = body instanceof fs.ReadStream;
      const req = (this.tls ? https : http).request({
        ...this.target(p),
        method,
        headers: isStream ? { 'content-type': 'application/octet-stream' } : body === undefined ? {} : { 'content-type': 'application/json' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            reject(new ApiError('BAD_RESPONSE', `manager answered ${res.statusCode} with something that is not JSON`, res.statusCode ?? 500));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (parsed as ErrorBody | null)?.error;
            reject(new ApiError(e?.code ?? 'UNKNOWN', e?.message ?? `manager answered ${res.statusCode}`, res.statusCode ?? 500));
            return;
          }
          resolve(parsed as T);
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      if (isStream) (body as fs.ReadStream).pipe(req);
      else req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  private connectError(e: NodeJS.ErrnoException): Error {
    if (this.tls && /certificate|self.signed|unable to verify|alert/i.test(e.message)) return new ConnectError(`TLS with ${this.host} failed: ${e.message}`);
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return new ConnectError(`cannot reach the manager at ${this.host}: is this node part of a cluster? (tsswarm init, or set --host / TSSWARM_HOST)`);
    if (e.code === 'EACCES') return new ConnectError(`permission denied on ${this.host}: the API is for root only`);
    return e;
  }

  /**
   * A streamed answer of JSON lines (events, logs): `onLine` hears each as it comes; resolves when
   * the manager ends the stream. An error answer rejects as request() does.
   */
  /**
   * The cluster registry (`/v2/`) through this API connection, for an OCI client (`tsswarm build`
   * reads base images and pushes what it built): the unix socket, or the TCP API with our
   * client certificate.
   */
  registry(): { base: string; fetch: Fetch; close: () => Promise<void> } {
    const undici = require('undici') as typeof import('undici');
    let agent: import('undici').Agent;
    let base: string;
    if (this.host.startsWith('tcp://') && this.tls) {
      base = `https://${this.host.slice(6)}`;
      agent = new undici.Agent({ connect: { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, checkServerIdentity: requireRole('manager') } });
    } else if (/^https?:\/\//.test(this.host)) {
      base = this.host.replace(/\/+$/, '');
      agent = new undici.Agent();
    } else {
      base = 'http://tsswarm';
      agent = new undici.Agent({ connect: { socketPath: this.host } });
    }
    const fetch: Fetch = (url, init) => undici.fetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
    return { base, fetch, close: () => agent.close() };
  }

  stream<T>(p: string, onLine: (item: T) => void, options: { method?: string; headers?: Record<string, string> } = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = (this.tls ? https : http).request({ ...this.target(p), method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
        if ((res.statusCode ?? 500) >= 400) return void errorAnswer(res).then(reject);
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          rest += text;
          let nl: number;
          while ((nl = rest.indexOf('\n')) >= 0) {
            const line = rest.slice(0, nl);
            rest = rest.slice(nl + 1);
            if (line.trim() !== '') onLine(JSON.parse(line) as T);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end();
    });
  }

  /** A streamed answer into a file (`image save`); the file is written only for a successful answer, and removed if cut short. */
  download(p: string, file: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = (this.tls ? https : http).request({ ...this.target(p), method: 'GET' }, (res) => {
        if ((res.statusCode ?? 500) >= 400) return void errorAnswer(res).then(reject);
        const out = fs.createWriteStream(file);
        res.pipe(out);
        res.on('aborted', () => out.destroy(new Error('the manager ended the answer early')));
        out.on('finish', () => (res.complete ? resolve() : (fs.rmSync(file, { force: true }), reject(new ApiError('BAD_RESPONSE', 'the manager ended the archive early', 502)))));
        out.on('error', (e) => {
          fs.rmSync(file, { force: true });
          reject(e);
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end();
    });
  }

  /** A WebSocket to the API (`tsswarm exec`), on the unix socket or the TCP API; `ws` is loaded only here. */
  async websocket(p: string): Promise<import('ws').WebSocket> {
    const { WebSocket } = await import('ws');
    let ws: import('ws').WebSocket;
    if (this.host.startsWith('tcp://') && this.tls) {
      ws = new WebSocket(`wss://${this.host.slice(6)}${p}`, { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, checkServerIdentity: requireRole('manager') } as unknown as import('ws').ClientOptions);
    } else if (/^https?:\/\//.test(this.host)) ws = new WebSocket(`${this.host.replace(/^http/, 'ws')}${p}`);
    else ws = new WebSocket(`ws+unix://${this.host}:${p}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(new ApiError('REFUSED', Buffer.concat(chunks).toString('utf8').trim() || `manager answered ${res.statusCode}`, res.statusCode ?? 500)));
      });
      ws.once('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
    });
    return ws;
  }

  get<T>(p: string): Promise<T> {
    return this.request<T>('GET', p);
  }
  post<T>(p: string, body: unknown): Promise<T> {
    return this.request<T>('POST', p, body);
  }
  delete<T>(p: string): Promise<T> {
    return this.request<T>('DELETE', p);
  }
}

/** An error answer of a streamed request, as request() reports one: the manager's code and message. */
function errorAnswer(res: http.IncomingMessage): Promise<ApiError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      let e: ErrorBody['error'] | undefined;
      try {
        e = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as ErrorBody).error;
      } catch {
        e = undefined;
      }
      resolve(new ApiError(e?.code ?? 'UNKNOWN', e?.message ?? `manager answered ${res.statusCode}`, res.statusCode ?? 500));
    });
  });
}
