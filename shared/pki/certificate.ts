/**
 * Reading certificates (Node's own X509Certificate: parsing and signature
 * checks need no library). A PEM here may hold a chain: the leaf first.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { InvalidArgumentError } from '../errors';
import { roleOfOu, type CertRole } from './roles';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, in order. */
export function splitPem(pem: string): string[] {
  return (pem.match(PEM_BLOCK) ?? []).map((b) => `${b}\n`);
}

/** Parses every certificate of `pem`; `what` names the file or field for the one-line error. */
export function parseCertificates(pem: string, what: string): X509Certificate[] {
  const blocks = splitPem(pem);
  if (blocks.length === 0) throw new InvalidArgumentError(`${what}: no PEM certificate in it`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new InvalidArgumentError(`${what}: certificate ${i + 1} does not parse (${(e as Error).message})`);
    }
  });
}

/** One field of a subject (`CN=x\nOU=y\nO=z` in Node's form). */
export function subjectField(subject: string, field: 'CN' | 'OU' | 'O'): string | undefined {
  for (const line of subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(0, eq) === field) return line.slice(eq + 1);
  }
  return undefined;
}

export interface CertInfo {
  /** CN: the node id (or ETCD_CN, or a client's name). */
  commonName: string;
  role: CertRole | null;
  /** O: the cluster id. */
  clusterId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** Digest of the certificate that signed it, when it is one of `roots` given to certInfo. */
  issuer: string;
}

export function certInfo(cert: X509Certificate): CertInfo {
  return {
    commonName: subjectField(cert.subject, 'CN') ?? '',
    role: roleOfOu(subjectField(cert.subject, 'OU')),
    clusterId: subjectField(cert.subject, 'O') ?? '',
    serial: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    issuer: cert.issuer,
  };
}

/**
 * A root's digest as join tokens carry it: SHA-256 of its DER, in base 36,
 * 50 digits (the form `docker swarm join-token` prints).
 */
export function caDigest(cert: X509Certificate): string {
  const hex = createHash('sha256').update(cert.raw).digest('hex');
  return BigInt(`0x${hex}`).toString(36).padStart(50, '0');
}

/**
 * Why `cert` is not valid at `now`, or null. The clock-skew case gets its own
 * words: a node whose clock is behind sees a fresh certificate as "not yet valid".
 */
export function validityProblem(cert: X509Certificate, now = new Date()): string | null {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) return `certificate is not valid until ${from.toISOString()}: this host's clock (${now.toISOString()}) is behind; fix the clock (NTP)`;
  if (now > to) return `certificate expired at ${to.toISOString()}`;
  return null;
}

/** One digest for a set of roots (the trust bundle), so hosts can tell whether theirs is current. */
export function trustDigest(pem: string): string {
  const h = createHash('sha256');
  for (const b of splitPem(pem)) h.update(new X509Certificate(b).raw);
  return h.digest('hex');
}

/** True when `leaf` was signed by `issuer`'s key. */
export function signedBy(leaf: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);
  } catch {
    return false;
  }
}
