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

/**
 * The etcd members' certificate (server, peer and the managers' client one):
 * its own CN, so etcd's CN-based auth admits managers only, and
 * --peer-cert-allowed-cn admits only members as peers.
 */
export const ETCD_CN = 'tsswarm-etcd';

/** The DNS name every manager certificate carries: agents check the role, not an address that may change. */
export const MANAGER_DNS_NAME = 'tsswarm-manager';
