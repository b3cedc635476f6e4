/**
 * tsswarm's ServiceSpec ↔ Docker's swarm ServiceSpec (Engine API v1.41 JSON, service-types.ts).
 * tsswarm's model is Docker's swarm model with milliseconds and camelCase, so most fields map one
 * to one; the rest is said where it happens:
 * - durations: Docker's int64 nanoseconds ↔ milliseconds, rounded as the compose loader rounds;
 *   a duration (or count) tsswarm keeps as `null` for "the default" is an absent field, and any
 *   number sent, 0 too, is kept as it is (Go clients leave zeros out, so a 0 is meant);
 * - ContainerSpec.Command replaces the image's ENTRYPOINT and Args its CMD (SwarmKit's meaning,
 *   and docker/cli's compose conversion: `entrypoint` → Command, `command` → Args), so Command ↔
 *   `entrypoint` and Args ↔ `command`;
 * - Hosts: Docker's `IP name [alias...]` lines ↔ tsswarm's `name:IP` entries;
 * - TaskTemplate.Networks: Docker shows network ids; a client may send ids or names;
 * - what Docker's swarm cannot express is under `x-tsswarm` (service-types.ts).
 * A field absent from a client's JSON means what the compose loader makes of the same key absent
 * from a stack file, so a service made with `docker service create` and one made from a stack
 * file with the same settings are one spec (test/unit/manager/docker-api/).
 *
 * Pure: no store, no network; what is needed of the cluster comes through SpecRefs.
 */
import { InvalidArgumentError, isTsswarmError } from '../../shared/errors';
import { capabilityName } from '../../shared/capabilities';
import { parseConstraint, CONSTRAINT_KEYS } from '../../shared/constraints';
import { parseHostsAddress, parseIpv4 } from '../../shared/compose/addresses';
import { normalizeImageRef } from '../../shared/compose/image-ref';
import { isNamespacedSysctl, signalName, ULIMIT_NAMES } from '../../shared/runtime-names';
import { parseSeccompProfile } from '../../shared/seccomp-profile';
import { DEFAULT_RESTART_DELAY_MS, DEFAULT_STOP_GRACE_PERIOD_MS, DEFAULT_UPDATE_MONITOR_MS, NAMESPACE_LABEL } from '../../shared/task-spec';
import { defaultRuntimeSettings } from '../../shared/types';
import type {
  BindPropagation,
  ConfigReference,
  ContainerSpec,
  DeviceMapping,
  EndpointSpec,
  FileTarget,
  HealthCheck,
  LogDriver,
  Mount,
  Placement,
  PortConfig,
  Resources,
  RestartPolicy,
  RuntimeSettings,
  SecretReference,
  ServiceDependency,
  ServiceMode,
  ServiceNetwork,
  ServiceSpec,
  TaskSpec,
  TmpfsMount,
  Ulimit,
  UpdateConfig,
} from '../../shared/types';
import { NetworkNotFoundError } from '../api/networks';
import type {
  DockerContainerExtension,
  DockerContainerSpec,
  DockerEndpointSpec,
  DockerMount,
  DockerPrivileges,
  DockerResourceRequirements,
  DockerServiceExtension,
  DockerServiceSpec,
  DockerTaskSpec,
  DockerUpdateConfig,
} from './service-types';

export interface SpecRefs {
  /** A network's id by its name (Docker shows TaskTemplate.Networks[].Target as ids), null if unknown. */
  networkId(name: string): string | null;
  /** A Target as a client sent it (an id, an id prefix is NOT allowed, or a name) → the network's full name, null when none. */
  networkName(target: string): string | null;
  /** A network's subnet (CIDR) by its id, null if unknown: Docker shows a virtual IP with its prefix, tsswarm stores it bare. */
  networkSubnet(id: string): string | null;
}

/** Docker's predefined network a service joins to use its host's network namespace (TaskSpec.hostNetwork). */
const HOST_NETWORK = 'host';
const PROPAGATIONS: readonly BindPropagation[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const TMPFS_FLAGS = ['ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev'];
/** The log drivers the agent can honour (it writes container logs to files), with their options: as shared/compose/logging.ts. */
const LOG_OPTIONS: Record<string, readonly string[]> = {
  'json-file': ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-size', 'max-file', 'compress'],
  none: [],
};
const SPREAD = /^(node\.(id|hostname|role|platform\.os|platform\.arch)|(node|engine)\.labels\.[a-zA-Z0-9_.\-/]+)$/;
/** tsswarm's "unlimited" rlimit, as the compose loader writes `-1`. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;
/** docker/cli's default mode of a secret or config file. */
const DEFAULT_FILE_MODE = 0o444;
const DEPENDENCY_CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;

const NS_PER_MS = 1_000_000;
const toNs = (ms: number): number => ms * NS_PER_MS;
const toMs = (ns: number): number => Math.round(ns / NS_PER_MS);

// ================================================================================================
// tsswarm → Docker
// ================================================================================================

export function toDockerServiceSpec(spec: ServiceSpec, refs: SpecRefs): DockerServiceSpec {
  const out: DockerServiceSpec = {
    Name: spec.name,
    // Docker's Annotations.Labels has no omitempty: a service always shows its labels, {} too.
    Labels: { ...spec.labels },
    TaskTemplate: toDockerTaskSpec(spec.task, spec.networks, refs),
    Mode: spec.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: spec.replicas } },
  };
  if (spec.update !== null) out.UpdateConfig = dockerUpdateConfig(spec.update);
  if (spec.rollback !== null) out.RollbackConfig = dockerUpdateConfig(spec.rollback);
  out.EndpointSpec = dockerEndpointSpec(spec.endpoint);
  const ext: DockerServiceExtension = {};
  if (spec.dependsOn !== undefined && spec.dependsOn.length > 0) ext.DependsOn = spec.dependsOn.map((d) => ({ Service: d.service, Condition: d.condition }));
  if (spec.rebalance !== undefined) ext.Rebalance = spec.rebalance;
  if (Object.keys(ext).length > 0) out['x-tsswarm'] = ext;
  return out;
}

/** `networks`: the service's (a task's spec copy holds none of its own; Docker's task spec lists them). */
export function toDockerTaskSpec(task: TaskSpec, networks: ServiceNetwork[], refs: SpecRefs): DockerTaskSpec {
  const out: DockerTaskSpec = { ContainerSpec: dockerContainerSpec(task.container), Resources: dockerResources(task.resources) };
  if (task.restartPolicy !== null) out.RestartPolicy = dockerRestartPolicy(task.restartPolicy);
  out.Placement = dockerPlacement(task.placement);
  // An unknown name (a network removed since) is shown as the name: better than dropping the membership.
  const nets = task.hostNetwork
    ? [{ Target: refs.networkId(HOST_NETWORK) ?? HOST_NETWORK }]
    : networks.map((n) => ({ Target: refs.networkId(n.target) ?? n.target, ...(n.aliases.length > 0 ? { Aliases: [...n.aliases] } : {}) }));
  if (nets.length > 0) out.Networks = nets;
  if (task.logDriver !== null) out.LogDriver = { Name: task.logDriver.name, ...nonEmptyMap('Options', task.logDriver.options) };
  out.ForceUpdate = task.forceUpdate;
  out.Runtime = 'container';
  return out;
}

function dockerContainerSpec(c: ContainerSpec): DockerContainerSpec {
  const r = c.runtime;
  const out: DockerContainerSpec = { Image: c.image, ...nonEmptyMap('Labels', c.labels) };
  if (c.entrypoint !== null) out.Command = [...c.entrypoint];
  if (c.command !== null) out.Args = [...c.command];
  if (c.hostname !== null) out.Hostname = c.hostname;
  if (c.env.length > 0) out.Env = [...c.env];
  if (c.workingDir !== null) out.Dir = c.workingDir;
  if (c.user !== null) out.User = c.user;
  const privileges = dockerPrivileges(r);
  if (privileges !== null) out.Privileges = privileges;
  if (r.init) out.Init = true;
  if (r.stopSignal !== null) out.StopSignal = r.stopSignal;
  if (c.tty === true) out.TTY = true;
  if (c.openStdin === true) out.OpenStdin = true;
  if (r.readOnly) out.ReadOnly = true;
  if (c.mounts.length > 0) out.Mounts = c.mounts.map(dockerMount);
  out.StopGracePeriod = toNs(c.stopGracePeriodMs);
  if (c.healthcheck !== null) {
    const h = c.healthcheck;
    out.Healthcheck = {
      ...(h.test.length > 0 ? { Test: [...h.test] } : {}),
      ...(h.intervalMs !== null ? { Interval: toNs(h.intervalMs) } : {}),
      ...(h.timeoutMs !== null ? { Timeout: toNs(h.timeoutMs) } : {}),
      ...(h.startPeriodMs !== null ? { StartPeriod: toNs(h.startPeriodMs) } : {}),
      ...(h.startIntervalMs !== null ? { StartInterval: toNs(h.startIntervalMs) } : {}),
      ...(h.retries !== null ? { Retries: h.retries } : {}),
    };
  }
  if (c.extraHosts.length > 0) out.Hosts = c.extraHosts.map(hostsLine);
  if (c.dns.length > 0 || c.dnsSearch.length > 0) {
    out.DNSConfig = { ...(c.dns.length > 0 ? { Nameservers: [...c.dns] } : {}), ...(c.dnsSearch.length > 0 ? { Search: [...c.dnsSearch] } : {}) };
  }
  if (c.secrets.length > 0) out.Secrets = c.secrets.map((s) => ({ File: dockerFile(s.file), SecretID: s.secretId, SecretName: s.secretName }));
  if (c.configs.length > 0) out.Configs = c.configs.map((s) => ({ File: dockerFile(s.file), ConfigID: s.configId, ConfigName: s.configName }));
  Object.assign(out, nonEmptyMap('Sysctls', r.sysctls));
  if (r.capAdd.length > 0) out.CapabilityAdd = [...r.capAdd];
  if (r.capDrop.length > 0) out.CapabilityDrop = [...r.capDrop];
  if (r.ulimits.length > 0) out.Ulimits = r.ulimits.map((u) => ({ Name: u.name, Hard: u.hard, Soft: u.soft }));
  if (r.oomScoreAdj !== null) out.OomScoreAdj = r.oomScoreAdj;
  const ext: DockerContainerExtension = {};
  if (r.privileged) ext.Privileged = true;
  if (r.devices.length > 0) ext.Devices = r.devices.map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer, CgroupPermissions: d.permissions }));
  if (r.tmpfs.length > 0) {
    ext.Tmpfs = r.tmpfs.map((t) => ({ Target: t.target, ...(t.sizeBytes !== null ? { SizeBytes: t.sizeBytes } : {}), ...(t.mode !== null ? { Mode: t.mode } : {}), ...(t.options.length > 0 ? { Options: [...t.options] } : {}) }));
  }
  if (r.shmSizeBytes !== null) ext.ShmSize = r.shmSizeBytes;
  if (r.usernsMode !== null) ext.UsernsMode = r.usernsMode;
  if (Object.keys(ext).length > 0) out['x-tsswarm'] = ext;
  return out;
}

function dockerPrivileges(r: RuntimeSettings): DockerPrivileges | null {
  if (r.seccomp.mode === 'default' && !r.noNewPrivileges) return null;
  const out: DockerPrivileges = {};
  if (r.seccomp.mode !== 'default') {
    out.Seccomp = { Mode: r.seccomp.mode, ...(r.seccomp.profile !== null ? { Profile: Buffer.from(r.seccomp.profile, 'utf8').toString('base64') } : {}) };
  }
  if (r.noNewPrivileges) out.NoNewPrivileges = true;
  return out;
}

function dockerMount(m: Mount): DockerMount {
  const out: DockerMount = { Type: m.type, ...(m.source !== '' ? { Source: m.source } : {}), Target: m.target, ...(m.readOnly ? { ReadOnly: true } : {}) };
  if (m.bind !== null) out.BindOptions = { Propagation: m.bind.propagation, ...(m.bind.createHostPath ? { CreateMountpoint: true } : {}) };
  const v = m.volume;
  if (v !== null && (v.noCopy || Object.keys(v.labels).length > 0 || v.driver !== null)) {
    out.VolumeOptions = {
      ...(v.noCopy ? { NoCopy: true } : {}),
      ...nonEmptyMap('Labels', v.labels),
      ...(v.driver !== null ? { DriverConfig: { Name: v.driver.name, ...nonEmptyMap('Options', v.driver.options) } } : {}),
    };
  }
  const t = m.tmpfs;
  if (t !== null && (t.sizeBytes !== null || t.mode !== null)) out.TmpfsOptions = { ...(t.sizeBytes !== null ? { SizeBytes: t.sizeBytes } : {}), ...(t.mode !== null ? { Mode: t.mode } : {}) };
  return out;
}

function dockerResources(r: Resources): DockerResourceRequirements {
  const l = r.limits;
  const v = r.reservations;
  const generic = Object.entries(v.generic).map(([Kind, Value]) => ({ DiscreteResourceSpec: { Kind, Value } }));
  return {
    Limits: { ...(l.nanoCpus !== null ? { NanoCPUs: l.nanoCpus } : {}), ...(l.memoryBytes !== null ? { MemoryBytes: l.memoryBytes } : {}), ...(l.pids !== null ? { Pids: l.pids } : {}) },
    Reservations: { ...(v.nanoCpus !== null ? { NanoCPUs: v.nanoCpus } : {}), ...(v.memoryBytes !== null ? { MemoryBytes: v.memoryBytes } : {}), ...(generic.length > 0 ? { GenericResources: generic } : {}) },
  };
}

function dockerRestartPolicy(p: RestartPolicy): DockerTaskSpec['RestartPolicy'] {
  return {
    Condition: p.condition,
    ...(p.delayMs !== null ? { Delay: toNs(p.delayMs) } : {}),
    ...(p.maxAttempts !== null ? { MaxAttempts: p.maxAttempts } : {}),
    ...(p.windowMs !== null ? { Window: toNs(p.windowMs) } : {}),
  };
}

function dockerPlacement(p: Placement): DockerTaskSpec['Placement'] {
  return {
    ...(p.constraints.length > 0 ? { Constraints: [...p.constraints] } : {}),
    ...(p.preferences.length > 0 ? { Preferences: p.preferences.map((x) => ({ Spread: { SpreadDescriptor: x.spread } })) } : {}),
    ...(p.maxReplicas > 0 ? { MaxReplicas: p.maxReplicas } : {}),
  };
}

function dockerUpdateConfig(u: UpdateConfig): DockerUpdateConfig {
  return {
    Parallelism: u.parallelism,
    ...(u.delayMs !== 0 ? { Delay: toNs(u.delayMs) } : {}),
    FailureAction: u.failureAction,
    ...(u.monitorMs !== null ? { Monitor: toNs(u.monitorMs) } : {}),
    MaxFailureRatio: u.maxFailureRatio,
    Order: u.order,
  };
}

function dockerEndpointSpec(e: EndpointSpec): DockerEndpointSpec {
  return { Mode: e.mode, ...(e.ports.length > 0 ? { Ports: e.ports.map(dockerPort) } : {}) };
}

export function dockerPort(p: PortConfig): NonNullable<DockerEndpointSpec['Ports']>[number] {
  return { Protocol: p.protocol, TargetPort: p.target, ...(p.published !== null ? { PublishedPort: p.published } : {}), PublishMode: p.mode };
}

function dockerFile(f: FileTarget): { Name: string; UID: string; GID: string; Mode: number } {
  return { Name: f.name, UID: f.uid, GID: f.gid, Mode: f.mode };
}

/** `name:IP` → `IP name`; the IP may hold colons (IPv6), the name never does. */
function hostsLine(entry: string): string {
  const i = entry.indexOf(':');
  return `${entry.slice(i + 1)} ${entry.slice(0, i)}`;
}

/** Go's omitempty for a map: `{key: {...}}` when it has entries, `{}` (nothing to spread) when not. */
function nonEmptyMap<K extends string>(key: K, m: Record<string, string>): { [P in K]?: Record<string, string> } {
  return (Object.keys(m).length > 0 ? { [key]: { ...m } } : {}) as { [P in K]?: Record<string, string> };
}

// ================================================================================================
// Docker → tsswarm
// ================================================================================================

/**
 * `body` (unknown JSON from a client) → the ServiceSpec it asks for, or an InvalidArgumentError naming
 * the field (`invalid Mode: job services are not supported by tsswarm`); a network that does not
 * exist is a NetworkNotFoundError. Absent fields take the compose loader's defaults. Not checked
 * here, as for every other client (the route's validateSpec and its lookups do it): that secrets,
 * configs and the image exist, published-port conflicts, the name's shape. An empty Name is left
 * '' (Docker's daemon would pick a random name; the route decides).
 *
 * What a Docker client cannot say, and the route must carry over on update (`current`):
 * `docker service update` (docker/cli 20.10) reads the service, decodes it into the v1.41 Go types,
 * changes what its flags say and sends the whole spec back. Everything not in those types is lost on
 * the way: tsswarm's `x-tsswarm` extensions (dependsOn, rebalance, privileged, devices, tmpfs,
 * shm size, userns mode) and the fields Docker added after v1.41 (Privileges.Seccomp and
 * NoNewPrivileges, OomScoreAdj, BindOptions.CreateMountpoint, Healthcheck.StartInterval). Read
 * without `current`, such a body would silently drop them (a scale would unconfine a service). So
 * pass the stored spec as `current` on update: each of those fields absent from the body is then
 * taken from it, and a client that sends one (a newer client, or tsswarm's own) still sets it. On
 * create pass nothing: absent is the default.
 *
 * ForceUpdate is taken as sent (the docker CLI sends it back, bumped for --force). Platforms are
 * accepted and ignored: Docker's daemon derives them from the image's manifest (the CLI asks it
 * to, QueryRegistry) and clients only echo them back; tsswarm's resolver checks the image itself.
 */
export function fromDockerServiceSpec(body: unknown, refs: SpecRefs, current: ServiceSpec | null = null): ServiceSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('service spec', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  const name = string(b.Name, 'Name') ?? '';
  const labels = stringMap(b.Labels, 'Labels');
  const { mode, replicas } = serviceMode(b.Mode);
  const tt = object(b.TaskTemplate, 'TaskTemplate') ?? fail('TaskTemplate', 'missing: a service needs TaskTemplate.ContainerSpec');
  // Docker reads the deprecated top-level Networks only when the task template has none.
  const useOld = list(tt.Networks, 'TaskTemplate.Networks').length === 0 && list(b.Networks, 'Networks').length > 0;
  const { task, networks } = taskSpec(tt, useOld ? { value: b.Networks, path: 'Networks' } : { value: tt.Networks, path: 'TaskTemplate.Networks' }, refs, current?.task ?? null);
  const endpoint = endpointSpec(b.EndpointSpec);
  const spec: ServiceSpec = {
    name,
    stack: labels[NAMESPACE_LABEL] ?? null,
    mode,
    replicas,
    task,
    labels,
    networks,
    endpoint,
    update: b.UpdateConfig === undefined || b.UpdateConfig === null ? null : updateConfig(b.UpdateConfig, 'UpdateConfig', false),
    rollback: b.RollbackConfig === undefined || b.RollbackConfig === null ? null : updateConfig(b.RollbackConfig, 'RollbackConfig', true),
  };
  const ext = b['x-tsswarm'];
  if (ext === undefined || ext === null) {
    if (current?.dependsOn !== undefined) spec.dependsOn = current.dependsOn.map((d) => ({ ...d }));
    if (current?.rebalance !== undefined) spec.rebalance = current.rebalance;
  } else {
    Object.assign(spec, serviceExtension(ext, name));
  }
  return spec;
}

function serviceMode(v: unknown): { mode: ServiceMode; replicas: number } {
  const m = object(v, 'Mode');
  if (m === null) return { mode: 'replicated', replicas: 1 };
  const given = ['Replicated', 'Global', 'ReplicatedJob', 'GlobalJob'].filter((k) => m[k] !== undefined && m[k] !== null);
  if (given.includes('ReplicatedJob') || given.includes('GlobalJob')) fail('Mode', 'job services are not supported by tsswarm');
  if (given.length > 1) fail('Mode', 'give one of Replicated or Global');
  if (given[0] === 'Global') {
    object(m.Global, 'Mode.Global');
    return { mode: 'global', replicas: 0 };
  }
  const r = object(m.Replicated, 'Mode.Replicated');
  // Docker's daemon: no mode, or Replicated without Replicas, is one replica.
  return { mode: 'replicated', replicas: integer(r?.Replicas, 'Mode.Replicated.Replicas') ?? 1 };
}

function serviceExtension(v: unknown, service: string): Pick<ServiceSpec, 'dependsOn' | 'rebalance'> {
  const e = object(v, 'x-tsswarm') ?? {};
  const out: Pick<ServiceSpec, 'dependsOn' | 'rebalance'> = {};
  const deps: ServiceDependency[] = list(e.DependsOn, 'x-tsswarm.DependsOn').map((d, i) => {
    const at = `x-tsswarm.DependsOn[${i}]`;
    const o = object(d, at) ?? fail(at, 'must be {Service, Condition}');
    const s = string(o.Service, `${at}.Service`);
    if (s === null || s === '') fail(`${at}.Service`, 'missing: the full name of a service of the stack');
    if (s === service) fail(`${at}.Service`, 'a service cannot depend on itself');
    return { service: s, condition: oneOf(o.Condition, `${at}.Condition`, DEPENDENCY_CONDITIONS) ?? 'service_started' };
  });
  if (deps.length > 0) out.dependsOn = deps;
  const rebalance = oneOf(e.Rebalance, 'x-tsswarm.Rebalance', ['auto', 'manual'] as const);
  if (rebalance !== null) out.rebalance = rebalance;
  return out;
}

// ---- task --------------------------------------------------------------------------------------

function taskSpec(t: Record<string, unknown>, nets: { value: unknown; path: string }, refs: SpecRefs, cur: TaskSpec | null): { task: TaskSpec; networks: ServiceNetwork[] } {
  if (t.PluginSpec !== undefined && t.PluginSpec !== null) fail('TaskTemplate.PluginSpec', 'plugin tasks are not supported by tsswarm');
  if (t.NetworkAttachmentSpec !== undefined && t.NetworkAttachmentSpec !== null) fail('TaskTemplate.NetworkAttachmentSpec', 'network attachment tasks are not supported by tsswarm');
  const runtime = string(t.Runtime, 'TaskTemplate.Runtime');
  if (runtime !== null && runtime !== '' && runtime !== 'container') fail('TaskTemplate.Runtime', `only container tasks are supported by tsswarm, got ${JSON.stringify(runtime)}`);
  const container = containerSpec(t.ContainerSpec, 'TaskTemplate.ContainerSpec', cur?.container ?? null);
  const joined = serviceNetworks(nets.value, nets.path, refs);
  const task: TaskSpec = {
    container,
    hostNetwork: joined.hostNetwork,
    resources: resources(t.Resources, 'TaskTemplate.Resources'),
    placement: placement(t.Placement, 'TaskTemplate.Placement'),
    restartPolicy: t.RestartPolicy === undefined || t.RestartPolicy === null ? null : restartPolicy(t.RestartPolicy, 'TaskTemplate.RestartPolicy'),
    logDriver: logDriver(t.LogDriver, 'TaskTemplate.LogDriver'),
    forceUpdate: integer(t.ForceUpdate, 'TaskTemplate.ForceUpdate') ?? 0,
  };
  return { task, networks: joined.networks };
}

function serviceNetworks(v: unknown, path: string, refs: SpecRefs): { networks: ServiceNetwork[]; hostNetwork: boolean } {
  const networks: ServiceNetwork[] = [];
  let host = false;
  list(v, path).forEach((item, i) => {
    const at = `${path}[${i}]`;
    const n = object(item, at) ?? fail(at, 'must be {Target, Aliases}');
    const target = string(n.Target, `${at}.Target`);
    if (target === null || target === '') fail(`${at}.Target`, 'missing: a network id or name');
    if (Object.keys(stringMap(n.DriverOpts, `${at}.DriverOpts`)).length > 0) fail(`${at}.DriverOpts`, 'per-service driver options are not supported by tsswarm');
    const aliases = stringList(n.Aliases, `${at}.Aliases`) ?? [];
    const name = refs.networkName(target) ?? (target === HOST_NETWORK ? HOST_NETWORK : null);
    if (name === null) throw new NetworkNotFoundError(`network ${target} not found`);
    if (name === HOST_NETWORK) {
      if (aliases.length > 0) fail(`${at}.Aliases`, 'the host network has no aliases');
      host = true;
      return;
    }
    if (networks.some((x) => x.target === name)) fail(at, `network ${name} is listed twice`);
    networks.push({ target: name, aliases: [...new Set(aliases)] });
  });
  // Docker's rule: a task in its host's namespace has no endpoint on any other network.
  if (host && networks.length > 0) fail(path, 'the host network cannot be combined with other networks');
  return { networks, hostNetwork: host };
}

function resources(v: unknown, path: string): Resources {
  const r = object(v, path) ?? {};
  const l = object(r.Limits, `${path}.Limits`) ?? {};
  const s = object(r.Reservations, `${path}.Reservations`) ?? {};
  // 0 is Go's omitted value, and Docker's "no limit".
  const positive = positiveOrNull;
  const generic: Record<string, number> = {};
  list(s.GenericResources, `${path}.Reservations.GenericResources`).forEach((g, i) => {
    const at = `${path}.Reservations.GenericResources[${i}]`;
    const o = object(g, at) ?? fail(at, 'must be {DiscreteResourceSpec: {Kind, Value}}');
    // Named resources (specific GPU ids) need per-node bookkeeping the scheduler does not do.
    if (o.NamedResourceSpec !== undefined && o.NamedResourceSpec !== null) fail(`${at}.NamedResourceSpec`, 'named generic resources are not supported by tsswarm; reserve a count (DiscreteResourceSpec)');
    const d = object(o.DiscreteResourceSpec, `${at}.DiscreteResourceSpec`) ?? fail(at, 'missing DiscreteResourceSpec');
    const kind = string(d.Kind, `${at}.DiscreteResourceSpec.Kind`);
    if (kind === null || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(kind)) fail(`${at}.DiscreteResourceSpec.Kind`, `invalid resource kind ${JSON.stringify(kind ?? '')}: use letters, digits, ".", "_" and "-"`);
    const value = integer(d.Value, `${at}.DiscreteResourceSpec.Value`);
    if (value === null || value < 1) fail(`${at}.DiscreteResourceSpec.Value`, 'must be a positive integer');
    if (Object.hasOwn(generic, kind)) fail(at, `generic resource ${kind} is listed twice`);
    generic[kind] = value;
  });
  const out: Resources = {
    limits: { memoryBytes: positive(l.MemoryBytes, `${path}.Limits.MemoryBytes`), nanoCpus: positive(l.NanoCPUs, `${path}.Limits.NanoCPUs`), pids: positive(l.Pids, `${path}.Limits.Pids`) },
    reservations: { memoryBytes: positive(s.MemoryBytes, `${path}.Reservations.MemoryBytes`), nanoCpus: positive(s.NanoCPUs, `${path}.Reservations.NanoCPUs`), generic },
  };
  const mem = out.limits.memoryBytes;
  const wanted = out.reservations.memoryBytes;
  // Such a task could never start: its cgroup would be smaller than what it reserved (the compose loader's check).
  if (mem !== null && wanted !== null && wanted > mem) fail(`${path}.Reservations.MemoryBytes`, `the memory reservation (${wanted} bytes) is more than the memory limit (${mem} bytes)`);
  return out;
}

function placement(v: unknown, path: string): Placement {
  const p = object(v, path) ?? {};
  const constraints = (stringList(p.Constraints, `${path}.Constraints`) ?? []).map((c, i) => {
    const parsed = parseConstraint(c);
    if (!parsed.ok) fail(`${path}.Constraints[${i}]`, parsed.reason);
    return c;
  });
  const preferences = list(p.Preferences, `${path}.Preferences`).map((x, i) => {
    const at = `${path}.Preferences[${i}]`;
    const spread = object(object(x, at)?.Spread, `${at}.Spread`);
    const key = string(spread?.SpreadDescriptor, `${at}.Spread.SpreadDescriptor`);
    if (key === null || !SPREAD.test(key)) fail(`${at}.Spread.SpreadDescriptor`, `invalid spread key ${JSON.stringify(key ?? '')}: use ${CONSTRAINT_KEYS}`);
    return { spread: key };
  });
  // Platforms: accepted and ignored, see fromDockerServiceSpec.
  list(p.Platforms, `${path}.Platforms`);
  return { constraints, preferences, maxReplicas: integer(p.MaxReplicas, `${path}.MaxReplicas`) ?? 0 };
}

function restartPolicy(v: unknown, path: string): RestartPolicy {
  const p = object(v, path) ?? {};
  return {
    // Swarm's default condition when a policy is given without one.
    condition: oneOf(p.Condition, `${path}.Condition`, ['none', 'on-failure', 'any'] as const) ?? 'any',
    delayMs: duration(p.Delay, `${path}.Delay`),
    maxAttempts: integer(p.MaxAttempts, `${path}.MaxAttempts`),
    windowMs: duration(p.Window, `${path}.Window`),
  };
}

function logDriver(v: unknown, path: string): LogDriver | null {
  const d = object(v, path);
  if (d === null) return null;
  const name = string(d.Name, `${path}.Name`) ?? '';
  const options = stringMap(d.Options, `${path}.Options`);
  if (name === '' && Object.keys(options).length === 0) return null;
  // No driver named: the node's default, json-file (as the compose loader reads `logging` without one).
  const driver = name === '' ? 'json-file' : name;
  const allowed = LOG_OPTIONS[driver];
  if (allowed === undefined) fail(`${path}.Name`, `log driver ${driver} is not supported by tsswarm (${Object.keys(LOG_OPTIONS).join(', ')}): it writes container logs to files`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) fail(`${path}.Options.${key}`, allowed.length === 0 ? `the ${driver} driver takes no options` : `unknown option for the ${driver} driver (${allowed.join(', ')})`);
  }
  return { name: driver, options };
}

function updateConfig(v: unknown, path: string, rollback: boolean): UpdateConfig {
  const u = object(v, path) ?? {};
  const actions = rollback ? (['pause', 'continue'] as const) : (['pause', 'continue', 'rollback'] as const);
  const ratio = u.MaxFailureRatio;
  if (ratio !== undefined && ratio !== null && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))) fail(`${path}.MaxFailureRatio`, `must be a number from 0 to 1, got ${JSON.stringify(ratio)}`);
  return {
    // Go sends Parallelism always; absent is its zero value, which Docker reads as "all at once".
    parallelism: integer(u.Parallelism, `${path}.Parallelism`) ?? 0,
    delayMs: duration(u.Delay, `${path}.Delay`) ?? 0,
    // '' is Docker's pause and stop-first (SwarmKit's zero values).
    failureAction: oneOf(emptyAsNull(u.FailureAction), `${path}.FailureAction`, actions) ?? 'pause',
    // Absent is SwarmKit's default (5 s): tsswarm's null. Go clients never send 0 (omitempty), so a 0
    // comes from a client that means it, as tsswarm's own `monitor: 0s` does.
    monitorMs: duration(u.Monitor, `${path}.Monitor`),
    maxFailureRatio: typeof ratio === 'number' ? ratio : 0,
    order: oneOf(emptyAsNull(u.Order), `${path}.Order`, ['stop-first', 'start-first'] as const) ?? 'stop-first',
  };
}

function endpointSpec(v: unknown): EndpointSpec {
  const e = object(v, 'EndpointSpec') ?? {};
  const mode = oneOf(emptyAsNull(e.Mode), 'EndpointSpec.Mode', ['vip', 'dnsrr'] as const) ?? 'vip';
  const ports = list(e.Ports, 'EndpointSpec.Ports').map((p, i) => port(p, `EndpointSpec.Ports[${i}]`));
  // Swarm's own words: the routing mesh balances on a virtual IP, which dnsrr does not have.
  if (mode === 'dnsrr' && ports.some((p) => p.mode === 'ingress')) fail('EndpointSpec.Mode', "port published with ingress mode can't be used with dnsrr mode");
  return { mode, ports };
}

function port(v: unknown, path: string): PortConfig {
  const p = object(v, path) ?? fail(path, 'must be {Protocol, TargetPort, PublishedPort, PublishMode}');
  const name = string(p.Name, `${path}.Name`);
  if (name !== null && name !== '') fail(`${path}.Name`, 'named ports are not supported by tsswarm');
  const protocol = string(p.Protocol, `${path}.Protocol`) ?? '';
  if (protocol === 'sctp') fail(`${path}.Protocol`, 'sctp is not supported by tsswarm: use tcp or udp');
  const target = integer(p.TargetPort, `${path}.TargetPort`);
  if (target === null || target < 1 || target > 65535) fail(`${path}.TargetPort`, 'must be a port number from 1 to 65535');
  const published = integer(p.PublishedPort, `${path}.PublishedPort`);
  if (published !== null && published > 65535) fail(`${path}.PublishedPort`, 'must be a port number from 1 to 65535, or 0 for one the cluster picks');
  return {
    target,
    published: published === null || published === 0 ? null : published,
    protocol: oneOf(emptyAsNull(protocol), `${path}.Protocol`, ['tcp', 'udp'] as const) ?? 'tcp',
    mode: oneOf(emptyAsNull(p.PublishMode), `${path}.PublishMode`, ['ingress', 'host'] as const) ?? 'ingress',
  };
}

// ---- container ---------------------------------------------------------------------------------

function containerSpec(v: unknown, path: string, cur: ContainerSpec | null): ContainerSpec {
  const c = object(v, path) ?? fail(path, 'missing: a service needs a container spec');
  const at = (k: string): string => `${path}.${k}`;
  const image = string(c.Image, at('Image'));
  if (image === null || image === '') fail(at('Image'), 'missing: the image to run');
  const normalized = normalizeImageRef(image);
  if (!normalized.ok) fail(at('Image'), `invalid image reference ${JSON.stringify(image)}: ${normalized.reason}`);
  if ((stringList(c.Groups, at('Groups')) ?? []).length > 0) fail(at('Groups'), 'supplementary groups are not supported by tsswarm');
  const dir = emptyAsNull(string(c.Dir, at('Dir')));
  // The runtime resolves it inside the container's root, where no "current directory" exists.
  if (dir !== null && !dir.startsWith('/')) fail(at('Dir'), `must be an absolute path, got ${JSON.stringify(dir)}`);
  const isolation = string(c.Isolation, at('Isolation'));
  if (isolation !== null && isolation !== '' && isolation !== 'default') fail(at('Isolation'), `only the default isolation is supported by tsswarm, got ${JSON.stringify(isolation)}`);
  const grace = duration(c.StopGracePeriod, at('StopGracePeriod'));
  const tty = boolean(c.TTY, at('TTY')) ?? false;
  const openStdin = boolean(c.OpenStdin, at('OpenStdin')) ?? false;
  return {
    image: normalized.ref,
    command: stringList(c.Args, at('Args')),
    entrypoint: stringList(c.Command, at('Command')),
    env: stringList(c.Env, at('Env')) ?? [],
    workingDir: dir,
    user: emptyAsNull(string(c.User, at('User'))),
    hostname: emptyAsNull(string(c.Hostname, at('Hostname'))),
    stopGracePeriodMs: grace ?? DEFAULT_STOP_GRACE_PERIOD_MS,
    ...dnsConfig(c.DNSConfig, at('DNSConfig')),
    extraHosts: hosts(c.Hosts, at('Hosts')),
    runtime: runtimeSettings(c, path, cur?.runtime ?? null),
    labels: stringMap(c.Labels, at('Labels')),
    mounts: mounts(c.Mounts, at('Mounts'), cur?.mounts ?? []),
    secrets: secrets(c.Secrets, at('Secrets')),
    configs: configs(c.Configs, at('Configs')),
    healthcheck: healthcheck(c.Healthcheck, at('Healthcheck'), cur?.healthcheck ?? null),
    // Only when true, as the compose loader: absent means false, and older records lack them.
    ...(tty ? { tty: true } : {}),
    ...(openStdin ? { openStdin: true } : {}),
  };
}

function dnsConfig(v: unknown, path: string): Pick<ContainerSpec, 'dns' | 'dnsSearch'> {
  const d = object(v, path) ?? {};
  if ((stringList(d.Options, `${path}.Options`) ?? []).length > 0) fail(`${path}.Options`, 'resolver options are not supported by tsswarm');
  const dns = stringList(d.Nameservers, `${path}.Nameservers`) ?? [];
  dns.forEach((a, i) => {
    if (parseIpv4(a) === null) fail(`${path}.Nameservers[${i}]`, `must be an IPv4 address such as 10.0.0.2, got ${JSON.stringify(a)}`);
  });
  return { dns, dnsSearch: stringList(d.Search, `${path}.Search`) ?? [] };
}

/** `IP name [alias...]` (hosts(5), what Docker stores) → one `name:IP` per name. */
function hosts(v: unknown, path: string): string[] {
  const out: string[] = [];
  (stringList(v, path) ?? []).forEach((line, i) => {
    const [ip, ...names] = line.trim().split(/\s+/);
    const address = parseHostsAddress(ip ?? '');
    if (address === null || names.length === 0) fail(`${path}[${i}]`, `must be "IP_address hostname [aliases...]", got ${JSON.stringify(line)}`);
    for (const name of names) out.push(`${name}:${address}`);
  });
  return out;
}

/**
 * Capabilities, sysctls, ulimits, init, read-only, stop signal, Privileges and the `x-tsswarm`
 * container settings. `cur`: the stored settings on update, for what the body cannot say.
 */
function runtimeSettings(c: Record<string, unknown>, path: string, cur: RuntimeSettings | null): RuntimeSettings {
  const at = (k: string): string => `${path}.${k}`;
  const r = defaultRuntimeSettings();
  r.capAdd = capabilities(c.CapabilityAdd, at('CapabilityAdd'));
  r.capDrop = capabilities(c.CapabilityDrop, at('CapabilityDrop'));
  r.sysctls = stringMap(c.Sysctls, at('Sysctls'));
  for (const k of Object.keys(r.sysctls)) {
    if (!isNamespacedSysctl(k)) fail(`${at('Sysctls')}.${k}`, 'only namespaced sysctls are allowed (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)');
  }
  r.ulimits = ulimits(c.Ulimits, at('Ulimits'));
  r.readOnly = boolean(c.ReadOnly, at('ReadOnly')) ?? false;
  r.init = boolean(c.Init, at('Init')) ?? false;
  const signal = emptyAsNull(string(c.StopSignal, at('StopSignal')));
  if (signal !== null) r.stopSignal = signalName(signal) ?? fail(at('StopSignal'), `unknown signal ${JSON.stringify(signal)}`);

  if (c.OomScoreAdj !== undefined && c.OomScoreAdj !== null) {
    const n = c.OomScoreAdj;
    if (!Number.isSafeInteger(n) || (n as number) < -1000 || (n as number) > 1000) fail(at('OomScoreAdj'), `must be an integer from -1000 to 1000, got ${JSON.stringify(n)}`);
    r.oomScoreAdj = n as number;
  } else if (cur !== null) r.oomScoreAdj = cur.oomScoreAdj;

  const p = object(c.Privileges, at('Privileges')) ?? {};
  privileges(p, at('Privileges'), r, cur);

  const ext = c['x-tsswarm'];
  if (ext === undefined || ext === null) {
    if (cur !== null) {
      r.privileged = cur.privileged;
      r.devices = cur.devices.map((d) => ({ ...d }));
      r.tmpfs = cur.tmpfs.map((t) => ({ ...t, options: [...t.options] }));
      r.shmSizeBytes = cur.shmSizeBytes;
      r.usernsMode = cur.usernsMode;
    }
  } else {
    containerExtension(ext, at('x-tsswarm'), r);
  }
  return r;
}

function privileges(p: Record<string, unknown>, path: string, r: RuntimeSettings, cur: RuntimeSettings | null): void {
  const cred = object(p.CredentialSpec, `${path}.CredentialSpec`);
  if (cred !== null && Object.values(cred).some((x) => x !== undefined && x !== null && x !== '')) fail(`${path}.CredentialSpec`, "credential specs (Windows' managed service accounts) are not supported by tsswarm");
  const selinux = object(p.SELinuxContext, `${path}.SELinuxContext`);
  // Disable alone is `label=disable`: nothing to loosen, tsswarm applies no SELinux labels (as the compose loader reads it).
  if (selinux !== null && ['User', 'Role', 'Type', 'Level'].some((k) => selinux[k] !== undefined && selinux[k] !== null && selinux[k] !== '')) {
    fail(`${path}.SELinuxContext`, 'SELinux labels are not supported by tsswarm');
  }
  const apparmor = object(p.AppArmor, `${path}.AppArmor`);
  // Nothing to turn off either: tsswarm applies no AppArmor profile.
  if (apparmor !== null) oneOf(emptyAsNull(apparmor.Mode), `${path}.AppArmor.Mode`, ['default', 'disabled'] as const);

  if (p.NoNewPrivileges !== undefined && p.NoNewPrivileges !== null) r.noNewPrivileges = boolean(p.NoNewPrivileges, `${path}.NoNewPrivileges`) ?? false;
  else if (cur !== null) r.noNewPrivileges = cur.noNewPrivileges;

  const seccomp = object(p.Seccomp, `${path}.Seccomp`);
  if (seccomp === null) {
    if (cur !== null) r.seccomp = { ...cur.seccomp };
    return;
  }
  const mode = oneOf(emptyAsNull(seccomp.Mode), `${path}.Seccomp.Mode`, ['default', 'unconfined', 'custom'] as const) ?? 'default';
  const profile = emptyAsNull(string(seccomp.Profile, `${path}.Seccomp.Profile`));
  if (mode !== 'custom') {
    if (profile !== null) fail(`${path}.Seccomp.Profile`, 'a profile is given only with Mode custom');
    r.seccomp = { mode, profile: null };
    return;
  }
  if (profile === null) fail(`${path}.Seccomp.Profile`, 'missing: Mode custom needs the profile (its JSON, base64)');
  const text = Buffer.from(profile, 'base64').toString('utf8');
  try {
    parseSeccompProfile(text, 'the seccomp profile');
  } catch (e) {
    if (!isTsswarmError(e)) throw e;
    fail(`${path}.Seccomp.Profile`, e.message);
  }
  r.seccomp = { mode: 'custom', profile: text };
}

function containerExtension(v: unknown, path: string, r: RuntimeSettings): void {
  const e = object(v, path) ?? {};
  r.privileged = boolean(e.Privileged, `${path}.Privileged`) ?? false;
  r.devices = list(e.Devices, `${path}.Devices`).map((d, i): DeviceMapping => {
    const at = `${path}.Devices[${i}]`;
    const o = object(d, at) ?? fail(at, 'must be {PathOnHost, PathInContainer, CgroupPermissions}');
    const host = string(o.PathOnHost, `${at}.PathOnHost`) ?? '';
    const inside = emptyAsNull(string(o.PathInContainer, `${at}.PathInContainer`)) ?? host;
    const perms = emptyAsNull(string(o.CgroupPermissions, `${at}.CgroupPermissions`)) ?? 'rwm';
    if (!host.startsWith('/')) fail(`${at}.PathOnHost`, `must be an absolute path, got ${JSON.stringify(host)}`);
    if (!inside.startsWith('/')) fail(`${at}.PathInContainer`, `must be an absolute path, got ${JSON.stringify(inside)}`);
    if (!/^[rwm]{1,3}$/.test(perms) || new Set(perms).size !== perms.length) fail(`${at}.CgroupPermissions`, `invalid permissions ${JSON.stringify(perms)}: a combination of r, w and m`);
    return { pathOnHost: host, pathInContainer: inside, permissions: perms };
  });
  r.tmpfs = list(e.Tmpfs, `${path}.Tmpfs`).map((t, i): TmpfsMount => {
    const at = `${path}.Tmpfs[${i}]`;
    const o = object(t, at) ?? fail(at, 'must be {Target, SizeBytes, Mode, Options}');
    const target = string(o.Target, `${at}.Target`) ?? '';
    if (!target.startsWith('/') || target.split('/').includes('..')) fail(`${at}.Target`, `must be an absolute path, got ${JSON.stringify(target)}`);
    const options = stringList(o.Options, `${at}.Options`) ?? [];
    for (const f of options) if (!TMPFS_FLAGS.includes(f)) fail(`${at}.Options`, `invalid tmpfs option ${JSON.stringify(f)} (${TMPFS_FLAGS.join(', ')})`);
    return { target, sizeBytes: positiveOrNull(o.SizeBytes, `${at}.SizeBytes`), mode: fileMode(o.Mode, `${at}.Mode`, 0o7777), options };
  });
  r.shmSizeBytes = positiveOrNull(e.ShmSize, `${path}.ShmSize`);
  const userns = emptyAsNull(string(e.UsernsMode, `${path}.UsernsMode`));
  if (userns !== null && userns !== 'host') fail(`${path}.UsernsMode`, `must be "host", got ${JSON.stringify(userns)}`);
  r.usernsMode = userns === 'host' ? 'host' : null;
}

function capabilities(v: unknown, path: string): string[] {
  const out: string[] = [];
  (stringList(v, path) ?? []).forEach((c, i) => {
    const name = capabilityName(c) ?? fail(`${path}[${i}]`, `unknown capability ${JSON.stringify(c)}`);
    if (!out.includes(name)) out.push(name);
  });
  return out;
}

function ulimits(v: unknown, path: string): Ulimit[] {
  return list(v, path).map((u, i) => {
    const at = `${path}[${i}]`;
    const o = object(u, at) ?? fail(at, 'must be {Name, Soft, Hard}');
    const name = string(o.Name, `${at}.Name`) ?? '';
    if (!ULIMIT_NAMES.includes(name)) fail(`${at}.Name`, `unknown ulimit ${JSON.stringify(name)} (one of ${ULIMIT_NAMES.join(', ')})`);
    const limit = (x: unknown, k: string): number => {
      // -1 and int64's maximum (beyond a double's exact integers) are "unlimited".
      if (x === -1 || (typeof x === 'number' && x > UNLIMITED)) return UNLIMITED;
      const n = integer(x, `${at}.${k}`);
      if (n === null) fail(`${at}.${k}`, 'missing: a non-negative integer, or -1 for unlimited');
      return n;
    };
    const soft = limit(o.Soft, 'Soft');
    const hard = limit(o.Hard, 'Hard');
    if (soft > hard) fail(at, `soft limit ${soft} is above the hard limit ${hard}`);
    return { name, soft, hard };
  });
}

function mounts(v: unknown, path: string, cur: Mount[]): Mount[] {
  const seen = new Set<string>();
  return list(v, path).map((m, i) => {
    const at = `${path}[${i}]`;
    const out = mount(m, at, cur);
    const key = out.target.replace(/(.)\/+$/, '$1');
    if (seen.has(key)) fail(`${at}.Target`, `two mounts on ${out.target}`);
    seen.add(key);
    return out;
  });
}

function mount(v: unknown, path: string, cur: Mount[]): Mount {
  const m = object(v, path) ?? fail(path, 'must be {Type, Source, Target, ...}');
  const type = string(m.Type, `${path}.Type`) ?? '';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    fail(`${path}.Type`, type === '' ? 'missing: bind, volume or tmpfs' : `mounts of type ${type} are not supported by tsswarm: use bind, volume or tmpfs`);
  }
  const source = string(m.Source, `${path}.Source`) ?? '';
  const target = string(m.Target, `${path}.Target`) ?? '';
  if (!target.startsWith('/')) fail(`${path}.Target`, `must be an absolute path, got ${JSON.stringify(target)}`);
  if (/^\/+$/.test(target)) fail(`${path}.Target`, "the mount target can't be /");
  const readOnly = boolean(m.ReadOnly, `${path}.ReadOnly`) ?? false;
  // Consistency (Docker Desktop's file-sharing hint) means nothing on Linux; Docker ignores it there too.
  string(m.Consistency, `${path}.Consistency`);
  for (const [key, kind] of [['BindOptions', 'bind'], ['VolumeOptions', 'volume'], ['TmpfsOptions', 'tmpfs']] as const) {
    if (m[key] !== undefined && m[key] !== null && kind !== type) fail(`${path}.${key}`, `options for a ${kind} mount on a ${type} mount`);
  }
  const base = { source, target, readOnly, bind: null, volume: null, tmpfs: null };
  if (type === 'bind') {
    if (!source.startsWith('/') && !source.includes('{{')) fail(`${path}.Source`, `a bind needs an absolute host path, got ${JSON.stringify(source)}`);
    const b = object(m.BindOptions, `${path}.BindOptions`) ?? {};
    if (boolean(b.NonRecursive, `${path}.BindOptions.NonRecursive`) === true) fail(`${path}.BindOptions.NonRecursive`, 'non-recursive binds are not supported by tsswarm');
    const propagation = oneOf(emptyAsNull(b.Propagation), `${path}.BindOptions.Propagation`, PROPAGATIONS) ?? 'rprivate';
    // After v1.41: a v1.41 client drops it; keep the stored one of the same bind.
    const stored = cur.find((x) => x.type === 'bind' && x.target === target && x.source === source);
    const create = b.CreateMountpoint !== undefined && b.CreateMountpoint !== null ? boolean(b.CreateMountpoint, `${path}.BindOptions.CreateMountpoint`) ?? false : stored?.bind?.createHostPath ?? false;
    return { ...base, type, bind: { propagation, createHostPath: create } };
  }
  if (type === 'tmpfs') {
    if (source !== '') fail(`${path}.Source`, 'a tmpfs mount has no source');
    const t = object(m.TmpfsOptions, `${path}.TmpfsOptions`) ?? {};
    return { ...base, type, tmpfs: { sizeBytes: positiveOrNull(t.SizeBytes, `${path}.TmpfsOptions.SizeBytes`), mode: fileMode(t.Mode, `${path}.TmpfsOptions.Mode`, 0o7777) } };
  }
  const o = object(m.VolumeOptions, `${path}.VolumeOptions`) ?? {};
  const d = object(o.DriverConfig, `${path}.VolumeOptions.DriverConfig`);
  const driverName = emptyAsNull(string(d?.Name, `${path}.VolumeOptions.DriverConfig.Name`));
  const driverOptions = stringMap(d?.Options, `${path}.VolumeOptions.DriverConfig.Options`);
  // Options without a driver's name are for Docker's default driver, local.
  const driver = driverName === null && Object.keys(driverOptions).length === 0 ? null : { name: driverName ?? 'local', options: driverOptions };
  return { ...base, type, volume: { noCopy: boolean(o.NoCopy, `${path}.VolumeOptions.NoCopy`) ?? false, labels: stringMap(o.Labels, `${path}.VolumeOptions.Labels`), driver } };
}

function secrets(v: unknown, path: string): SecretReference[] {
  return list(v, path).map((s, i) => {
    const at = `${path}[${i}]`;
    const o = object(s, at) ?? fail(at, 'must be {File, SecretID, SecretName}');
    const name = string(o.SecretName, `${at}.SecretName`) ?? '';
    if (name === '') fail(`${at}.SecretName`, 'missing: the secret to give');
    return { secretId: string(o.SecretID, `${at}.SecretID`) ?? '', secretName: name, file: fileTarget(o.File, `${at}.File`) };
  });
}

function configs(v: unknown, path: string): ConfigReference[] {
  return list(v, path).map((s, i) => {
    const at = `${path}[${i}]`;
    const o = object(s, at) ?? fail(at, 'must be {File, ConfigID, ConfigName}');
    if (o.Runtime !== undefined && o.Runtime !== null) fail(`${at}.Runtime`, "configs used as credential specs (Windows') are not supported by tsswarm: give a File");
    const name = string(o.ConfigName, `${at}.ConfigName`) ?? '';
    if (name === '') fail(`${at}.ConfigName`, 'missing: the config to give');
    return { configId: string(o.ConfigID, `${at}.ConfigID`) ?? '', configName: name, file: fileTarget(o.File, `${at}.File`) };
  });
}

function fileTarget(v: unknown, path: string): FileTarget {
  const f = object(v, path) ?? fail(path, 'missing: where the file goes ({Name, UID, GID, Mode})');
  const name = string(f.Name, `${path}.Name`) ?? '';
  if (name === '' || name.split('/').includes('..') || name.includes('\0')) fail(`${path}.Name`, `invalid target ${JSON.stringify(name)}: a file name or an absolute path, without ".."`);
  const id = (x: unknown, k: string): string => {
    const s = emptyAsNull(string(x, `${path}.${k}`)) ?? '0';
    if (!/^\d+$/.test(s)) fail(`${path}.${k}`, `must be a numeric id, got ${JSON.stringify(s)}`);
    return s;
  };
  // docker/cli always sends Mode; a client that leaves it out means the CLI's default, not an unreadable file.
  return { name, uid: id(f.UID, 'UID'), gid: id(f.GID, 'GID'), mode: fileMode(f.Mode, `${path}.Mode`, 0o7777) ?? DEFAULT_FILE_MODE };
}

function healthcheck(v: unknown, path: string, cur: HealthCheck | null): HealthCheck | null {
  const h = object(v, path);
  if (h === null) return null;
  const test = stringList(h.Test, `${path}.Test`) ?? [];
  const kind = test[0];
  const ok = test.length === 0 || (kind === 'NONE' && test.length === 1) || (kind === 'CMD' && test.length >= 2) || (kind === 'CMD-SHELL' && test.length === 2);
  if (!ok) fail(`${path}.Test`, `must be [], ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command], got ${JSON.stringify(test)}`);
  return {
    test,
    intervalMs: duration(h.Interval, `${path}.Interval`),
    timeoutMs: duration(h.Timeout, `${path}.Timeout`),
    startPeriodMs: duration(h.StartPeriod, `${path}.StartPeriod`),
    // After v1.41: a v1.41 client drops it; keep the stored one.
    startIntervalMs: h.StartInterval !== undefined && h.StartInterval !== null ? duration(h.StartInterval, `${path}.StartInterval`) : cur?.startIntervalMs ?? null,
    retries: integer(h.Retries, `${path}.Retries`),
  };
}

// ================================================================================================
// insertDefaults
// ================================================================================================

/**
 * Docker's `insertDefaults=true` (`docker service inspect` asks for it): the spec with what the
 * daemon fills in where it was left out. The values are tsswarm's own where they differ from
 * SwarmKit's (a restart waits DEFAULT_RESTART_DELAY_MS, not Swarm's 5 s), since they are what
 * this daemon does.
 */
export function withDockerDefaults(spec: DockerServiceSpec): DockerServiceSpec {
  const out = structuredClone(spec);
  out.Labels ??= {};
  const t = (out.TaskTemplate ??= {});
  const c = (t.ContainerSpec ??= {});
  c.StopGracePeriod ??= toNs(DEFAULT_STOP_GRACE_PERIOD_MS);
  c.DNSConfig ??= {};
  c.Isolation ||= 'default';
  t.Resources ??= {};
  t.Resources.Limits ??= {};
  t.Resources.Reservations ??= {};
  const r = (t.RestartPolicy ??= {});
  r.Condition ||= 'any';
  r.Delay ??= toNs(DEFAULT_RESTART_DELAY_MS);
  r.MaxAttempts ??= 0;
  t.Placement ??= {};
  t.ForceUpdate ??= 0;
  t.Runtime ||= 'container';
  out.Mode ??= { Replicated: { Replicas: 1 } };
  if (out.Mode.Replicated !== undefined) out.Mode.Replicated.Replicas ??= 1;
  out.UpdateConfig = updateDefaults(out.UpdateConfig);
  out.RollbackConfig = updateDefaults(out.RollbackConfig);
  const e = (out.EndpointSpec ??= {});
  e.Mode ||= 'vip';
  return out;
}

/** Swarm's update and rollback defaults: one task at a time, pause on failure, 5 s of monitoring, stop first. */
function updateDefaults(u: DockerUpdateConfig | undefined): DockerUpdateConfig {
  const out: DockerUpdateConfig = u ?? { Parallelism: 1 };
  out.Parallelism ??= 0;
  out.FailureAction ||= 'pause';
  out.Monitor ??= toNs(DEFAULT_UPDATE_MONITOR_MS);
  out.MaxFailureRatio ??= 0;
  out.Order ||= 'stop-first';
  return out;
}

// ================================================================================================
// reading unknown JSON
// ================================================================================================

function fail(path: string, reason: string): never {
  throw new InvalidArgumentError(`invalid ${path}: ${reason}`);
}

/** JSON null is Go's nil: absent, as undefined. */
function object(v: unknown, path: string): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) fail(path, `must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, `must be a list, got ${describe(v)}`);
  return v;
}

function string(v: unknown, path: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(path, `must be a string, got ${describe(v)}`);
  return v;
}

function stringList(v: unknown, path: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(path, `must be a list of strings, got ${describe(v)}`);
  return [...(v as string[])];
}

function stringMap(v: unknown, path: string): Record<string, string> {
  const o = object(v, path) ?? {};
  for (const [k, x] of Object.entries(o)) if (typeof x !== 'string') fail(`${path}.${k}`, `must be a string, got ${describe(x)}`);
  return { ...(o as Record<string, string>) };
}

function boolean(v: unknown, path: string): boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') fail(path, `must be true or false, got ${describe(v)}`);
  return v;
}

/** A non-negative integer (Docker's uint64 / int64 fields), null when absent. */
function integer(v: unknown, path: string): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(path, `must be a non-negative integer, got ${describe(v)}`);
  return v as number;
}

function positiveOrNull(v: unknown, path: string): number | null {
  const n = integer(v, path);
  return n === null || n === 0 ? null : n;
}

/** Nanoseconds → milliseconds; absent is null. Swarm refuses negative durations. */
function duration(v: unknown, path: string): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(path, `must be a non-negative number of nanoseconds, got ${describe(v)}`);
  return toMs(v as number);
}

function fileMode(v: unknown, path: string, max: number): number | null {
  const n = integer(v, path);
  if (n !== null && n > max) fail(path, `must be a file mode from 0 to 0o${max.toString(8)}, got 0o${n.toString(8)}`);
  return n;
}

function emptyAsNull<T>(v: T): T | null {
  return v === '' ? null : v;
}

function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T | null {
  const s = string(v, path);
  if (s === null) return null;
  if ((allowed as readonly string[]).includes(s)) return s as T;
  return fail(path, `must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got ${JSON.stringify(s)}`);
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
