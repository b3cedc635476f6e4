/**
 * Stack deploy: the services of a stack file become service objects in one
 * etcd transaction, guarded by the revisions read, so a deploy is all or
 * nothing and two concurrent deploys cannot interleave.
 */
import { registryAuthOps, type RegistryAuthPolicy } from '../registry/service-auth';
import { validateTaskExtras } from './validate-task';
import { blobIdsUsed, planStackBlobs, resolveBlobRefs, stackBlobRemovals } from './stack-blobs';
import type { Network, NetworkSpec, Service, ServiceSpec, Stack, StackBlob, StackNetwork, StoredBlob } from '../../shared/types';
import { NetworkNotFoundError, ingressSpec, planNetworkRemoval, planNetworks } from './networks';
import { SCHEMA_VERSION } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { canonicalJson } from '../../shared/service-versions';
import { newService, withSpec } from '../orchestrator/update/spec-change';
import { ConflictError, InvalidArgumentError } from '../../shared/errors';
import type { DeployResult } from '../../shared/api-types';
import type { Store, Versioned, WriteOp } from '../store/store';
import { MAX_TXN_OPS } from '../store/store';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function isStrList(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}
const isNullOr = (x: unknown, f: (y: unknown) => boolean) => x === null || f(x);
const isPosIntOrNull = (x: unknown) => x === null || (Number.isSafeInteger(x) && (x as number) > 0);

/** The API does not trust its client: every spec is checked before anything is written. */
/** `stack`: the stack the service must belong to, or null for a service made outside a stack file. */
export function validateSpec(s: ServiceSpec, stack: string | null): void {
  const where = `service ${typeof s?.name === 'string' ? s.name : '?'}`;
  const fail = (m: string) => {
    throw new InvalidArgumentError(`${where}: ${m}`);
  };
  if (typeof s !== 'object' || s === null) throw new InvalidArgumentError('service spec must be an object');
  if (typeof s.name !== 'string' || !NAME.test(s.name) || s.name.length > 63) fail('invalid name');
  if (s.stack !== stack) fail(`belongs to stack ${String(s.stack)}, not ${stack}`);
  if (s.mode !== 'replicated' && s.mode !== 'global') fail('mode must be replicated or global');
  if (!Number.isSafeInteger(s.replicas) || s.replicas < 0) fail('replicas must be a non-negative integer');
  if (s.rebalance !== undefined && s.rebalance !== 'auto' && s.rebalance !== 'manual') fail('rebalance must be auto or manual');
  const t = s.task;
  if (typeof t !== 'object' || t === null) fail('missing task template');
  const c = t.container;
  if (typeof c !== 'object' || c === null) fail('missing container spec');
  if (typeof c.image !== 'string' || c.image === '') fail('missing image');
  if (!isNullOr(c.command, isStrList) || !isNullOr(c.entrypoint, isStrList) || !isStrList(c.env)) fail('command, entrypoint and env must be lists of strings');
  for (const k of ['workingDir', 'user', 'hostname'] as const) if (!isNullOr(c[k], (x) => typeof x === 'string')) fail(`${k} must be a string`);
  if (!Number.isSafeInteger(c.stopGracePeriodMs) || c.stopGracePeriodMs < 0) fail('stop grace period must be a non-negative number of milliseconds');
  const l = t.resources?.limits;
  if (typeof l !== 'object' || l === null) fail('missing limits');
  if (!isPosIntOrNull(l.memoryBytes) || !isPosIntOrNull(l.nanoCpus) || !isPosIntOrNull(l.pids)) fail('limits must be positive integers');
  if (!isStrList(c.dns) || !isStrList(c.dnsSearch) || !isStrList(c.extraHosts)) fail('dns, dns search and extra hosts must be lists of strings');
  if (!Array.isArray(s.networks) || !s.networks.every((n) => typeof n?.target === 'string' && isStrList(n.aliases))) fail('networks must be a list of {target, aliases}');
  const e = s.endpoint;
  if (typeof e !== 'object' || e === null || (e.mode !== 'vip' && e.mode !== 'dnsrr') || !Array.isArray(e.ports)) fail('endpoint must be {mode: vip|dnsrr, ports: [...]}');
  for (const p of e.ports) {
    const port = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 1 && (x as number) <= 65535;
    if (!port(p?.target) || !(p.published === null || port(p.published)) || (p.protocol !== 'tcp' && p.protocol !== 'udp') || (p.mode !== 'ingress' && p.mode !== 'host')) {
      fail(`invalid port ${JSON.stringify(p)}`);
    }
  }
  if (typeof s.labels !== 'object' || s.labels === null || Array.isArray(s.labels) || !Object.values(s.labels).every((v) => typeof v === 'string')) {
    fail('labels must be a map of strings');
  }
  validateTaskExtras(s, fail);
}

const specKey = (s: ServiceSpec) => canonicalJson(s);

export interface DeployPlan {
  ops: WriteOp[];
  result: DeployResult;
}

/** Computes the writes of a deploy from what is stored now. Pure. */
export function planDeploy(
  stackName: string,
  specs: ServiceSpec[],
  prune: boolean,
  existingStack: Versioned<Stack> | null,
  services: Versioned<Service>[],
  now: string,
): DeployPlan {
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new InvalidArgumentError(`service ${s.name} is defined twice`);
    names.add(s.name);
  }
  const byName = new Map(services.map((v) => [v.value.spec.name, v]));
  const ops: WriteOp[] = [];
  const result: DeployResult = { created: [], updated: [], unchanged: [], removed: [] };
  const ids: string[] = [];
  for (const given of specs) {
    const cur = byName.get(given.name);
    // A stack file has no force counter: the one `service update --force` left stays (as docker stack deploy keeps ForceUpdate).
    const spec = cur ? { ...given, task: { ...given.task, forceUpdate: cur.value.spec.task.forceUpdate } } : given;
    if (cur && cur.value.spec.stack !== stackName) {
      throw new ConflictError(`service ${spec.name} already exists outside stack ${stackName}`);
    }
    if (!cur) {
      const svc = newService(spec, now);
      ops.push({ put: Keys.service(svc.id), value: svc, guard: { absent: true } });
      result.created.push(spec.name);
      ids.push(svc.id);
      continue;
    }
    ids.push(cur.value.id);
    if (specKey(cur.value.spec) === specKey(spec)) {
      result.unchanged.push(spec.name);
      continue;
    }
    // A change of what the containers are made from starts a rolling update; a scale does not.
    const svc = withSpec(cur.value, spec, now);
    ops.push({ put: Keys.service(svc.id), value: svc, guard: { modRevision: cur.modRevision } });
    result.updated.push(spec.name);
  }
  const kept = new Set(ids);
  if (existingStack) {
    for (const id of existingStack.value.services) {
      if (kept.has(id)) continue;
      const v = services.find((s) => s.value.id === id);
      if (!v) continue;
      if (prune) {
        ops.push({ del: Keys.service(id), guard: { modRevision: v.modRevision } });
        result.removed.push(v.value.spec.name);
      } else {
        ids.push(id);
      }
    }
  }
  const stack: Stack = {
    v: SCHEMA_VERSION,
    name: stackName,
    services: ids,
    createdAt: existingStack?.value.createdAt ?? now,
    updatedAt: now,
  };
  ops.push({ put: Keys.stack(stackName), value: stack, guard: existingStack ? { modRevision: existingStack.modRevision } : { absent: true } });
  if (ops.length > MAX_TXN_OPS) {
    throw new InvalidArgumentError(`a stack may have at most ${MAX_TXN_OPS - 1} services`);
  }
  return { ops, result };
}

/**
 * The stack's networks: the ones it owns are created when missing, external
 * ones must exist, and every network a service names must be one of those.
 */
export function planStackNetworks(stackName: string, wanted: StackNetwork[], specs: ServiceSpec[], existing: Network[], now: string): WriteOp[] {
  const byName = new Map(existing.map((n) => [n.spec.name, n]));
  const toCreate: NetworkSpec[] = [];
  for (const w of wanted) {
    const have = byName.get(w.spec.name);
    if (w.external) {
      if (!have) throw new NetworkNotFoundError(`network ${w.spec.name} is declared as external, but could not be found`);
      continue;
    }
    if (w.spec.stack !== stackName) throw new InvalidArgumentError(`network ${w.spec.name} belongs to stack ${String(w.spec.stack)}, not ${stackName}`);
    if (have) {
      if (have.spec.stack !== stackName) throw new ConflictError(`network ${w.spec.name} already exists outside stack ${stackName}`);
      if (w.spec.subnet !== null && w.spec.subnet !== have.subnet) throw new ConflictError(`network ${w.spec.name} exists with subnet ${have.subnet}; remove the stack to change it`);
      // Encryption is fixed when a network is made (as in Docker): say so rather than ignore the change.
      if ((w.spec.encrypted === true) !== (have.spec.encrypted === true)) {
        throw new ConflictError(`network ${w.spec.name} exists ${have.spec.encrypted === true ? 'encrypted' : 'unencrypted'}; remove the stack to change it`);
      }
      continue;
    }
    toCreate.push(w.spec);
  }
  const names = new Set([...byName.keys(), ...toCreate.map((n) => n.name)]);
  for (const s of specs) {
    for (const n of s.networks) if (!names.has(n.target)) throw new NetworkNotFoundError(`service ${s.name}: network ${n.target} not found`);
  }
  return planNetworks(toCreate, existing, now).ops;
}

/** An ingress port is published on every host: two services cannot both have it. */
export function checkPorts(specs: ServiceSpec[], others: Service[]): void {
  const mine = new Set(specs.map((s) => s.name));
  const taken = new Map<string, string>();
  for (const o of others) {
    if (mine.has(o.spec.name)) continue;
    for (const p of o.spec.endpoint.ports) if (p.mode === 'ingress' && p.published !== null) taken.set(`${p.published}/${p.protocol}`, o.spec.name);
  }
  for (const s of specs) {
    for (const p of s.endpoint.ports) {
      if (p.mode !== 'ingress' || p.published === null) continue;
      const k = `${p.published}/${p.protocol}`;
      const owner = taken.get(k);
      if (owner) throw new ConflictError(`port ${k} is already published by service ${owner}`);
      taken.set(k, s.name);
    }
  }
}

export const FIRST_AUTO_PORT = 30000;

/** Ingress ports given without a published port get the next free one from 30000 up, as Docker does. */
export function assignPublishedPorts(specs: ServiceSpec[], others: Service[]): ServiceSpec[] {
  const mine = new Set(specs.map((s) => s.name));
  const used = new Set<number>();
  for (const o of others) if (!mine.has(o.spec.name)) for (const p of o.spec.endpoint.ports) if (p.published !== null) used.add(p.published);
  for (const s of specs) for (const p of s.endpoint.ports) if (p.published !== null) used.add(p.published);
  // A redeploy keeps the port the cluster picked before.
  const before = new Map(others.map((o) => [o.spec.name, o.spec.endpoint.ports]));
  let next = FIRST_AUTO_PORT;
  return specs.map((s) => ({
    ...s,
    endpoint: {
      ...s.endpoint,
      ports: s.endpoint.ports.map((p) => {
        if (p.published !== null || p.mode !== 'ingress') return p;
        const kept = before.get(s.name)?.find((q) => q.target === p.target && q.protocol === p.protocol && q.mode === 'ingress')?.published;
        if (kept != null) return { ...p, published: kept };
        while (used.has(next)) next++;
        used.add(next);
        return { ...p, published: next };
      }),
    },
  }));
}

/** The stack's secrets and configs, and the data key to seal new ones with (read only when one is new). */
export interface StackBlobs {
  secrets: StackBlob[];
  configs: StackBlob[];
  dek: () => Buffer;
  /** `--with-registry-auth`: what becomes of the services' registry credentials (null: kept as they are). */
  registryAuth?: RegistryAuthPolicy | null;
}

export async function deployStack(store: Store, stackName: string, requested: ServiceSpec[], networks: StackNetwork[], prune: boolean, blobs: StackBlobs): Promise<DeployResult> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [stack, services, nets, secrets, configs] = await Promise.all([
      store.get<Stack>(Keys.stack(stackName)),
      store.list<Service>(Keys.services),
      store.list<Network>(Keys.networks),
      store.list<StoredBlob>(Keys.secrets),
      store.list<StoredBlob>(Keys.configs),
    ]);
    const now = new Date().toISOString();
    const secretPlan = planStackBlobs('secret', stackName, blobs.secrets, secrets, blobs.dek, now);
    const configPlan = planStackBlobs('config', stackName, blobs.configs, configs, blobs.dek, now);
    const resolved = resolveBlobRefs(requested, secretPlan.ids, configPlan.ids);
    const specs = assignPublishedPorts(resolved, services.map((s) => s.value));
    checkPorts(specs, services.map((s) => s.value));
    const existing = nets.map((n) => n.value);
    // The routing mesh's network comes with the first service that publishes in ingress mode.
    const ingressOps: WriteOp[] = [];
    if (specs.some((s) => s.endpoint.ports.some((p) => p.mode === 'ingress')) && !existing.some((n) => n.ingress)) {
      const made = planNetworks([ingressSpec()], existing, now, true);
      ingressOps.push(...made.ops);
      existing.push(...made.networks);
    }
    const netOps = planStackNetworks(stackName, networks, specs, existing, now);
    const plan = planDeploy(stackName, specs, prune, stack, services, now);
    const ops = [...ingressOps, ...netOps, ...secretPlan.ops, ...configPlan.ops, ...plan.ops, ...registryAuthOps(plan.ops, blobs.registryAuth ?? null)];
    if (ops.length > MAX_TXN_OPS) throw new InvalidArgumentError('the stack is too large to deploy in one transaction');
    if (await store.commit(ops)) return plan.result;
  }
  throw new ConflictError(`stack ${stackName} is being changed by someone else; try again`);
}

/** Removes a stack and its services in one transaction; their tasks are reaped by the orchestrator. */
export async function removeStack(store: Store, stackName: string, services: Versioned<Service>[], networks: Versioned<Network>[], stack: Versioned<Stack>): Promise<string[]> {
  const mine = services.filter((s) => s.value.spec.stack === stackName || stack.value.services.includes(s.value.id));
  const ops: WriteOp[] = mine.map((s) => ({ del: s.key, guard: { modRevision: s.modRevision } }));
  // The stack's own networks go with it (their addresses are released by the allocator).
  const rest = services.filter((s) => !mine.includes(s)).map((s) => s.value);
  // So do its secrets and configs, unless a service of another stack came to use them.
  const [secrets, configs] = await Promise.all([store.list<StoredBlob>(Keys.secrets), store.list<StoredBlob>(Keys.configs)]);
  const restSpecs = rest.map((s) => s.spec);
  ops.push(...stackBlobRemovals('secret', stackName, secrets, blobIdsUsed('secret', restSpecs)));
  ops.push(...stackBlobRemovals('config', stackName, configs, blobIdsUsed('config', restSpecs)));
  for (const n of networks.filter((x) => x.value.spec.stack === stackName)) {
    if (rest.some((s) => s.spec.networks.some((sn) => sn.target === n.value.spec.name))) continue;
    ops.push(...planNetworkRemoval(n, []));
  }
  ops.push({ del: stack.key, guard: { modRevision: stack.modRevision } });
  ops.push(...registryAuthOps(ops, null));
  if (ops.length > MAX_TXN_OPS) throw new InvalidArgumentError('stack too large to remove in one transaction');
  if (!(await store.commit(ops))) throw new ConflictError(`stack ${stackName} changed while removing it; try again`);
  return mine.map((s) => s.value.spec.name);
}
