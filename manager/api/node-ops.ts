/** Node writes, for tsswarm's API and the Docker Engine API alike; each guarded by the node's revision. */
import { ConflictError } from '../../shared/errors';
import type { NodeUpdateRequest } from '../../shared/api-types';
import { Keys } from '../../shared/keys';
import type { ClusterNode, RevokedNode } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import type { Store, Versioned } from '../store/store';
import { checkNodeRemoval, findNode, planNodeUpdate } from './nodes';

/**
 * `request` says what to change from the node as read (Docker's whole NodeSpec becomes a change
 * against it); `expect`: Docker's `version`, the revision the client read.
 */
export async function updateNode(store: Store, ref: string, request: (n: Versioned<ClusterNode>) => NodeUpdateRequest, expect: string | null = null): Promise<ClusterNode> {
  const all = await store.list<ClusterNode>(Keys.nodes);
  const n = findNode(all, ref);
  if (expect !== null && expect !== n.modRevision) throw new ConflictError(`update out of sequence: node ${n.value.hostname} is at version ${n.modRevision}, not ${expect}; read it again`);
  const next = planNodeUpdate(n.value, request(n), all.map((x) => x.value));
  if (!(await store.commit([{ put: n.key, value: next, guard: { modRevision: n.modRevision } }]))) {
    throw new ConflictError(`node ${n.value.hostname} changed meanwhile; try again`);
  }
  return next;
}

/**
 * Its tasks are orphaned and replaced by the orchestrator; its session is closed by the
 * dispatcher; its certificate is refused from now on, by every manager (ca/revoked.ts).
 */
export async function removeNode(store: Store, ref: string, force: boolean): Promise<ClusterNode> {
  const n = findNode(await store.list<ClusterNode>(Keys.nodes), ref);
  checkNodeRemoval(n.value, force);
  const revoked: RevokedNode = { v: SCHEMA_VERSION, id: n.value.id, hostname: n.value.hostname, revokedAt: new Date().toISOString() };
  if (!(await store.commit([{ del: n.key, guard: { modRevision: n.modRevision } }, { put: Keys.revokedNode(n.value.id), value: revoked, guard: null }]))) {
    throw new ConflictError(`node ${n.value.hostname} changed meanwhile; try again`);
  }
  return n.value;
}
