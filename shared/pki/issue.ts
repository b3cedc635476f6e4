/**
 * Making keys, CSRs and certificates. A node makes its key and a CSR; a
 * manager holding the root key signs it with a subject and names it chose;
 * the root itself is made once, at `tsswarm init` (and at `ca --rotate`).
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { InvalidArgumentError } from '../errors';
import { EC_ALGORITHM, x509 } from './x509-lib';
import { ROLE_OU, type CertRole } from './roles';

const subtle = webcrypto.subtle;

export interface KeyAndCsr {
  /** PKCS#8 PEM: what Node's TLS and etcd read. */
  keyPem: string;
  csrPem: string;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function importKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const b64 = keyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), EC_ALGORITHM, false, ['sign']);
}

/** A new private key and a CSR for it (the subject is the manager's to choose; the CSR only proves the key). */
export async function newKeyAndCsr(): Promise<KeyAndCsr> {
  const keys = await newKeys();
  const csr = await x509().Pkcs10CertificateRequestGenerator.create({ name: 'CN=tsswarm-node', keys, signingAlgorithm: EC_ALGORITHM });
  return { keyPem: toPem(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

/** A positive 128-bit serial (RFC 5280 asks for at most 20 octets, positive). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

/** Certificates start a minute early, so a fresh one is valid on hosts whose clocks lag a little. */
const BACKDATE_MS = 60_000;

export interface RootCa {
  certPem: string;
  keyPem: string;
}

/** A self-signed root (the cluster CA): ECDSA P-256, valid `validityMs` (Swarm: 20 years). */
export async function createRootCa(name: string, validityMs: number, now = Date.now()): Promise<RootCa> {
  const lib = x509();
  const keys = await newKeys();
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + validityMs),
    keys,
    signingAlgorithm: EC_ALGORITHM,
    extensions: [
      new lib.BasicConstraintsExtension(true, 1, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: toPem(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
}

export interface Signer {
  /** The signing certificate (a root, or a cross-signed one during rotation is not a signer). */
  certPem: string;
  keyPem: string;
}

export interface LeafRequest {
  csrPem: string;
  /** CN: the node id, ETCD_CN, or a client's name. */
  commonName: string;
  role: CertRole;
  clusterId: string;
  ips?: string[];
  dnsNames?: string[];
  validityMs: number;
}

/** Checks the CSR (it parses, its signature proves the key) and returns its public key. */
async function csrKey(csrPem: string): Promise<webcrypto.CryptoKey> {
  const lib = x509();
  let csr: InstanceType<typeof lib.Pkcs10CertificateRequest>;
  try {
    csr = new lib.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new InvalidArgumentError('the certificate request does not parse');
  }
  if (!(await csr.verify())) throw new InvalidArgumentError('the certificate request is not signed by its key');
  try {
    return await csr.publicKey.export(EC_ALGORITHM, ['verify']);
  } catch {
    throw new InvalidArgumentError('the certificate request must be for an ECDSA P-256 key');
  }
}

/** Signs a leaf certificate for TLS on both ends (server and client auth). */
export async function issueLeaf(signer: Signer, req: LeafRequest, now = Date.now()): Promise<string> {
  const lib = x509();
  const issuer = new lib.X509Certificate(signer.certPem);
  const publicKey = await csrKey(req.csrPem);
  const names = [...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), ...(req.ips ?? []).map((value) => ({ type: 'ip' as const, value }))];
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [req.commonName] }, { OU: [ROLE_OU[req.role]] }, { O: [req.clusterId] }],
    issuer: issuer.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + req.validityMs),
    signingAlgorithm: EC_ALGORITHM,
    publicKey,
    signingKey: await importKey(signer.keyPem),
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyAgreement, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth, lib.ExtendedKeyUsage.clientAuth]),
      await lib.AuthorityKeyIdentifierExtension.create(issuer),
      ...(names.length ? [new lib.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  return cert.toString('pem') + '\n';
}

/**
 * The new root's key signed by the old root: during a rotation, certificates
 * issued by the new root carry it in their chain, so hosts that trust only the
 * old root still accept them.
 */
export async function crossSign(oldRoot: Signer, newRootPem: string, now = Date.now()): Promise<string> {
  const lib = x509();
  const next = new lib.X509Certificate(newRootPem);
  const old = new lib.X509Certificate(oldRoot.certPem);
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: next.subject,
    issuer: old.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: next.notAfter,
    signingAlgorithm: EC_ALGORITHM,
    publicKey: next.publicKey,
    signingKey: await importKey(oldRoot.keyPem),
    extensions: [
      new lib.BasicConstraintsExtension(true, 0, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(next.publicKey),
      await lib.AuthorityKeyIdentifierExtension.create(old),
    ],
  });
  return cert.toString('pem') + '\n';
}

/** True when `keyPem` is the private key of `certPem` (a node's files belong together). */
export function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}
