/**
 * HTTPS between hosts with the node's certificate on both ends: the cluster
 * registry's server side (every client must present a node certificate) and
 * a fetch that presents ours and accepts only a manager's. Built on undici,
 * the library behind Node's own fetch, for its per-client TLS options.
 */
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Agent } from 'undici';
import type { TlsIdentity } from './tls-identity';
import { peerRole, peerSubject, requireRole, type CertRole } from './roles';
import type { Fetch } from '../fetch';

export type { Fetch } from '../fetch';

/**
 * A fetch presenting this host's certificate, to managers only; follows renewals and new roots.
 * undici (~45 ms to load) is loaded shortly after, not while a process starts.
 */
export function managerFetch(tls: TlsIdentity): Fetch {
  let agent: Agent | null = null;
  let lib: typeof import('undici') | null = null;
  const make = () => {
    if (!lib) return;
    const m = tls.current;
    const old = agent;
    agent = new lib.Agent({ connect: { ca: m.ca, cert: m.cert, key: m.key, checkServerIdentity: requireRole('manager') } });
    // Requests under way finish on the old one.
    void old?.close().catch(() => undefined);
  };
  tls.onChange(make);
  const load = (): typeof import('undici') => {
    if (!lib) {
      lib = require('undici') as typeof import('undici');
      make();
    }
    return lib;
  };
  // Loaded while the process waits for something else, so a first pull does not wait for it.
  setTimeout(load, 200).unref();
  return (url, init) => load().fetch(url, { ...(init as object), dispatcher: agent! }) as unknown as Promise<Response>;
}

/** An HTTPS server that asks for a client certificate; handlers check it with `clientOf`. */
export function createMutualTlsServer(tls: TlsIdentity, handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): https.Server {
  const m = tls.current;
  const server = https.createServer({ ca: m.ca, cert: m.cert, key: m.key, requestCert: true, rejectUnauthorized: false }, handler);
  tls.onChange((n) => server.setSecureContext({ ca: n.ca, cert: n.cert, key: n.key }));
  return server;
}

export interface TlsClient {
  commonName: string;
  role: CertRole;
  clusterId: string;
}

/** The verified client of a request (its certificate chains to our roots), or null. */
export function clientOf(req: IncomingMessage): TlsClient | null {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  const role = peerRole(cert);
  if (!role) return null;
  return { commonName: peerSubject(cert, 'CN') ?? '', role, clusterId: peerSubject(cert, 'O') ?? '' };
}
