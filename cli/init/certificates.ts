/**
 * The certificates `tsswarm init` and `tsswarm join` leave in the data root.
 *
 * init makes the cluster's root CA and signs this host's node and etcd
 * certificates with it; the manager's first start moves the root key into
 * the store (manager/ca/bootstrap.ts).
 *
 * join checks the manager before it trusts it: it fetches the roots over TLS
 * without verifying (nothing secret is sent), keeps only the root whose
 * digest the token names, then sends the token and its CSRs over TLS pinned
 * to that root, to a peer holding a manager certificate from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import type * as Grpc from '@grpc/grpc-js';
import { newId } from '../../shared/ids';
import { InvalidArgumentError, TsswarmError } from '../../shared/errors';
import { caDigest, parseCertificates, validityProblem } from '../../shared/pki/certificate';
import { certFiles, writeFilesAtomic } from '../../shared/pki/node-files';
import { writeBootstrap } from '../../shared/pki/bootstrap-file';
import { parseJoinToken } from '../../shared/pki/join-token';
import { ETCD_CN, namesFor, requireRole } from '../../shared/pki/roles';
import type { RoleWire } from '../../shared/proto/role';
import { ROOT_VALIDITY_MS } from '../../shared/pki/validity';

export class JoinRefusedError extends TsswarmError {
  readonly code = 'JOIN_REFUSED';
}


/** Where `init` and `join` record the node id (the agent checks it against its certificate). */
function writeNodeId(dataRoot: string, id: string): void {
  const file = path.join(dataRoot, 'agent', 'node-id');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${id}\n`);
}

/** True when the host already has its certificates (a restarted init keeps its identity). */
export function hasCertificates(dataRoot: string): boolean {
  const f = certFiles(dataRoot);
  return fs.existsSync(f.cert) && fs.existsSync(f.key) && fs.existsSync(f.ca);
}

/** A new cluster CA and this host's certificates as its first manager. Returns the node id. */
export async function initCertificates(dataRoot: string, advertise: string, opts: { certExpiryMs: number; autolock: boolean }): Promise<string> {
  const { createRootCa, issueLeaf, newKeyAndCsr } = await import('../../shared/pki/issue');
  const files = certFiles(dataRoot);
  const clusterId = newId();
  const nodeId = newId();
  const root = await createRootCa('tsswarm-root-ca', ROOT_VALIDITY_MS);
  const signer = { certPem: root.certPem, keyPem: root.keyPem };
  const node = await newKeyAndCsr();
  const etcd = await newKeyAndCsr();
  const nodeCert = await issueLeaf(signer, { csrPem: node.csrPem, commonName: nodeId, role: 'manager', clusterId, ...namesFor('manager', advertise), validityMs: opts.certExpiryMs });
  const etcdCert = await issueLeaf(signer, { csrPem: etcd.csrPem, commonName: ETCD_CN, role: 'manager', clusterId, ...namesFor('etcd', advertise), validityMs: opts.certExpiryMs });
  writeBootstrap(files.dir, { clusterId, rootKeyPem: root.keyPem, certExpiryMs: opts.certExpiryMs, autolock: opts.autolock });
  writeFilesAtomic([
    { file: files.ca, data: root.certPem },
    { file: files.key, data: node.keyPem, secret: true },
    { file: files.cert, data: nodeCert },
    { file: files.etcdKey, data: etcd.keyPem, secret: true },
    { file: files.etcdCert, data: etcdCert },
  ]);
  writeNodeId(dataRoot, nodeId);
  return nodeId;
}

/** Copies `--etcd-cacert/--etcd-cert/--etcd-key` into the data root (checked: each must parse). */
export function keepExternalEtcdCredentials(dataRoot: string, paths: { ca: string | null; cert: string | null; key: string | null }): void {
  const given = [paths.ca, paths.cert, paths.key].filter((p) => p !== null).length;
  if (given === 0) return;
  if (!paths.ca) throw new InvalidArgumentError('--etcd-cert and --etcd-key need --etcd-cacert');
  if ((paths.cert === null) !== (paths.key === null)) throw new InvalidArgumentError('--etcd-cert and --etcd-key go together');
  const read = (p: string, flag: string) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch (e) {
      throw new InvalidArgumentError(`--${flag} ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  };
  const ca = read(paths.ca, 'etcd-cacert');
  parseCertificates(ca, `--etcd-cacert ${paths.ca}`);
  const writes: { file: string; data: string; secret?: boolean }[] = [{ file: certFiles(dataRoot).externalEtcd.ca, data: ca }];
  if (paths.cert && paths.key) {
    const cert = read(paths.cert, 'etcd-cert');
    parseCertificates(cert, `--etcd-cert ${paths.cert}`);
    const key = read(paths.key, 'etcd-key');
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new InvalidArgumentError(`--etcd-key ${paths.key}: not a PEM private key`);
    writes.push({ file: certFiles(dataRoot).externalEtcd.cert, data: cert }, { file: certFiles(dataRoot).externalEtcd.key, data: key, secret: true });
  }
  writeFilesAtomic(writes);
}

interface JoinAnswer {
  host: RoleWire;
  certs: { node_id: string; role: string; cert_pem: string; trust_pem: string; etcd_cert_pem: string };
  external_etcd_ca: string;
  external_etcd_cert: string;
  external_etcd_key: string;
}

async function call<T>(addr: string, creds: Grpc.ChannelCredentials, method: string, req: object): Promise<T> {
  const grpc = await import('@grpc/grpc-js');
  const { callDispatcher } = await import('../../shared/proto/load');
  try {
    return await callDispatcher<T>(addr, creds, method, req, 30000);
  } catch (err) {
    const e = err as Grpc.ServiceError;
    if (e.code === grpc.status.FAILED_PRECONDITION || e.code === grpc.status.PERMISSION_DENIED) throw new JoinRefusedError(`the manager refused this node: ${e.details}`);
    throw new JoinRefusedError(`could not reach the manager at ${addr}: ${e.details || e.message}`);
  }
}

/**
 * The root the token names, as the manager at `addr` serves it; a manager
 * whose roots do not include it is refused before the token leaves this host.
 */
export async function pinnedRoot(addr: string, token: string): Promise<string> {
  const grpc = await import('@grpc/grpc-js');
  const { caDigest: want } = parseJoinToken(token);
  // Unverified on purpose: what comes back is checked against the digest, and nothing is sent.
  const open = grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
  const { trust_pem } = await call<{ trust_pem: string }>(addr, open, 'GetRootCA', {});
  const roots = parseCertificates(trust_pem, `the CA certificate of the manager at ${addr}`);
  const match = roots.find((r) => caDigest(r) === want);
  if (!match) throw new JoinRefusedError(`the manager at ${addr} has another CA than the token names (digest ${caDigest(roots[0]!).slice(0, 12)}…, the token's ${want.slice(0, 12)}…): refusing to send it the token`);
  return match.toString();
}

export interface Joined {
  nodeId: string;
  role: 'manager' | 'worker';
  host: RoleWire;
}

/** Joins through the manager at `addr` and writes this host's certificates. */
export async function joinWithToken(dataRoot: string, addr: string, token: string, req: { hostname: string; addr: string; etcd_peer_url: string }): Promise<Joined> {
  const grpc = await import('@grpc/grpc-js');
  const { newKeyAndCsr } = await import('../../shared/pki/issue');
  const root = await pinnedRoot(addr, token);
  const node = await newKeyAndCsr();
  const etcd = await newKeyAndCsr();
  const pinned = grpc.credentials.createSsl(Buffer.from(root), null, null, { checkServerIdentity: requireRole('manager') });
  const a = await call<JoinAnswer>(addr, pinned, 'Join', { token, ...req, csr_pem: node.csrPem, etcd_csr_pem: etcd.csrPem });
  const role = a.certs.role === 'manager' ? 'manager' : 'worker';
  // A host whose clock is far behind the manager's would hold a certificate "not yet valid".
  const problem = validityProblem(new X509Certificate(a.certs.cert_pem));
  if (problem) throw new JoinRefusedError(`the manager's ${problem}`);
  const files = certFiles(dataRoot);
  fs.rmSync(files.dir, { recursive: true, force: true });
  const writes: { file: string; data: string; secret?: boolean }[] = [
    { file: files.ca, data: a.certs.trust_pem },
    { file: files.key, data: node.keyPem, secret: true },
    { file: files.cert, data: a.certs.cert_pem },
  ];
  if (role === 'manager' && a.certs.etcd_cert_pem) writes.push({ file: files.etcdKey, data: etcd.keyPem, secret: true }, { file: files.etcdCert, data: a.certs.etcd_cert_pem });
  if (a.external_etcd_ca) writes.push({ file: files.externalEtcd.ca, data: a.external_etcd_ca });
  if (a.external_etcd_cert) writes.push({ file: files.externalEtcd.cert, data: a.external_etcd_cert }, { file: files.externalEtcd.key, data: a.external_etcd_key, secret: true });
  writeFilesAtomic(writes);
  // The certificate says who this host is now; it must be what the manager said.
  if (new X509Certificate(a.certs.cert_pem).subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) !== a.certs.node_id) throw new JoinRefusedError('the manager sent a certificate for another node');
  writeNodeId(dataRoot, a.certs.node_id);
  return { nodeId: a.certs.node_id, role, host: a.host };
}
