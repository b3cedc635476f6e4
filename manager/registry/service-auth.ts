/**
 * `--with-registry-auth` (Swarm's flag): the credential a deployer gave for a service's image
 * registry is kept, sealed under the cluster's data key (manager/keys/seal.ts, bound to its etcd
 * key), so the cluster registry can pull that image again later for the service's tasks (a node
 * of another platform, an image pruned or lost) without the deployer. Only the credential of the
 * registry the service's image names is kept, never shown by the API, and deleted with the
 * service. Without the flag a deploy's credentials are used once, for the deploy's own pull.
 */
import { canonicalImageRef, registryOf } from '../../shared/image-ref';
import { Keys } from '../../shared/keys';
import type { RegistryCredential } from '../../shared/registry/auth';
import type { Service, ServiceSpec } from '../../shared/types';
import type { WriteOp } from '../store/store';
import { open, seal, type Sealed } from '../keys/seal';

/** What Keys.serviceRegistryAuth holds. */
export interface ServiceRegistryAuth {
  v: 1;
  /** The registry host the credential is for (the service image's). */
  registry: string;
  sealed: Sealed;
}

/** How a write of services treats their credentials: keep the request's (`--with-registry-auth`) or leave what is stored. */
export interface RegistryAuthPolicy {
  keep: boolean;
  credential: (registry: string) => RegistryCredential | null;
  dek: () => Buffer;
}

/**
 * The writes that go with `ops` (a transaction that writes services): a service removed loses its
 * credential; one written keeps the request's for its image's registry when `keep` (none given:
 * the stored one goes), and what is stored otherwise (Docker keeps the previous one on update).
 */
export function registryAuthOps(ops: WriteOp[], policy: RegistryAuthPolicy | null): WriteOp[] {
  const out: WriteOp[] = [];
  for (const op of ops) {
    const key = 'put' in op ? op.put : op.del;
    if (!key.startsWith(Keys.services)) continue;
    const id = key.slice(Keys.services.length);
    if ('del' in op) out.push(registryAuthDelete(id));
    else if (policy?.keep) out.push(registryAuthOp(id, (op.value as Service).spec, policy));
  }
  return out;
}

function registryAuthOp(serviceId: string, spec: ServiceSpec, { credential, dek }: RegistryAuthPolicy): WriteOp {
  const key = Keys.serviceRegistryAuth(serviceId);
  const { registry } = registryOf(canonicalImageRef(spec.task.container.image).name);
  const c = credential(registry);
  if (!c) return { del: key, guard: null };
  const value: ServiceRegistryAuth = { v: 1, registry, sealed: seal(dek(), key, JSON.stringify({ username: c.username, password: c.password })) };
  return { put: key, value, guard: null };
}

/** A stored credential opened, or null when it is not for `registry` or does not open. */
export function openRegistryAuth(serviceId: string, stored: ServiceRegistryAuth, registry: string, dek: Buffer): RegistryCredential | null {
  if (stored.registry !== registry) return null;
  const v = JSON.parse(open(dek, Keys.serviceRegistryAuth(serviceId), stored.sealed).toString('utf8')) as RegistryCredential;
  return typeof v.username === 'string' && typeof v.password === 'string' ? { username: v.username, password: v.password } : null;
}

function registryAuthDelete(serviceId: string): WriteOp {
  return { del: Keys.serviceRegistryAuth(serviceId), guard: null };
}
