/**
 * Service writes outside a stack file: create, update, rollback, remove (Docker's `service
 * create|update|rollback|rm`), for tsswarm's API (service-routes.ts) and the Docker Engine API
 * (manager/docker-api/) alike. The client sends a whole ServiceSpec (the CLI reads the service,
 * applies its flags and sends the result, as docker/cli does), checked here as a deploy's are:
 * image, secrets and configs by name, networks, published ports. Whether a change starts a rolling
 * update is decided in one place (orchestrator/update/spec-change.ts).
 */
import { registryAuthOps, type RegistryAuthPolicy } from '../registry/service-auth';
import type { RebalanceResult, RegistryAuthMap, ResolveImageMode, ServiceCreateRequest, ServiceUpdateRequest, ServiceWriteResult } from '../../shared/api-types';
import type { RegistryCredential } from '../../shared/registry/auth';
import type { ResolvedServiceImage } from '../registry/resolve';
import { ConflictError, InvalidArgumentError, isTsswarmError, ServiceNotFoundError } from '../../shared/errors';
import { Keys } from '../../shared/keys';
import type { Network, Service, ServiceSpec, Stack, StoredBlob, Task } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import type { Store, Versioned, WriteOp } from '../store/store';
import { assignPublishedPorts, checkPorts, validateSpec } from './deploy';
import { ingressSpec, NetworkNotFoundError, planNetworks } from './networks';
import { resolveBlobRefs } from './stack-blobs';
import { newService, rolledBack, withSpec } from '../orchestrator/update/spec-change';
import type { ApiContext } from './server';
import { placementWarnings } from '../scheduler/warnings';
import { startRebalance } from '../orchestrator/rebalance';
import type { ClusterNode } from '../../shared/types';

const ATTEMPTS = 5;

/** A service by name, id, or an unambiguous id prefix of at least 4 characters. */
export async function findService(store: Store, ref: string): Promise<Versioned<Service>> {
  const all = await store.list<Service>(Keys.services);
  const exact = all.find((s) => s.value.spec.name === ref || s.value.id === ref);
  if (exact) return exact;
  const prefixed = all.filter((s) => s.value.id.startsWith(ref));
  if (prefixed.length === 1 && ref.length >= 4) return prefixed[0]!;
  throw new ServiceNotFoundError(`service ${ref} not found`);
}

/**
 * The spec with its image pinned to a digest (manager/registry/resolve.ts), and what to warn about.
 * Errors name the service.
 */
export async function checkImage(ctx: ApiContext, spec: ServiceSpec, mode: ResolveImageMode, auth: RegistryAuthMap | undefined, previous: string | null = null): Promise<{ spec: ServiceSpec; warning: string | null }> {
  let r: ResolvedServiceImage;
  try {
    r = await ctx.resolver.resolve(spec.task.container.image, { mode, credential: credentialsFrom(auth), previous });
  } catch (e) {
    if (isTsswarmError(e)) (e as { message: string }).message = `service ${spec.name}: ${e.message}`;
    throw e;
  }
  return { spec: { ...spec, task: { ...spec.task, container: { ...spec.task.container, image: r.image } } }, warning: r.warning ? `service ${spec.name}: ${r.warning}` : null };
}

/** `--with-registry-auth` on a create, update or deploy: the request's credentials kept with the services (manager/registry/service-auth.ts). */
export function authPolicy(ctx: ApiContext, b: { withRegistryAuth?: boolean; registryAuth?: RegistryAuthMap }): RegistryAuthPolicy | null {
  if (b.withRegistryAuth !== true) return null;
  return { keep: true, credential: credentialsFrom(b.registryAuth), dek: () => ctx.keys.get() };
}

/** A request's credentials, checked: by registry host, each a user name and a password. */
export function credentialsFrom(auth: RegistryAuthMap | undefined): (registry: string) => RegistryCredential | null {
  if (auth === undefined || auth === null) return () => null;
  if (typeof auth !== 'object' || Array.isArray(auth)) throw new InvalidArgumentError('registryAuth must map registries to {"username", "password"}');
  for (const [k, v] of Object.entries(auth)) {
    if (typeof v !== 'object' || v === null || typeof v.username !== 'string' || typeof v.password !== 'string') throw new InvalidArgumentError(`registryAuth.${k} must be {"username", "password"}`);
  }
  return (registry) => auth[registry] ?? null;
}

export function resolveMode(v: unknown, fallback: ResolveImageMode): ResolveImageMode {
  if (v === undefined || v === null) return fallback;
  if (v === 'always' || v === 'changed' || v === 'never') return v;
  throw new InvalidArgumentError(`resolveImage must be always, changed or never, got ${JSON.stringify(v)}`);
}

/**
 * The spec as it will be stored, and the writes it needs besides the service (the routing mesh's
 * network, with the first service to publish in ingress mode). Secrets and configs are looked up
 * by name, so a client need not know their ids.
 */
async function prepare(ctx: ApiContext, given: ServiceSpec, others: Service[]): Promise<{ spec: ServiceSpec; ops: WriteOp[] }> {
  const [secrets, configs, nets] = await Promise.all([
    ctx.store.list<StoredBlob>(Keys.secrets),
    ctx.store.list<StoredBlob>(Keys.configs),
    ctx.store.list<Network>(Keys.networks),
  ]);
  const byName = (list: Versioned<StoredBlob>[]) => new Map(list.map((b) => [b.value.spec.name, b.value.id]));
  const [resolved] = resolveBlobRefs([given], byName(secrets), byName(configs));
  const [spec] = assignPublishedPorts([resolved!], others);
  checkPorts([spec!], others);
  const existing = nets.map((n) => n.value);
  for (const n of spec!.networks) {
    if (!existing.some((e) => e.spec.name === n.target && !e.ingress)) throw new NetworkNotFoundError(`service ${spec!.name}: network ${n.target} not found`);
  }
  const ops: WriteOp[] = [];
  if (spec!.endpoint.ports.some((p) => p.mode === 'ingress') && !existing.some((n) => n.ingress)) {
    ops.push(...planNetworks([ingressSpec()], existing, new Date().toISOString(), true).ops);
  }
  return { spec: spec!, ops };
}

async function warningsFor(ctx: ApiContext, spec: ServiceSpec): Promise<string[]> {
  const nodes = await ctx.store.list<ClusterNode>(Keys.nodes);
  return placementWarnings([spec], nodes.map((n) => n.value));
}

export function body<T>(x: unknown, what: string): T {
  if (typeof x !== 'object' || x === null || typeof (x as { spec?: unknown }).spec !== 'object') throw new InvalidArgumentError(`expected {"spec": {...}${what}}`);
  return x as T;
}

/** Writes `next` over `cur`, retrying on a conflict with a fresh read; `change` decides from what is stored now. */
async function rewrite(ctx: ApiContext, ref: string, change: (cur: Versioned<Service>, all: Service[]) => Promise<{ next: Service; ops: WriteOp[] }>, auth: RegistryAuthPolicy | null = null, expect: Expected = null): Promise<Service> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const cur = await findService(ctx.store, ref);
    checkExpected(cur, expect);
    const all = (await ctx.store.list<Service>(Keys.services)).map((s) => s.value).filter((s) => s.id !== cur.value.id);
    const { next, ops } = await change(cur, all);
    const put: WriteOp = { put: cur.key, value: next, guard: { modRevision: cur.modRevision } };
    if (await ctx.store.commit([...ops, put, ...registryAuthOps([put], auth)])) return next;
  }
  throw new ConflictError(`service ${ref} is being changed by someone else; try again`);
}

/**
 * `service rebalance`: the tasks to move marked and the rebalance started (manager/orchestrator/
 * rebalance.ts), in one transaction guarded by the service and each task. Not started: why (a
 * balanced service is not refused; one that is updating is).
 */
export async function rebalance(ctx: ApiContext, ref: string): Promise<RebalanceResult> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const cur = await findService(ctx.store, ref);
    const [tasks, nodes] = await Promise.all([ctx.store.list<Task>(Keys.tasks), ctx.store.list<ClusterNode>(Keys.nodes)]);
    const start = startRebalance(cur.value, tasks.map((t) => t.value), nodes.map((n) => n.value), new Date().toISOString());
    const name = cur.value.spec.name;
    if ('nothing' in start) return { name, started: false, refused: !start.nothing.endsWith('balanced already'), message: start.nothing, moves: 0 };
    const revs = new Map(tasks.map((t) => [t.value.id, t.modRevision]));
    const ops: WriteOp[] = start.tasks.map((t) => ({ put: Keys.task(t.id), value: t, guard: { modRevision: revs.get(t.id)! } }));
    ops.push({ put: cur.key, value: start.service, guard: { modRevision: cur.modRevision } });
    const moves = start.tasks.length > 0 ? start.tasks.length : tasks.filter((t) => t.value.serviceId === cur.value.id && t.value.move === true && t.value.desiredState === 'running').length;
    if (await ctx.store.commit(ops)) return { name, started: true, refused: false, message: start.service.updateStatus!.message, moves };
  }
  throw new ConflictError(`service ${ref} is being changed by someone else; try again`);
}

function result(s: Service, warnings: string[]): ServiceWriteResult {
  return { id: s.id, name: s.spec.name, specVersion: s.specVersion, updateStatus: s.updateStatus, warnings };
}

/**
 * What a client says it read (Docker's `version` query: the record's mod revision): a write over
 * anything newer is refused, never merged.
 */
export type Expected = { modRevision: string } | null;

export class ServiceVersionConflictError extends ConflictError {}

function checkExpected(cur: Versioned<Service>, expect: Expected): void {
  if (expect !== null && expect.modRevision !== cur.modRevision) {
    throw new ServiceVersionConflictError(`update out of sequence: service ${cur.value.spec.name} is at version ${cur.modRevision}, not ${expect.modRevision}; read it again`);
  }
}

/**
 * Adds a stack's service to its stack record (made on its first service), as a deploy would: a
 * service created through the Docker API with Docker's stack label is part of that stack for
 * `tsswarm stack ls|ps|rm` too.
 */
async function stackOps(ctx: ApiContext, svc: Service): Promise<WriteOp[]> {
  const name = svc.spec.stack;
  if (name === null) return [];
  const cur = await ctx.store.get<Stack>(Keys.stack(name));
  const now = new Date().toISOString();
  if (!cur) return [{ put: Keys.stack(name), value: { v: SCHEMA_VERSION, name, services: [svc.id], createdAt: now, updatedAt: now } satisfies Stack, guard: { absent: true } }];
  return [{ put: cur.key, value: { ...cur.value, services: [...cur.value.services, svc.id], updatedAt: now }, guard: { modRevision: cur.modRevision } }];
}

/** A new service, checked as a deploy's; its stack (`spec.stack`) gets it in its list. */
export async function createService(ctx: ApiContext, b: ServiceCreateRequest): Promise<ServiceWriteResult> {
  validateSpec(b.spec, b.spec?.stack ?? null);
  // A name that is taken is said before any image is pulled for it.
  if ((await ctx.store.list<Service>(Keys.services)).some((s) => s.value.spec.name === b.spec.name)) throw new ConflictError(`service ${b.spec.name} already exists`);
  const { spec: checked, warning } = await checkImage(ctx, b.spec, resolveMode(b.resolveImage, 'always'), b.registryAuth);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const all = (await ctx.store.list<Service>(Keys.services)).map((s) => s.value);
    if (all.some((s) => s.spec.name === checked.name)) throw new ConflictError(`service ${checked.name} already exists`);
    const { spec, ops } = await prepare(ctx, checked, all);
    const svc = newService(spec, new Date().toISOString());
    const put: WriteOp = { put: Keys.service(svc.id), value: svc, guard: { absent: true } };
    if (await ctx.store.commit([...ops, put, ...(await stackOps(ctx, svc)), ...registryAuthOps([put], authPolicy(ctx, b))])) return result(svc, [...(warning ? [warning] : []), ...(await warningsFor(ctx, spec))]);
  }
  throw new ConflictError(`services changed while creating ${checked.name}; try again`);
}

/**
 * A service's new spec. `b.version` is tsswarm's (the spec version it was read at); `expect`
 * Docker's (the record's revision). `specFrom` makes the new spec against the stored one, read in
 * the same attempt (a Docker body keeps what a Docker client cannot say from it); `b.spec` then
 * is not read.
 */
export async function updateService(ctx: ApiContext, ref: string, b: ServiceUpdateRequest, o: { expect?: Expected; specFrom?: (stored: ServiceSpec) => ServiceSpec } = {}): Promise<ServiceWriteResult> {
  const mode = resolveMode(b.resolveImage, 'changed');
  let warning: string | null = null;
  const next = await rewrite(ctx, ref, async (cur, others) => {
    const c = cur.value.spec;
    if (b.version !== undefined && b.version !== null && b.version !== cur.value.specVersion) {
      throw new ConflictError(`service ${c.name} changed since version ${b.version} was read (it is at ${cur.value.specVersion}); read it again`);
    }
    const given = o.specFrom ? o.specFrom(c) : b.spec;
    if (given.name !== c.name) throw new InvalidArgumentError(`service ${c.name}: the name cannot change`);
    if (given.mode !== c.mode) throw new InvalidArgumentError(`service ${c.name}: the mode cannot change from ${c.mode} to ${String(given.mode)}`);
    validateSpec(given, c.stack);
    const checked = await checkImage(ctx, given, mode, b.registryAuth, c.task.container.image);
    warning = checked.warning;
    const { spec, ops } = await prepare(ctx, checked.spec, others);
    return { next: withSpec(cur.value, spec, new Date().toISOString()), ops };
  }, authPolicy(ctx, b), o.expect ?? null);
  return result(next, [...(warning ? [warning] : []), ...(await warningsFor(ctx, next.spec))]);
}

/** `service rollback`: back to the spec before the last change (Swarm's PreviousSpec). */
export async function rollbackService(ctx: ApiContext, ref: string, expect: Expected = null): Promise<ServiceWriteResult> {
  const next = await rewrite(ctx, ref, async (cur) => {
    const back = rolledBack(cur.value, new Date().toISOString(), 'manually requested rollback');
    if (back === null) throw new InvalidArgumentError(`service ${cur.value.spec.name} has no previous spec to roll back to`);
    return { next: back, ops: [] };
  }, null, expect);
  return result(next, []);
}

/** Removes a service (its tasks are reaped by the orchestrator); a stack's leaves its stack's list. */
export async function removeService(ctx: ApiContext, ref: string): Promise<{ removed: string }> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const cur = await findService(ctx.store, ref);
    const ops: WriteOp[] = [{ del: cur.key, guard: { modRevision: cur.modRevision } }];
    ops.push(...registryAuthOps(ops, null));
    // The stack's networks stay until `stack rm`.
    const stackName = cur.value.spec.stack;
    const stack = stackName === null ? null : await ctx.store.get<Stack>(Keys.stack(stackName));
    if (stack) {
      const services = stack.value.services.filter((id) => id !== cur.value.id);
      ops.push({ put: stack.key, value: { ...stack.value, services, updatedAt: new Date().toISOString() }, guard: { modRevision: stack.modRevision } });
    }
    if (await ctx.store.commit(ops)) return { removed: cur.value.spec.name };
  }
  throw new ConflictError(`service ${ref} is being changed by someone else; try again`);
}
