/**
 * Which role a join token grants. Tokens embed the root's digest
 * (shared/pki/join-token.ts); the secret is compared in constant time.
 */
import { timingSafeEqual, X509Certificate } from 'node:crypto';
import type { Cluster, NodeRole } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { ConflictError, NotFoundError } from '../../shared/errors';
import { caDigest } from '../../shared/pki/certificate';
import { newJoinToken } from '../../shared/pki/join-token';
import type { Store } from '../store/store';
import type { CaRecord } from './ca-record';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The role a token grants, or null when it is none of the cluster's tokens. */
export function roleForToken(token: string, tokens: { worker: string; manager: string }): NodeRole | null {
  if (same(token, tokens.manager)) return 'manager';
  if (same(token, tokens.worker)) return 'worker';
  return null;
}

/**
 * `join-token --rotate`: a new secret (and the current root's digest) for one role. The old
 * token admits no one from then on; nodes that joined with it keep their certificates.
 */
export async function rotateJoinToken(store: Store, role: NodeRole): Promise<string> {
  const [cluster, ca] = await Promise.all([store.get<Cluster>(Keys.cluster), store.get<CaRecord>(Keys.ca)]);
  if (!cluster || !ca) throw new NotFoundError('the cluster is not initialised');
  const token = newJoinToken(caDigest(new X509Certificate(ca.value.signer.certPem)));
  const next: Cluster = { ...cluster.value, joinTokens: { ...cluster.value.joinTokens, [role]: token } };
  if (!(await store.commit([{ put: Keys.cluster, value: next, guard: { modRevision: cluster.modRevision } }]))) throw new ConflictError('the cluster settings changed meanwhile; try again');
  return token;
}
