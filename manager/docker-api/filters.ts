/**
 * Docker's `filters` query parameter on the swarm list endpoints (/nodes, /services, /tasks,
 * /networks, /secrets, /configs), with the matching rules of dockerd and SwarmKit, so that a
 * `docker ... ls --filter` and the CLI's own lookups (docs/docker-api-calls.md) select what they
 * select against Docker. Pure predicates over Docker-shaped objects; the routes list, convert,
 * then keep what matches.
 *
 * Where each rule comes from (moby = moby/moby, swarmkit = moby/swarmkit):
 * - keys allowed per endpoint: moby daemon/cluster/filters.go (nodes, tasks, secrets, configs),
 *   daemon/cluster/services.go GetServices (services), daemon/network/filter.go (networks);
 *   an unknown key is `invalid filter '<key>'` (moby api/types/filters errors.go).
 * - nodes, services, tasks: swarmkit manager/controlapi/{node,service,task}.go List* and
 *   common.go filterContains / filterContainsPrefix / filterMatchLabels.
 * - secrets, configs: swarmkit manager/controlapi/{secret,config}.go, whose name and id filters
 *   are alternatives (store.Or), not conditions that all hold.
 * - networks: moby daemon/network/filter.go (Filter.Matches) and api/types/filters Args.Match.
 */
import { InvalidArgumentError } from '../../shared/errors';
import type { DockerNetwork, DockerNode } from './object-types';

/** Filter key → its values (Docker's filters.Args; a key may be present with no values). */
export type Filters = Map<string, string[]>;

export const NODE_FILTERS = ['id', 'label', 'membership', 'name', 'node.label', 'role'] as const;
/** `runtime` is Docker's too (it defaults to `container`, the only kind tsswarm runs). */
export const SERVICE_FILTERS = ['id', 'label', 'mode', 'name', 'runtime'] as const;
/** `_up-to-date` is internal to Docker's CLI (it polls convergence with it), hence the underscore. */
export const TASK_FILTERS = ['_up-to-date', 'desired-state', 'id', 'label', 'name', 'node', 'runtime', 'service'] as const;
export const NETWORK_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
/** Secrets: `names` (exact) besides `name` (prefix). */
export const BLOB_FILTERS = ['id', 'label', 'name', 'names'] as const;
export const SECRET_FILTERS = BLOB_FILTERS;
/** Configs: dockerd accepts no `names` for them (daemon/cluster/filters.go newListConfigsFilters). */
export const CONFIG_FILTERS = ['id', 'label', 'name'] as const;

export type FilterKind = 'node' | 'service' | 'task' | 'network' | 'secret' | 'config';

const ALLOWED: Record<FilterKind, readonly string[]> = {
  node: NODE_FILTERS,
  service: SERVICE_FILTERS,
  task: TASK_FILTERS,
  network: NETWORK_FILTERS,
  secret: SECRET_FILTERS,
  config: CONFIG_FILTERS,
};

/** SwarmKit's TaskState names, which `desired-state` values are read as (case-blind). */
const TASK_STATES = ['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running', 'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'];
/** dockerd's predefined local networks; tsswarm has none of them, so every network is `custom`. */
const PREDEFINED_NETWORKS = new Set(['bridge', 'host', 'none', 'default']);

// ---------------------------------------------------------------------------------------------
// Parsing and checking

/**
 * The `filters` query value. Current clients send `{"name":{"web":true}}` (a set: the values are
 * the keys, whatever their boolean, as dockerd's Args.Get reads them); clients before API 1.22
 * sent `{"name":["web"]}`. A null value is a key with no values.
 */
export function parseFilters(raw: string | null): Filters {
  const f: Filters = new Map();
  if (raw === null || raw === '') return f;
  const bad = () => new InvalidArgumentError(`invalid filter: filters must be JSON such as {"name":{"web":true}}, not ${raw.length > 80 ? `${raw.slice(0, 80)}...` : raw}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad();
  }
  if (parsed === null) return f;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw bad();
  for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (v === null) f.set(key, []);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) f.set(key, [...new Set(v as string[])]);
    else if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'boolean')) f.set(key, Object.keys(v));
    else throw bad();
  }
  return f;
}

/** Docker's refusal of a key the endpoint does not filter on, in Docker's words. */
export function checkFilterKeys(f: Filters, allowed: readonly string[]): void {
  for (const key of f.keys()) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
  }
}

/**
 * Everything dockerd refuses before it lists: unknown keys, and the values it reads as enums,
 * with dockerd's messages. The *Matches predicates assume this passed (they read an unknown
 * value as matching nothing rather than throw per object).
 */
export function checkFilters(kind: FilterKind, f: Filters): void {
  checkFilterKeys(f, ALLOWED[kind]);
  const oneOf = (key: string, allowed: readonly string[], message: (v: string) => string) => {
    for (const v of f.get(key) ?? []) {
      // dockerd skips an empty value (daemon/cluster/filters.go: `else if r != ""`).
      if (v !== '' && !allowed.includes(v.toLowerCase())) throw new InvalidArgumentError(message(v));
    }
  };
  if (kind === 'node') {
    oneOf('role', ['manager', 'worker'], (v) => `Invalid role filter: '${v}'`);
    oneOf('membership', ['accepted', 'pending'], (v) => `Invalid membership filter: '${v}'`);
  }
  if (kind === 'task') oneOf('desired-state', TASK_STATES, (v) => `Invalid desired-state filter: '${v}'`);
  if (kind === 'network') {
    const dangling = f.get('dangling') ?? [];
    if (dangling.length > 1) throw new InvalidArgumentError(`got more than one value for filter key "dangling"`);
    if (dangling.length === 1 && !['0', '1', 'false', 'true'].includes(dangling[0]!)) {
      throw new InvalidArgumentError(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
    }
    for (const t of f.get('type') ?? []) {
      if (t !== 'builtin' && t !== 'custom') throw new InvalidArgumentError(`invalid filter: 'type'='${t}'`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Matching rules

/** The values of a key, or null when the key sets no condition (absent, or present but empty). */
function values(f: Filters, key: string): string[] | null {
  const v = f.get(key);
  return v === undefined || v.length === 0 ? null : v;
}

/** swarmkit filterContains: exact, any of the values. */
const anyExact = (wanted: string[] | null, s: string): boolean => wanted === null || wanted.includes(s);
/** swarmkit filterContainsPrefix: ids and names are matched as prefixes, case-sensitively. */
const anyPrefix = (wanted: string[] | null, s: string): boolean => wanted === null || wanted.some((w) => s.startsWith(w));

/**
 * The `label` filter of swarm objects: "key" (present, any value) or "key=value"; all must hold
 * (swarmkit filterMatchLabels over moby's ConvertKVStringsToMap, so "key=" is the same as "key").
 */
export function labelsMatch(labels: Record<string, string>, wanted: string[] | undefined): boolean {
  for (const w of wanted ?? []) {
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    const value = eq < 0 ? '' : w.slice(eq + 1);
    if (!Object.prototype.hasOwnProperty.call(labels, key)) return false;
    if (value !== '' && labels[key] !== value) return false;
  }
  return true;
}

/**
 * A node. `name` is a prefix of the hostname (SwarmKit's node name index is
 * Description.Hostname; Spec.Name plays no part); `label` the engine's labels, `node.label` the
 * operator's; `id` a prefix. Every tsswarm node joined with a token, so all are `accepted`.
 */
export function nodeMatches(n: DockerNode, f: Filters): boolean {
  const roles = values(f, 'role')?.filter((r) => r !== '').map((r) => r.toLowerCase()) ?? [];
  const memberships = values(f, 'membership')?.filter((m) => m !== '').map((m) => m.toLowerCase()) ?? [];
  return (
    anyPrefix(values(f, 'name'), n.Description.Hostname) &&
    anyPrefix(values(f, 'id'), n.ID) &&
    labelsMatch(n.Description.Engine.Labels, values(f, 'label') ?? undefined) &&
    labelsMatch(n.Spec.Labels, values(f, 'node.label') ?? undefined) &&
    (roles.length === 0 || roles.includes(n.Spec.Role)) &&
    (memberships.length === 0 || memberships.includes('accepted'))
  );
}

type ModeName = 'replicated' | 'global' | 'replicated-job' | 'global-job';
const MODES: Record<string, ModeName> = { Replicated: 'replicated', Global: 'global', ReplicatedJob: 'replicated-job', GlobalJob: 'global-job' };

function modeName(mode: object): ModeName | null {
  for (const [field, name] of Object.entries(MODES)) {
    const v = (mode as Record<string, unknown>)[field];
    if (v !== undefined && v !== null) return name;
  }
  return null;
}

/**
 * A service. `name` is a prefix of the service name, as in Docker (`docker service ps app_web`
 * asks `name=app_web` and gets app_web2 too; the CLI keeps the exact one); `id` a prefix;
 * `mode` exact (dockerd's own filter, not SwarmKit's).
 */
export function serviceMatches(s: { ID: string; Spec: { Name?: string; Labels?: Record<string, string>; Mode?: object } }, f: Filters): boolean {
  const mode = values(f, 'mode');
  return (
    anyPrefix(values(f, 'name'), s.Spec.Name ?? '') &&
    anyPrefix(values(f, 'id'), s.ID) &&
    labelsMatch(s.Spec.Labels ?? {}, values(f, 'label') ?? undefined) &&
    anyExact(values(f, 'runtime'), 'container') &&
    (mode === null || mode.includes(modeName(s.Spec.Mode ?? {}) ?? ''))
  );
}

export interface TaskMatchContext {
  serviceName: (serviceId: string) => string | null;
  serviceLabels: (serviceId: string) => Record<string, string>;
  nodeHostname: (nodeId: string) => string | null;
  /** The task runs its service's current spec (SwarmKit: !orchestrator.IsTaskDirty). */
  upToDate: (taskId: string) => boolean;
}

/**
 * SwarmKit's task name (api/naming Task): `<service>.<slot>.<task id>`, the node id standing for
 * the slot of a global service's task. `docker service ps` shows it without the id.
 */
export function taskFilterName(serviceName: string, t: { ID: string; NodeID?: string; Slot?: number }): string {
  return `${serviceName}.${t.Slot ? String(t.Slot) : (t.NodeID ?? '')}.${t.ID}`;
}

/**
 * dockerd turns each `service` and `node` value into an id (a full id, else a name / hostname,
 * else an id prefix) before SwarmKit matches ids exactly; per task, that is any of the three.
 * (dockerd answers 404 for a value that names nothing and refuses an ambiguous prefix: that is
 * the route's to say, it sees all services and nodes.)
 */
function refMatches(wanted: string[] | null, id: string | undefined, name: string | null): boolean {
  if (wanted === null) return true;
  if (id === undefined || id === '') return false;
  return wanted.some((w) => w === id || (name !== null && w === name) || (w !== '' && id.startsWith(w)));
}

/**
 * A task. `label` is its service's labels (SwarmKit matches Task.ServiceAnnotations.Labels, not
 * the container's): `docker stack ps app` asks for com.docker.stack.namespace=app. `name` is a
 * prefix of SwarmKit's task name (taskFilterName), so `name=app_web.1` also selects
 * app_web.10's tasks, as in Docker. `_up-to-date` filters on any value, even "false" (dockerd
 * reads only whether the key has values). `desired-state` values are case-blind.
 */
export function taskMatches(
  t: { ID: string; ServiceID: string; NodeID?: string; Slot?: number; DesiredState: string },
  f: Filters,
  o: TaskMatchContext,
): boolean {
  const names = values(f, 'name');
  const states = values(f, 'desired-state')?.filter((s) => s !== '').map((s) => s.toLowerCase()) ?? [];
  const runtimes = values(f, 'runtime');
  return (
    anyPrefix(values(f, 'id'), t.ID) &&
    (names === null || anyPrefix(names, taskFilterName(o.serviceName(t.ServiceID) ?? '', t))) &&
    (values(f, 'label') === null || labelsMatch(o.serviceLabels(t.ServiceID), values(f, 'label') ?? undefined)) &&
    refMatches(values(f, 'service'), t.ServiceID, values(f, 'service') === null ? null : o.serviceName(t.ServiceID)) &&
    refMatches(values(f, 'node'), t.NodeID, values(f, 'node') === null || !t.NodeID ? null : o.nodeHostname(t.NodeID)) &&
    // dockerd adds runtime=container and runtime="" when none is asked: container tasks only.
    (runtimes === null || runtimes.includes('container') || runtimes.includes('')) &&
    (states.length === 0 || states.includes(t.DesiredState.toLowerCase())) &&
    (values(f, '_up-to-date') === null || o.upToDate(t.ID))
  );
}

/** Go's regexp has `(?i)` as a leading flag group; JavaScript takes it as a flag. */
function goRegExp(pattern: string): RegExp | null {
  try {
    return pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), 'i') : new RegExp(pattern);
  } catch {
    return null; // dockerd skips a value that does not compile
  }
}

/**
 * moby Args.Match: exact, else the value as an unanchored regular expression (`name=app` finds
 * app_net and myapp; `name=^app_` only the former). Patterns run in JavaScript's engine, which
 * backtracks where Go's does not; the callers are API clients holding full control of the
 * cluster, so a slow pattern gives them nothing they did not have.
 */
function anyMatch(wanted: string[] | null, s: string): boolean {
  return wanted === null || wanted.includes(s) || wanted.some((w) => goRegExp(w)?.test(s) === true);
}

/** moby MatchKVList (networks): like labelsMatch, but "key=" asks for an empty value. */
function kvListMatch(labels: Record<string, string>, wanted: string[] | null): boolean {
  if (wanted === null) return true;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(labels, key)) return false;
    return eq < 0 || labels[key] === w.slice(eq + 1);
  });
}

/**
 * A network (moby daemon/network/filter.go). `name` and `id` as Args.Match; `driver`, `scope`
 * exact; `type` builtin|custom (tsswarm has only custom networks: ingress is custom in Docker
 * too); `dangling=true` keeps networks nothing uses, `false` those in use: `inUse` says whether
 * a service is attached (Docker's service attachments), endpoints count too.
 */
export function networkMatches(n: DockerNetwork, f: Filters, o: { inUse?: (networkId: string) => boolean } = {}): boolean {
  const predefined = PREDEFINED_NETWORKS.has(n.Name);
  const dangling = values(f, 'dangling');
  const types = values(f, 'type');
  if (!anyExact(values(f, 'driver'), n.Driver)) return false;
  if (!anyMatch(values(f, 'name'), n.Name)) return false;
  if (!anyMatch(values(f, 'id'), n.Id)) return false;
  if (!kvListMatch(n.Labels, values(f, 'label'))) return false;
  if (!anyExact(values(f, 'scope'), n.Scope)) return false;
  if (dangling !== null) {
    const used = predefined || Object.keys(n.Containers).length > 0 || o.inUse?.(n.Id) === true;
    const danglingOnly = dangling[0] === 'true' || dangling[0] === '1';
    if (danglingOnly === used) return false;
  }
  if (types !== null && !types.some((t) => (t === 'builtin' ? predefined : t === 'custom' ? !predefined : false))) return false;
  return true;
}

/**
 * A secret or config (swarmkit controlapi secret.go / config.go ListSecrets): `names` (exact),
 * `name` (prefix) and `id` (prefix) are alternatives — an object matching any one of them is
 * listed — and names match case-blind (SwarmKit's name index is lower-cased); `label` must hold
 * as well.
 */
export function blobMatches(b: { ID: string; Spec: { Name: string; Labels?: Record<string, string> } }, f: Filters): boolean {
  const names = values(f, 'names');
  const prefixes = values(f, 'name');
  const ids = values(f, 'id');
  const lower = b.Spec.Name.toLowerCase();
  const selected =
    (names === null && prefixes === null && ids === null) ||
    (names?.some((n) => n.toLowerCase() === lower) ?? false) ||
    (prefixes?.some((p) => lower.startsWith(p.toLowerCase())) ?? false) ||
    (ids?.some((i) => b.ID.startsWith(i)) ?? false);
  return selected && labelsMatch(b.Spec.Labels ?? {}, values(f, 'label') ?? undefined);
}
