/**
 * A host's TLS identity as its servers and clients use it: the roots it
 * trusts and its certificate chain and key, kept current. gRPC servers and
 * channels built from it (through grpc-js certificate providers) and HTTPS
 * servers registered with it pick up a renewed certificate or a new root for
 * every new connection; connections already open keep going, so a renewal
 * drops no session.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { CaCertificateUpdateListener, CertificateProvider, IdentityCertificateUpdateListener } from '@grpc/grpc-js/build/src/certificate-provider';
import { keyMatches } from './issue';
import { readIfExists } from './node-files';
import { requireRole } from './roles';

export interface TlsMaterial {
  /** PEM roots to trust. */
  ca: string;
  /** PEM chain, leaf first. */
  cert: string;
  key: string;
}

/**
 * Listeners hear the current material on the next tick, not inside add*Listener: grpc-js
 * subscribes its server's watcher only after adding these listeners, and would miss it.
 */
class Provider implements CertificateProvider {
  private readonly ca = new Set<CaCertificateUpdateListener>();
  private readonly ids = new Set<IdentityCertificateUpdateListener>();
  constructor(private readonly current: () => TlsMaterial) {}
  addCaCertificateListener(l: CaCertificateUpdateListener): void {
    this.ca.add(l);
    queueMicrotask(() => this.ca.has(l) && l({ caCertificate: Buffer.from(this.current().ca) }));
  }
  removeCaCertificateListener(l: CaCertificateUpdateListener): void {
    this.ca.delete(l);
  }
  addIdentityCertificateListener(l: IdentityCertificateUpdateListener): void {
    this.ids.add(l);
    queueMicrotask(() => {
      const m = this.current();
      if (this.ids.has(l)) l({ certificate: Buffer.from(m.cert), privateKey: Buffer.from(m.key) });
    });
  }
  removeIdentityCertificateListener(l: IdentityCertificateUpdateListener): void {
    this.ids.delete(l);
  }
  changed(): void {
    const m = this.current();
    for (const l of this.ca) l({ caCertificate: Buffer.from(m.ca) });
    for (const l of this.ids) l({ certificate: Buffer.from(m.cert), privateKey: Buffer.from(m.key) });
  }
}


export class TlsIdentity {
  private material: TlsMaterial;
  private readonly provider = new Provider(() => this.material);
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(material: TlsMaterial) {
    this.material = material;
  }

  get current(): TlsMaterial {
    return this.material;
  }

  update(m: TlsMaterial): void {
    if (m.ca === this.material.ca && m.cert === this.material.cert && m.key === this.material.key) return;
    this.material = m;
    this.provider.changed();
    for (const l of this.listeners) l(m);
  }

  /** Called with the new material on every change (HTTPS servers: setSecureContext). */
  onChange(l: (m: TlsMaterial) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * A gRPC server that asks every client for a certificate but lets those
   * without one in (a joining host fetches the CA and presents its token):
   * each method checks the peer itself (grpc-js gives a handler the peer's
   * certificate only when it verified against these roots).
   */
  serverCredentials(): grpc.ServerCredentials {
    return grpc.experimental.createCertificateProviderServerCredentials(this.provider, this.provider, false);
  }

  /**
   * Channel credentials: the server's certificate must chain to our roots and, by default, name
   * the manager role (agents reach managers by addresses that may change); `byAddress` checks
   * the dialled address against the certificate's names instead (etcd members).
   */
  channelCredentials(check: 'manager' | 'byAddress' = 'manager'): grpc.ChannelCredentials {
    return grpc.experimental.createCertificateProviderChannelCredentials(this.provider, this.provider, check === 'manager' ? { checkServerIdentity: requireRole('manager') } : {});
  }

  /**
   * Re-reads the files every `intervalMs` (the agent renews them; both of a
   * manager host's processes use them). A certificate whose key is not yet
   * beside it (caught between two renames) is read again next time.
   */
  watchFiles(files: { ca: string; cert: string; key: string }, intervalMs = 2000): void {
    this.stopWatching();
    let last = '';
    const check = () => {
      const stamp = [files.ca, files.cert, files.key].map((f) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0).join(':');
      if (stamp === last) return;
      const m = readMaterial(files);
      if (!m) return;
      last = stamp;
      this.update(m);
    };
    this.timer = setInterval(check, intervalMs);
    this.timer.unref();
  }

  stopWatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}


/** The files' material, or null when a file is missing or the key does not match the certificate. */
export function readMaterial(files: { ca: string; cert: string; key: string }): TlsMaterial | null {
  const ca = readIfExists(files.ca);
  const cert = readIfExists(files.cert);
  const key = readIfExists(files.key);
  if (!ca || !cert || !key || !keyMatches(cert, key)) return null;
  return { ca, cert, key };
}
