/** Secret and config writes, for tsswarm's API (blob-routes.ts) and the Docker Engine API alike. */
import { ConflictError } from '../../shared/errors';
import { Keys } from '../../shared/keys';
import type { BlobSpec, Service, StoredBlob } from '../../shared/types';
import type { BlobKind } from '../blobs/blobs';
import { blobPrefix, checkRemovable, findBlob, planCreate } from '../blobs/blobs';
import type { ApiContext } from './server';

export async function createBlob(ctx: ApiContext, kind: BlobKind, spec: BlobSpec, data: Buffer): Promise<StoredBlob> {
  const { blob, op } = planCreate(kind, spec, data, ctx.keys.get(), new Date().toISOString());
  if (!(await ctx.store.commit([op]))) throw new ConflictError(`${kind} ${spec.name} already exists`);
  return blob;
}

/** Refused while a service uses it. */
export async function removeBlob(ctx: ApiContext, kind: BlobKind, ref: string): Promise<StoredBlob> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [blobs, services] = await Promise.all([ctx.store.list<StoredBlob>(blobPrefix(kind)), ctx.store.list<Service>(Keys.services)]);
    const b = findBlob(kind, blobs, ref);
    checkRemovable(kind, b.value, services.map((s) => s.value));
    // A deploy that starts using it meanwhile rewrites it (stack-blobs.ts touch): the guard fails.
    if (await ctx.store.commit([{ del: b.key, guard: { modRevision: b.modRevision } }])) return b.value;
  }
  throw new ConflictError(`${kind} ${ref} changed while removing it; try again`);
}
