/**
 * Registry authentication as clients of the distribution spec do it: a request
 * goes out with what worked last time for its host and scope; a 401 names the
 * scheme in `WWW-Authenticate`. For `Bearer`, a token is fetched from the realm
 * (`GET realm?service=...&scope=...`, with the credentials as basic auth when we
 * have some, anonymous otherwise) and kept until shortly before it expires; for
 * `Basic`, the credentials themselves are sent from then on.
 */
import { parseChallenges, type Challenge } from './challenge';
import { RegistryAuthError, ImagePullError } from './errors';
import type { Fetch } from '../fetch';

export interface RegistryCredential {
  username: string;
  password: string;
}

/** A token without `expires_in` lives 60 s (the token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Refreshed this long before it expires, so a request never carries a token that dies in flight. */
const REFRESH_MARGIN_MS = 10_000;
const TOKEN_TIMEOUT_MS = 30_000;

interface CachedToken {
  header: string;
  expiresAt: number;
}

export class RegistryAuth {
  /** `${host} ${scope}` → token. */
  private readonly tokens = new Map<string, CachedToken>();
  /** Hosts that asked for basic auth. */
  private readonly basicHosts = new Set<string>();
  /** Token requests in flight, shared by concurrent requests of one scope. */
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(
    /** Credentials for a registry host (`host[:port]`), or null for anonymous. */
    private readonly credential: (host: string) => RegistryCredential | null,
    private readonly fetch: Fetch,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Authorization header for a request to `host` needing `scope`, if we know one. */
  header(host: string, scope: string): string | null {
    const t = this.tokens.get(`${host} ${scope}`);
    if (t && t.expiresAt - REFRESH_MARGIN_MS > this.now()) return t.header;
    if (this.basicHosts.has(host)) return this.basic(host);
    return null;
  }

  /**
   * Answers a 401: returns the header to retry with, or throws when there is
   * nothing more to try (no credentials, or the ones we have were refused).
   */
  async challenge(host: string, scope: string, wwwAuthenticate: string | null, sent: string | null): Promise<string> {
    const challenges = parseChallenges(wwwAuthenticate);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params['realm']);
    if (bearer) {
      const key = `${host} ${scope}`;
      const cached = this.tokens.get(key);
      // The token we just sent was refused: a scope we may not have.
      if (cached && cached.header === sent && cached.expiresAt - REFRESH_MARGIN_MS > this.now()) {
        this.tokens.delete(key);
        throw this.refused(host, scope);
      }
      let p = this.pending.get(key);
      if (!p) {
        p = this.fetchToken(host, bearer, scope).finally(() => this.pending.delete(key));
        this.pending.set(key, p);
      }
      const token = await p;
      this.tokens.set(key, token);
      return token.header;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const header = this.basic(host);
      if (header === null) throw new RegistryAuthError(`registry ${host} requires authentication: log in with tsswarm login ${host}`);
      if (sent === header) throw this.refused(host, scope);
      this.basicHosts.add(host);
      return header;
    }
    throw new RegistryAuthError(`registry ${host} refused the request (401) without saying how to authenticate`);
  }

  private basic(host: string): string | null {
    const c = this.credential(host);
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : null;
  }

  private refused(host: string, scope: string): RegistryAuthError {
    const c = this.credential(host);
    const what = scope ? ` for ${describeScope(scope)}` : '';
    return new RegistryAuthError(
      c ? `registry ${host} refused the credentials of ${c.username}${what}` : `registry ${host} requires authentication${what}: log in with tsswarm login ${host}`,
    );
  }

  private async fetchToken(host: string, c: Challenge, scope: string): Promise<CachedToken> {
    const url = new URL(c.params['realm'] as string);
    if (c.params['service']) url.searchParams.set('service', c.params['service']);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    const basic = this.basic(host);
    if (basic) headers['Authorization'] = basic;
    let res: Response;
    try {
      res = await this.fetch(url.toString(), { headers, signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS), redirect: 'follow' });
    } catch (e) {
      throw new ImagePullError(`cannot get a token for ${host} from ${url.origin}: ${(e as Error).message}`, { temporary: true, cause: e });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw this.refused(host, scope);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImagePullError(`cannot get a token for ${host}: ${url.origin} answered ${res.status}`, { temporary: res.status >= 500 || res.status === 429 });
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch (e) {
      throw new ImagePullError(`cannot get a token for ${host}: ${url.origin} did not answer JSON`, { temporary: false, cause: e });
    }
    const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) throw new ImagePullError(`cannot get a token for ${host}: ${url.origin} answered without one`, { temporary: false });
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    return { header: `Bearer ${token}`, expiresAt: this.now() + seconds * 1000 };
  }
}

/** `repository:team/app:pull,push` → `pull and push of team/app`. */
function describeScope(scope: string): string {
  const m = /^repository:(.+):([a-z,*]+)$/.exec(scope);
  return m ? `${m[2]!.split(',').join(' and ')} of ${m[1]}` : scope;
}
