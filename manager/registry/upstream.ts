/**
 * Where images named by other registries come from: for a registry host
 * (`docker.io`, `registry.example:5000`) the endpoints to try in order and the
 * TLS each one wants.
 *
 * - `docker.io` (bare names): the cluster's mirrors first (`tsswarm update
 *   --registry-mirror URL`), then the default registry (Docker Hub).
 * - Any other host: `https://host`, verified against the system's roots plus
 *   `<certs dir>/<host>/ca.crt` when that exists (Docker's certs.d layout).
 * - Insecure registries (`tsswarm update --insecure-registry host:port`, and,
 *   as in Docker, the loopback range): HTTPS without verification, then plain HTTP.
 *
 * The next endpoint is tried when one cannot be reached or fails, as Docker
 * falls back from a mirror; an answer about the image itself (not found,
 * refused credentials) from the last endpoint is what the user sees.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { Agent } from 'undici';
import { DEFAULT_REGISTRY } from '../../shared/image-ref';
import type { Fetch } from '../../shared/fetch';
import { RegistryAuth, type RegistryCredential } from '../../shared/registry/auth';
import { RegistryClient } from '../../shared/registry/client';
import { RegistryAuthError } from '../../shared/registry/errors';

/** The cluster's settings for other registries (`Cluster.registries`). */
export interface RegistrySettings {
  /** Base URLs tried before Docker Hub for bare names. */
  mirrors: string[];
  /** `host[:port]` reached without verifying TLS, or over plain HTTP. */
  insecure: string[];
}

export const DOCKER_HUB = 'https://registry-1.docker.io';

export interface Endpoint {
  url: string;
  /** TLS without verification (an insecure registry's first try). */
  skipVerify: boolean;
}

export class Upstreams {
  /** undici agents by TLS setting, made once. */
  private readonly agents = new Map<string, Agent>();
  /** Token caches by registry and credential, so pulls after the first need no new token. */
  private readonly auths = new Map<string, RegistryAuth>();
  private undici: typeof import('undici') | null = null;

  constructor(
    private readonly settings: () => RegistrySettings,
    /** Docker's certs.d layout: `<dir>/<host:port>/ca.crt` is trusted for that registry. */
    private readonly certsDir: string,
  ) {}

  endpoints(registry: string): Endpoint[] {
    const s = this.settings();
    if (registry === DEFAULT_REGISTRY) {
      return [...s.mirrors.map((url) => ({ url: url.replace(/\/+$/, ''), skipVerify: false })), { url: DOCKER_HUB, skipVerify: false }];
    }
    if (isInsecure(registry, s.insecure)) return [{ url: `https://${registry}`, skipVerify: true }, { url: `http://${registry}`, skipVerify: false }];
    return [{ url: `https://${registry}`, skipVerify: false }];
  }

  /** One client per endpoint, in the order to try them; one token cache for the registry. */
  clients(registry: string, credential: RegistryCredential | null): RegistryClient[] {
    const endpoints = this.endpoints(registry);
    const key = `${registry}\0${credential ? `${credential.username}\0${credential.password}` : ''}`;
    let auth = this.auths.get(key);
    if (!auth) {
      // Token realms are HTTPS hosts of their own; the registry's TLS settings serve them too.
      auth = new RegistryAuth(() => credential, this.fetchFor(registry, endpoints[0]!));
      if (this.auths.size > 256) this.auths.clear();
      this.auths.set(key, auth);
    }
    return endpoints.map((e) => new RegistryClient(e.url, this.fetchFor(registry, e), { auth, host: registry }));
  }

  close(): void {
    for (const a of this.agents.values()) void a.close().catch(() => undefined);
    this.agents.clear();
  }

  private fetchFor(registry: string, e: Endpoint): Fetch {
    if (e.url.startsWith('http://')) return globalThis.fetch as Fetch;
    const ca = this.caFor(registry);
    const key = `${e.skipVerify ? 'insecure' : 'verify'} ${ca ?? ''}`;
    return (url, init) => {
      this.undici ??= require('undici') as typeof import('undici');
      let agent = this.agents.get(key);
      if (!agent) {
        agent = new this.undici.Agent({ connect: e.skipVerify ? { rejectUnauthorized: false } : ca ? { ca: [...rootCertificates, ca] } : {} });
        this.agents.set(key, agent);
      }
      return this.undici.fetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
    };
  }

  private caFor(registry: string): string | null {
    try {
      return readFileSync(join(this.certsDir, registry.replace(/[/\\]/g, '_'), 'ca.crt'), 'utf8');
    } catch {
      return null;
    }
  }
}

/** Named insecure, or on the loopback range (Docker treats 127.0.0.0/8 as insecure by default). */
export function isInsecure(registry: string, insecure: readonly string[]): boolean {
  if (insecure.includes(registry)) return true;
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * `op` on each endpoint's client in turn until one answers: a mirror (or an insecure registry's
 * HTTPS try) that fails is passed over, as Docker does; refused credentials, and the last
 * endpoint's failure, are the answer.
 */
export async function firstAnswering<T>(clients: RegistryClient[], signal: AbortSignal, op: (c: RegistryClient) => Promise<T>): Promise<{ client: RegistryClient; value: T }> {
  let last: unknown = null;
  for (const [i, client] of clients.entries()) {
    try {
      return { client, value: await op(client) };
    } catch (e) {
      last = e;
      if (signal.aborted || i === clients.length - 1 || e instanceof RegistryAuthError) break;
    }
  }
  throw last;
}
