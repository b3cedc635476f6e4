/**
 * Secrets and configs: named, immutable blobs (Swarm's rules), stored under their name
 * (Keys.secret / Keys.config) with the bytes sealed under the cluster's data key and the etcd key
 * as associated data. Pure planning: what to write to create, remove or resolve them; the routes
 * (manager/api/blob-routes.ts) and the deploy (manager/api/deploy.ts) read and commit.
 */
import { createHash } from 'node:crypto';
import type { BlobView } from '../../shared/api-types';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../shared/errors';
import { newId } from '../../shared/ids';
import { Keys } from '../../shared/keys';
import type { BlobSpec, Service, StoredBlob } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import { seal } from '../keys/seal';
import type { WriteOp } from '../store/store';

export type BlobKind = 'secret' | 'config';

/** Docker's limit: a secret or config is at most 500 KiB. */
export const MAX_BLOB_BYTES = 500 * 1024;
/** Docker's name rule for secrets and configs. */
const NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
const LABEL_KEY = /^[a-zA-Z0-9_.\-/]+$/;

export class BlobNotFoundError extends NotFoundError {
  override readonly code = 'BLOB_NOT_FOUND';
}

export const blobKey = (kind: BlobKind, name: string): string => (kind === 'secret' ? Keys.secret(name) : Keys.config(name));
export const blobPrefix = (kind: BlobKind): string => (kind === 'secret' ? Keys.secrets : Keys.configs);

export function blobDigest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The checks of `secret create`: name, labels, size. Throws the one-line error. */
export function checkBlob(kind: BlobKind, spec: BlobSpec, data: Buffer): void {
  if (typeof spec.name !== 'string' || spec.name.length > 64 || !NAME.test(spec.name)) {
    throw new InvalidArgumentError(`invalid ${kind} name ${JSON.stringify(spec.name)}: letters, digits and - _ . (not first or last), at most 64 characters`);
  }
  if (typeof spec.labels !== 'object' || spec.labels === null || Array.isArray(spec.labels)) throw new InvalidArgumentError(`${kind} ${spec.name}: labels must be a map of strings`);
  for (const [k, v] of Object.entries(spec.labels)) {
    if (!LABEL_KEY.test(k) || typeof v !== 'string') throw new InvalidArgumentError(`${kind} ${spec.name}: invalid label ${JSON.stringify(k)}`);
  }
  if (data.length === 0 && kind === 'secret') throw new InvalidArgumentError(`secret ${spec.name}: data is empty`);
  if (data.length > MAX_BLOB_BYTES) throw new InvalidArgumentError(`${kind} ${spec.name}: ${data.length} bytes is more than the ${MAX_BLOB_BYTES} allowed`);
}

/** The record and its guarded create (absent: a name is taken once). */
export function planCreate(kind: BlobKind, spec: BlobSpec, data: Buffer, dek: Buffer, now: string): { blob: StoredBlob; op: WriteOp } {
  checkBlob(kind, spec, data);
  const key = blobKey(kind, spec.name);
  const blob: StoredBlob = {
    v: SCHEMA_VERSION,
    id: newId(),
    spec: { name: spec.name, labels: { ...spec.labels } },
    sealed: seal(dek, key, data),
    digest: blobDigest(data),
    createdAt: now,
    updatedAt: now,
  };
  return { blob, op: { put: key, value: blob, guard: { absent: true } } };
}

/** By full name, id or unique id prefix (as `docker secret inspect`). */
export function findBlob<T extends { value: StoredBlob }>(kind: BlobKind, all: T[], ref: string): T {
  const exact = all.find((b) => b.value.spec.name === ref || b.value.id === ref);
  if (exact) return exact;
  const prefixed = ref.length >= 4 ? all.filter((b) => b.value.id.startsWith(ref)) : [];
  if (prefixed.length === 1) return prefixed[0]!;
  throw new BlobNotFoundError(`${kind} ${ref} not found`);
}

/** Services whose tasks mount the blob. */
export function usersOf(kind: BlobKind, blob: StoredBlob, services: Service[]): string[] {
  return services
    .filter((s) => (kind === 'secret' ? s.spec.task.container.secrets.some((r) => r.secretId === blob.id) : s.spec.task.container.configs.some((r) => r.configId === blob.id)))
    .map((s) => s.spec.name)
    .sort();
}

/** Swarm's refusal, one line: a blob in use cannot be removed. */
export function checkRemovable(kind: BlobKind, blob: StoredBlob, services: Service[]): void {
  const users = usersOf(kind, blob, services);
  if (users.length > 0) {
    throw new ConflictError(`${kind} '${blob.spec.name}' is in use by the following service${users.length > 1 ? 's' : ''}: ${users.join(', ')}`);
  }
}

export function blobView(kind: BlobKind, blob: StoredBlob, services: Service[], data: Buffer | null): BlobView {
  return {
    id: blob.id,
    name: blob.spec.name,
    labels: blob.spec.labels,
    createdAt: blob.createdAt,
    updatedAt: blob.updatedAt,
    usedBy: usersOf(kind, blob, services),
    ...(kind === 'config' && data !== null ? { data: data.toString('base64') } : {}),
  };
}
