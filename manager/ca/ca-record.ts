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
}

/** Validity of the cluster's roots (Swarm: 20 years). */
export const ROOT_VALIDITY_MS = 20 * 365 * 24 * 3600_000;

/** Default validity of node certificates (Swarm: 90 days). */
export const DEFAULT_CERT_EXPIRY_MS = 90 * 24 * 3600_000;

/** The shortest `--cert-expiry` accepted (Swarm: 1 hour; tests need shorter, so a minute). */
export const MIN_CERT_EXPIRY_MS = 60_000;
