/**
 * Root CA rotation without downtime (`tsswarm ca --rotate`), as SwarmKit does it:
 *   1. begin: a new root, cross-signed by the old one; every node is told to
 *      trust both and gets, on renewal, a certificate from the new root whose
 *      chain carries the cross-signed root (hosts still trusting only the old
 *      root accept it); join tokens name the new root;
 *   2. the leader's loop waits until every node that is not down holds a
 *      certificate from the new root (Keys.certs, written at each issue);
 *   3. finish: the old root is retired, trust is the new root alone, and an
 *      old-root certificate is refused from then on.
 * Agents learn of each step from their manager's heartbeats (signer and trust
 * digests) and renew at once.
 */
import { X509Certificate } from 'node:crypto';
import type { Cluster, ClusterNode } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { ConflictError, NotFoundError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { caDigest } from '../../shared/pki/certificate';
import { newJoinToken } from '../../shared/pki/join-token';
import type { Store, StoreWriter } from '../store/store';
import { ReconcileLoop } from '../orchestrator/loop';
import { open, seal } from '../keys/seal';
import { ROOT_VALIDITY_MS, type CaRecord, type CertRecord } from './ca-record';

export interface RotationStatus {
  rotating: boolean;
  /** caDigest of the signing root. */
  root: string;
  /** Nodes (not down) whose certificate is not yet from the signing root. */
  pending: { id: string; hostname: string }[];
  nodes: number;
}

/** The nodes that still hold a certificate from another root than the signer. */
export function pendingNodes(ca: CaRecord, nodes: ClusterNode[], certs: CertRecord[]): ClusterNode[] {
  const signer = caDigest(new X509Certificate(ca.signer.certPem));
  const byNode = new Map(certs.map((c) => [c.nodeId, c]));
  return nodes.filter((n) => n.status.state !== 'down' && byNode.get(n.id)?.issuer !== signer);
}

/** The record once the rotation is over: trust the new root alone (null while nodes are pending). */
export function finishRotation(ca: CaRecord, nodes: ClusterNode[], certs: CertRecord[]): CaRecord | null {
  if (!ca.rotation || pendingNodes(ca, nodes, certs).length > 0) return null;
  return { ...ca, trust: [ca.signer.certPem], crossSigned: null, rotation: null, etcdChain: ca.crossSigned };
}

export async function rotationStatus(store: Store): Promise<RotationStatus> {
  const [ca, nodes, certs] = await Promise.all([store.get<CaRecord>(Keys.ca), store.list<ClusterNode>(Keys.nodes), store.list<CertRecord>(Keys.certs)]);
  if (!ca) throw new NotFoundError('the cluster has no CA');
  const pending = pendingNodes(ca.value, nodes.map((n) => n.value), certs.map((c) => c.value));
  return { rotating: ca.value.rotation !== null, root: caDigest(new X509Certificate(ca.value.signer.certPem)), pending: pending.map((n) => ({ id: n.id, hostname: n.hostname })), nodes: nodes.length };
}

/** Step 1: a new root and its cross-signature, written with join tokens that name it. */
export async function beginRotation(store: Store, dek: Buffer): Promise<void> {
  const { createRootCa, crossSign } = await import('../../shared/pki/issue');
  const [cur, cluster] = await Promise.all([store.get<CaRecord>(Keys.ca), store.get<Cluster>(Keys.cluster)]);
  if (!cur || !cluster) throw new NotFoundError('the cluster has no CA');
  if (cur.value.rotation) throw new ConflictError('a CA rotation is already under way (tsswarm ca shows its progress)');
  const oldKey = open(dek, Keys.ca, cur.value.signer.key).toString();
  const next = await createRootCa('tsswarm-root-ca', ROOT_VALIDITY_MS);
  const cross = await crossSign({ certPem: cur.value.signer.certPem, keyPem: oldKey }, next.certPem);
  const ca: CaRecord = {
    ...cur.value,
    trust: [cur.value.signer.certPem, next.certPem],
    signer: { certPem: next.certPem, key: seal(dek, Keys.ca, next.keyPem) },
    crossSigned: cross,
    rotation: { fromCertPem: cur.value.signer.certPem, startedAt: new Date().toISOString() },
  };
  const digest = caDigest(new X509Certificate(next.certPem));
  const c: Cluster = { ...cluster.value, joinTokens: { worker: newJoinToken(digest), manager: newJoinToken(digest) } };
  const ok = await store.commit([
    { put: Keys.ca, value: ca, guard: { modRevision: cur.modRevision } },
    { put: Keys.cluster, value: c, guard: { modRevision: cluster.modRevision } },
  ]);
  if (!ok) throw new ConflictError('the CA changed meanwhile; try again');
}

/** Step 2 and 3, on the leader: retire the old root once every live node renewed. */
export function caRotationLoop(store: Store, writer: StoreWriter, log: Logger): ReconcileLoop {
  return new ReconcileLoop({
    name: 'ca-rotation',
    store,
    prefixes: [Keys.ca, Keys.certs, Keys.nodes],
    log,
    pass: async () => {
      const ca = await store.get<CaRecord>(Keys.ca);
      if (!ca?.value.rotation) return { retry: false };
      const [nodes, certs] = await Promise.all([store.list<ClusterNode>(Keys.nodes), store.list<CertRecord>(Keys.certs)]);
      const done = finishRotation(ca.value, nodes.map((n) => n.value), certs.map((c) => c.value));
      if (!done) return { retry: false };
      const ok = await writer.commit([{ put: Keys.ca, value: done, guard: { modRevision: ca.modRevision } }]);
      if (ok) log.info('CA rotation done: every node holds a certificate from the new root; the old root is retired');
      return { retry: !ok };
    },
  });
}
