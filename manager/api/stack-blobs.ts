/**
 * A stack's secrets and configs at deploy: its own are created as `<stack>_<name>` (or kept when
 * the same bytes are there already: they are immutable, as in Swarm), external ones must exist,
 * and every service's references get the ids they name. Pure: the caller commits the ops with the
 * services, in one transaction, so nothing is half-applied.
 */
import { InvalidArgumentError, NotFoundError } from '../../shared/errors';
import type { ServiceSpec, StackBlob, StoredBlob } from '../../shared/types';
import { NAMESPACE_LABEL } from '../../shared/task-spec';
import type { BlobKind } from '../blobs/blobs';
import { blobDigest, planCreate } from '../blobs/blobs';
import type { Versioned, WriteOp } from '../store/store';

export interface BlobPlan {
  ops: WriteOp[];
  /** Full name → id, of every blob the stack's services may name. */
  ids: Map<string, string>;
}

export function planStackBlobs(kind: BlobKind, stack: string, wanted: StackBlob[], existing: Versioned<StoredBlob>[], dek: () => Buffer, now: string): BlobPlan {
  const byName = new Map(existing.map((b) => [b.value.spec.name, b]));
  const ops: WriteOp[] = [];
  const ids = new Map<string, string>();
  for (const w of wanted) {
    const have = byName.get(w.spec.name);
    if (w.external) {
      if (!have) throw new NotFoundError(`external ${kind} ${w.spec.name} not found: create it first with tsswarm ${kind} create ${w.spec.name} FILE`);
      ids.set(w.spec.name, have.value.id);
      ops.push(touch(have));
      continue;
    }
    if (typeof w.data !== 'string') throw new InvalidArgumentError(`${kind} ${w.spec.name}: no data`);
    const data = Buffer.from(w.data, 'base64');
    if (have) {
      if (have.value.digest !== blobDigest(data)) {
        throw new InvalidArgumentError(`${kind} ${w.spec.name} exists with other content, and ${kind}s cannot change: give the new content a new name (e.g. ${w.spec.name}_v2)`);
      }
      ids.set(w.spec.name, have.value.id);
      ops.push(touch(have));
      continue;
    }
    const made = planCreate(kind, { name: w.spec.name, labels: { ...w.spec.labels, [NAMESPACE_LABEL]: stack } }, data, dek(), now);
    ids.set(w.spec.name, made.blob.id);
    ops.push(made.op);
  }
  return { ops, ids };
}

/** The services with every secret and config reference resolved to an id. */
export function resolveBlobRefs(specs: ServiceSpec[], secrets: Map<string, string>, configs: Map<string, string>): ServiceSpec[] {
  return specs.map((s) => {
    const c = s.task.container;
    const secretRefs = c.secrets.map((r) => {
      const id = secrets.get(r.secretName);
      if (id === undefined) throw new NotFoundError(`service ${s.name}: secret not found: ${r.secretName}`);
      return { ...r, secretId: id };
    });
    const configRefs = c.configs.map((r) => {
      const id = configs.get(r.configName);
      if (id === undefined) throw new NotFoundError(`service ${s.name}: config not found: ${r.configName}`);
      return { ...r, configId: id };
    });
    return { ...s, task: { ...s.task, container: { ...c, secrets: secretRefs, configs: configRefs } } };
  });
}

/** Blobs of the stack (by its namespace label) that no service outside it uses: removed with it. */
export function stackBlobRemovals(kind: BlobKind, stack: string, blobs: Versioned<StoredBlob>[], remainingUse: Set<string>): WriteOp[] {
  return blobs
    .filter((b) => b.value.spec.labels[NAMESPACE_LABEL] === stack && !remainingUse.has(b.value.id))
    .map((b) => ({ del: b.key, guard: { modRevision: b.modRevision } }));
}

/** Ids of the secrets (or configs) the services use. */
export function blobIdsUsed(kind: BlobKind, specs: ServiceSpec[]): Set<string> {
  const out = new Set<string>();
  for (const s of specs) {
    if (kind === 'secret') for (const r of s.task.container.secrets) out.add(r.secretId);
    else for (const r of s.task.container.configs) out.add(r.configId);
  }
  return out;
}

/**
 * Rewrites a blob the deploy starts to use, as it is: its mod revision moves, so a removal that
 * read it before (and saw no user) fails its guard instead of deleting what is now in use.
 */
function touch(b: Versioned<StoredBlob>): WriteOp {
  return { put: b.key, value: b.value, guard: { modRevision: b.modRevision } };
}
