/**
 * Who is calling: the node its certificate names. grpc-js hands a method the
 * peer's certificate only when it verified against the cluster's roots, so a
 * call without one, with a self-signed or an expired one, has no peer here.
 * The cluster id (O), the role (OU) and the revocation list are checked on top.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { ETCD_CN, peerRole, peerSubject, type CertRole } from '../../shared/pki/roles';
import type { RevokedNodes } from '../ca/revoked';

export interface Peer {
  nodeId: string;
  role: CertRole;
}

export class PeerRefusal extends Error {
  constructor(
    readonly grpcCode: grpc.status,
    message: string,
    /** The certificate is of a node removed from the cluster. */
    readonly revoked = false,
  ) {
    super(message);
  }
}

interface HasAuth {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}


/**
 * The calling node, allowed one of `roles`, or a PeerRefusal: UNAUTHENTICATED
 * without a valid certificate of this cluster, PERMISSION_DENIED for a role
 * not allowed here or a removed node.
 */
export function requirePeer(call: HasAuth, clusterId: string, roles: CertRole[], revoked: RevokedNodes): Peer {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert) throw new PeerRefusal(grpc.status.UNAUTHENTICATED, 'a certificate of this cluster is required (join the host with a token)');
  if (peerSubject(cert, 'O') !== clusterId) throw new PeerRefusal(grpc.status.UNAUTHENTICATED, 'the certificate is not of this cluster');
  const role = peerRole(cert);
  const nodeId = peerSubject(cert, 'CN') ?? '';
  if (role === null || nodeId === '' || nodeId === ETCD_CN) throw new PeerRefusal(grpc.status.PERMISSION_DENIED, 'the certificate names no node');
  if (!roles.includes(role)) throw new PeerRefusal(grpc.status.PERMISSION_DENIED, `a ${role} certificate may not call this (${roles.join(' or ')} only)`);
  if (revoked.has(nodeId)) throw new PeerRefusal(grpc.status.PERMISSION_DENIED, 'this node was removed from the cluster; join it again with a token', true);
  return { nodeId, role };
}
