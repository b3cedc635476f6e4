/**
 * The first start of a cluster's first manager: the store is empty, and
 * `tsswarm init` left the root key it signed this host's certificates with.
 * The cluster record (tokens naming the root's digest) and the CA record
 * (the key sealed under a new data key) are written in one transaction, the
 * data key kept on disk first, and the bootstrap file removed after.
 */
import * as fs from 'node:fs';
import { randomBytes, X509Certificate } from 'node:crypto';
import type { Cluster } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { caDigest, certInfo } from '../../shared/pki/certificate';
import { newJoinToken } from '../../shared/pki/join-token';
import { certFiles } from '../../shared/pki/node-files';
import { readBootstrap, removeBootstrap } from '../../shared/pki/bootstrap-file';
import type { Store } from '../store/store';
import { seal } from '../keys/seal';
import type { DataKey } from '../keys/data-key';
import { newUnlockKey } from '../keys/key-files';
import type { CaRecord, CertRecord } from './ca-record';

export class NoClusterError extends Error {}

export async function ensureCluster(store: Store, dataRoot: string, keys: DataKey): Promise<Cluster> {
  const existing = await store.get<Cluster>(Keys.cluster);
  if (existing) return existing.value;
  const files = certFiles(dataRoot);
  const boot = readBootstrap(files.dir);
  if (!boot) throw new NoClusterError('the cluster store is empty and this host holds no CA to start a cluster with (tsswarm init makes one)');
  const rootPem = fs.readFileSync(files.ca, 'utf8');
  const digest = caDigest(new X509Certificate(rootPem));
  const dek = randomBytes(32);
  const unlockKey = boot.autolock ? newUnlockKey() : null;
  const cluster: Cluster = {
    v: SCHEMA_VERSION,
    id: boot.clusterId,
    createdAt: new Date().toISOString(),
    // Three missed heartbeats: a dead agent is down within 1.5-1.75 s (checks run every half period).
    heartbeatPeriodMs: 500,
    heartbeatGraceMs: 1500,
    joinTokens: { worker: newJoinToken(digest), manager: newJoinToken(digest) },
    certExpiryMs: boot.certExpiryMs,
    autolock: boot.autolock,
    ...(unlockKey ? { unlockKey: seal(dek, Keys.cluster, unlockKey) } : {}),
  };
  // The first manager's certificate, made by init, is the CA's first issue.
  const own = new X509Certificate(fs.readFileSync(files.cert, 'utf8'));
  const info = certInfo(own);
  const ownRecord: CertRecord = { v: SCHEMA_VERSION, nodeId: info.commonName, serial: info.serial, issuer: digest, notAfter: info.notAfter.toISOString(), issuedAt: info.notBefore.toISOString() };
  const ca: CaRecord = { v: SCHEMA_VERSION, trust: [rootPem], signer: { certPem: rootPem, key: seal(dek, Keys.ca, boot.rootKeyPem) }, crossSigned: null, rotation: null };
  // Kept before the commit: a crash in between must not leave the store with a key nobody holds.
  keys.adopt(dek, boot.autolock, unlockKey);
  const ok = await store.commit([
    { put: Keys.cluster, value: cluster, guard: { absent: true } },
    { put: Keys.ca, value: ca, guard: { absent: true } },
    { put: Keys.certRecord(ownRecord.nodeId), value: ownRecord, guard: null },
  ]);
  if (!ok) {
    keys.forget();
    return (await store.get<Cluster>(Keys.cluster))!.value;
  }
  removeBootstrap(files.dir);
  return cluster;
}
