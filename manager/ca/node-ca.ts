/**
 * The managers' side of the cluster CA: it signs node certificates (subject
 * and names chosen here from what the cluster knows, never from the CSR) and
 * the etcd members' certificates, with the root key it opens from the store
 * with the data key.
 */
import { X509Certificate } from 'node:crypto';
import type { Cluster, NodeRole } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import { caDigest } from '../../shared/pki/certificate';
import { Keys } from '../../shared/keys';
import { NotFoundError } from '../../shared/errors';
import { issueLeaf } from '../../shared/pki/issue';
import { ETCD_CN, namesFor, type CertRole } from '../../shared/pki/roles';
import type { Store } from '../store/store';
import { open } from '../keys/seal';
import { beginRotation } from './rotation';
import { DEFAULT_CERT_EXPIRY_MS, type CaRecord, type CertRecord } from './ca-record';

export interface IssuedChain {
  /** Leaf first, then the cross-signed root during a rotation. */
  certPem: string;
  /** The roots to trust from now on. */
  trustPem: string;
}


export class NodeCa {
  constructor(
    private readonly store: Store,
    /** The cluster's data key; throws while a locked manager has none. */
    private readonly dek: () => Buffer,
  ) {}

  async record(): Promise<CaRecord> {
    const r = await this.store.get<CaRecord>(Keys.ca);
    if (!r) throw new NotFoundError('the cluster has no CA yet');
    return r.value;
  }

  async trustPem(): Promise<string> {
    return (await this.record()).trust.join('');
  }

  private async settings(): Promise<{ clusterId: string; expiryMs: number }> {
    const c = await this.store.get<Cluster>(Keys.cluster);
    if (!c) throw new NotFoundError('the cluster is not initialised yet');
    return { clusterId: c.value.id, expiryMs: c.value.certExpiryMs ?? DEFAULT_CERT_EXPIRY_MS };
  }

  private async sign(csrPem: string, commonName: string, role: CertRole, names: { ips: string[]; dnsNames: string[] }, opts: { expiryMs?: number; etcd?: boolean } = {}): Promise<IssuedChain & { leafPem: string; issuer: string }> {
    const [ca, s] = await Promise.all([this.record(), this.settings()]);
    const keyPem = open(this.dek(), Keys.ca, ca.signer.key).toString();
    const leaf = await issueLeaf({ certPem: ca.signer.certPem, keyPem }, { csrPem, commonName, role, clusterId: s.clusterId, ...names, validityMs: opts.expiryMs ?? s.expiryMs });
    const extra = ca.crossSigned ?? (opts.etcd ? (ca.etcdChain ?? '') : '');
    return { certPem: leaf + extra, trustPem: ca.trust.join(''), leafPem: leaf, issuer: caDigest(new X509Certificate(ca.signer.certPem)) };
  }

  /** A node's certificate: CN its id, OU its role; recorded, so a CA rotation knows who still has to renew. */
  async issueNode(csrPem: string, nodeId: string, role: NodeRole, addr: string): Promise<IssuedChain> {
    const issued = await this.sign(csrPem, nodeId, role, namesFor(role, addr));
    const leaf = new X509Certificate(issued.leafPem);
    const rec: CertRecord = { v: SCHEMA_VERSION, nodeId, serial: leaf.serialNumber.toLowerCase(), issuer: issued.issuer, notAfter: new Date(leaf.validTo).toISOString(), issuedAt: new Date().toISOString() };
    await this.store.commit([{ put: Keys.certRecord(nodeId), value: rec, guard: null }]);
    return issued;
  }

  /** A manager host's etcd certificate (member and client): CN and DNS name ETCD_CN. */
  issueEtcd(csrPem: string, addr: string): Promise<IssuedChain> {
    return this.sign(csrPem, ETCD_CN, 'manager', namesFor('etcd', addr), { etcd: true });
  }

  /** `ca --rotate`: a new root, cross-signed (manager/ca/rotation.ts). */
  rotate(): Promise<void> {
    return beginRotation(this.store, this.dek());
  }

  /** An operator's client certificate for the TCP API. */
  issueClient(csrPem: string, name: string, expiryMs?: number): Promise<IssuedChain> {
    return this.sign(csrPem, name, 'client', { ips: [], dnsNames: [] }, expiryMs === undefined ? {} : { expiryMs });
  }
}
