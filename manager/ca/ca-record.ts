/**
 * The cluster CA as stored in etcd (Keys.ca): the roots nodes trust, the
 * signing root with its key sealed under the DEK, and during a rotation the
 * new root cross-signed by the old one. Only managers read it; the key never
 * leaves them in the clear.
 */
import type { Sealed } from '../keys/seal';

export interface CaRecord {
  v: number;
  /** PEM roots every node trusts: one, or the old and the new during `ca --rotate`. */
  trust: string[];
  /** The root that signs node certificates now. */
  signer: { certPem: string; key: Sealed };
  /**
   * The signer cross-signed by the previous root while a rotation is under way (null otherwise):
   * issued chains carry it, so hosts still trusting only the old root accept the new certificates.
   */
  crossSigned: string | null;
  /** A rotation under way: the root being retired (its certificate), and since when. */
  rotation: { fromCertPem: string; startedAt: string } | null;
  /**
   * The last rotation's cross-signed root, kept in etcd members' chains after the rotation ends:
   * etcd reads its trusted roots only when it starts, so a member not restarted since still
   * trusts only the old root, and must accept its peers' and the managers' new certificates.
   */
  etcdChain?: string | null;
}

/** What the CA last issued to a node (Keys.certRecord): the leader's rotation waits on these. */
export interface CertRecord {
  v: number;
  nodeId: string;
  serial: string;
  /** caDigest of the root that signed it. */
  issuer: string;
  notAfter: string;
  issuedAt: string;
}

export { DEFAULT_CERT_EXPIRY_MS, MIN_CERT_EXPIRY_MS, ROOT_VALIDITY_MS } from '../../shared/pki/validity';
