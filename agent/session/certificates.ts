/**
 * The agent keeps its host's certificates current: it renews the node
 * certificate at a random point in the second half of its validity (so a
 * cluster's nodes do not all renew at once), at once when a manager says the
 * cluster's roots changed, and when the node's role changes. A renewal is a
 * new key and CSR sent over the session's own mutual TLS; the files are
 * replaced atomically and every process of the host (this agent, the
 * manager beside it) picks them up for its next connections. Open
 * connections, the session among them, are not dropped.
 */
import * as fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { callDispatcher } from '../../shared/proto/load';
import { certFiles, writeFilesAtomic, type CertFiles } from '../../shared/pki/node-files';
import { readMaterial, TlsIdentity } from '../../shared/pki/tls-identity';
import { caDigest, certInfo, signedBy, splitPem, trustDigest, validityProblem } from '../../shared/pki/certificate';
import type { CertRole } from '../../shared/pki/roles';
import type { Logger } from '../../shared/log';

export interface NodeIdentity {
  tls: TlsIdentity;
  files: CertFiles;
  nodeId: string;
  role: CertRole;
}

export class IdentityError extends Error {}

/** This host's identity from its files; a one-line error when they are missing or not valid now. */
export function loadNodeIdentity(dataRoot: string): NodeIdentity {
  const files = certFiles(dataRoot);
  const m = readMaterial(files);
  if (!m) throw new IdentityError(`no node certificate in ${files.dir}: join the host with tsswarm join --token TOKEN MANAGER`);
  const leaf = new X509Certificate(m.cert);
  const problem = validityProblem(leaf);
  if (problem) throw new IdentityError(`this node's ${problem}; join it again if it expired`);
  const info = certInfo(leaf);
  if (!info.role || info.role === 'client') throw new IdentityError(`${files.cert} is not a node certificate`);
  return { tls: new TlsIdentity(m), files, nodeId: info.commonName, role: info.role };
}

interface RenewAnswer {
  node_id: string;
  role: string;
  cert_pem: string;
  trust_pem: string;
  etcd_cert_pem: string;
}

function callRenew(addr: string, tls: TlsIdentity, req: { csr_pem: string; etcd_csr_pem: string }): Promise<RenewAnswer> {
  return callDispatcher<RenewAnswer>(addr, tls.channelCredentials(), 'Renew', req, 10000).catch((e: grpc.ServiceError) => {
    throw new Error(`${addr}: ${e.details || e.message}`);
  });
}

/**
 * Renews through the first manager that answers. `etcd`: also an etcd member
 * certificate (a manager host); a host that is no longer a manager loses its
 * etcd files. Returns the role the new certificate names.
 */
export async function renewCertificates(managers: string[], id: NodeIdentity, etcd: boolean, log: Logger): Promise<CertRole> {
  const { newKeyAndCsr } = await import('../../shared/pki/issue');
  const node = await newKeyAndCsr();
  const etcdKey = etcd ? await newKeyAndCsr() : null;
  let last: Error | null = null;
  for (const addr of managers) {
    try {
      const a = await callRenew(addr, id.tls, { csr_pem: node.csrPem, etcd_csr_pem: etcdKey?.csrPem ?? '' });
      if (a.node_id !== id.nodeId) throw new Error(`the manager issued a certificate for ${a.node_id}`);
      const writes = [
        { file: id.files.ca, data: a.trust_pem },
        { file: id.files.key, data: node.keyPem, secret: true },
        { file: id.files.cert, data: a.cert_pem },
      ];
      if (a.etcd_cert_pem && etcdKey) writes.push({ file: id.files.etcdKey, data: etcdKey.keyPem, secret: true }, { file: id.files.etcdCert, data: a.etcd_cert_pem });
      writeFilesAtomic(writes);
      if (a.role !== 'manager') for (const f of [id.files.etcdCert, id.files.etcdKey]) fs.rmSync(f, { force: true });
      id.tls.update({ ca: a.trust_pem, cert: a.cert_pem, key: node.keyPem });
      id.role = a.role as CertRole;
      const until = new X509Certificate(a.cert_pem).validTo;
      log.info(`certificate renewed through ${addr}: ${a.role}, valid until ${new Date(until).toISOString()}`);
      return id.role;
    } catch (e) {
      last = e as Error;
    }
  }
  throw new Error(`renewing the node certificate: ${last?.message ?? 'no manager known'}`);
}

/**
 * True when the cluster's CA moved on from what this host holds: its roots are not the cluster's,
 * or its certificate is not from the root that signs now (a rotation began, or just ended).
 */
export function needsRenewal(m: { ca: string; cert: string }, signer: string, trust: string): boolean {
  if (trustDigest(m.ca) !== trust) return true;
  const root = splitPem(m.ca).map((p) => new X509Certificate(p)).find((r) => caDigest(r) === signer);
  const leaf = new X509Certificate(splitPem(m.cert)[0]!);
  return !root || !signedBy(leaf, root);
}

/** When to renew a certificate valid from `from` to `to`: a random point of its second half. */
export function renewalTime(from: number, to: number, random = Math.random()): number {
  const half = (to - from) / 2;
  return from + half + random * half * 0.9;
}

/** Renews when renewalTime says, again after each renewal; failures retry with backoff. */
export class RenewalSchedule {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** A failed renewal waits for its retry; asking again meanwhile (every heartbeat) changes nothing. */
  private retrying = false;
  private stopped = false;

  constructor(
    private readonly id: NodeIdentity,
    private readonly managers: () => string[],
    private readonly etcd: () => boolean,
    private readonly log: Logger,
  ) {}

  start(): void {
    const leaf = new X509Certificate(this.id.tls.current.cert);
    this.at(renewalTime(Date.parse(leaf.validFrom), Date.parse(leaf.validTo)));
  }

  private at(when: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    // setTimeout holds at most ~24.8 days; a later renewal is re-planned when that runs out.
    const delay = Math.min(Math.max(0, when - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => (when - Date.now() > 1000 ? this.at(when) : void this.renewNow()), delay);
    this.timer.unref();
  }

  /** Renews now (also when a manager says the roots changed); retried until it works. */
  async renewNow(attempt = 0, retry = false): Promise<void> {
    if (this.running || this.stopped || (this.retrying && !retry)) return;
    this.running = true;
    this.retrying = false;
    try {
      await renewCertificates(this.managers(), this.id, this.etcd(), this.log);
      this.running = false;
      this.start();
    } catch (e) {
      this.running = false;
      const wait = Math.min(30_000, 500 * 2 ** attempt);
      this.log.warn(`${(e as Error).message}; trying again in ${wait} ms`);
      this.retrying = true;
      this.timer = setTimeout(() => void this.renewNow(attempt + 1, true), wait);
      this.timer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
