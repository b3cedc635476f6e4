import type { PeerCertificate } from 'node:tls';

/**
 * What a certificate says about its holder. The subject's CN is the node id,
 * its OU the role, its O the cluster id (as SwarmKit's node certificates);
 * the manager decides all three, never the requester.
 */
export type CertRole = 'manager' | 'worker' | 'client';

export const ROLE_OU: Record<CertRole, string> = {
  manager: 'tsswarm-manager',
  worker: 'tsswarm-worker',
  // `tsswarm ca client-cert`: an operator's CLI on another machine (the TCP API).
  client: 'tsswarm-client',
};

export function roleOfOu(ou: string | undefined): CertRole | null {
  for (const [role, name] of Object.entries(ROLE_OU)) if (name === ou) return role as CertRole;
  return null;
}

/** One field of a TLS peer's subject (Node gives a string, or an array when repeated). */
export function peerSubject(cert: PeerCertificate | undefined, field: 'CN' | 'OU' | 'O'): string | undefined {
  const v = cert?.subject?.[field] as string | string[] | undefined;
  return Array.isArray(v) ? v[0] : v;
}

/** The role a peer's certificate names, or null. */
export function peerRole(cert: PeerCertificate | undefined): CertRole | null {
  return roleOfOu(peerSubject(cert, 'OU'));
}

/** A TLS checkServerIdentity that accepts a verified certificate of the given role, whatever address was dialled. */
export function requireRole(role: CertRole): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => (peerRole(cert) === role ? undefined : new Error(`the peer's certificate is not a ${role}'s (OU ${String(cert.subject?.OU)})`));
}

/**
 * The etcd members' certificate (server, peer and the managers' client one):
 * its own CN, so etcd's CN-based auth admits managers only, and
 * --peer-cert-allowed-cn admits only members as peers.
 */
export const ETCD_CN = 'tsswarm-etcd';

/** The DNS name every manager certificate carries: agents check the role, not an address that may change. */
export const MANAGER_DNS_NAME = 'tsswarm-manager';

/** The names a certificate of this role (or an etcd member's) carries for the host at `addr`. */
export function namesFor(role: CertRole | 'etcd', addr: string): { ips: string[]; dnsNames: string[] } {
  const ips = [...new Set([addr, '127.0.0.1'])].filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  if (role === 'manager') return { ips, dnsNames: [MANAGER_DNS_NAME] };
  if (role === 'etcd') return { ips, dnsNames: [ETCD_CN] };
  return { ips: [], dnsNames: [] };
}
