/**
 * `service create` and `service update` flags (Docker's names) onto the one service model. The
 * syntaxes a stack file shares with the command line (`--publish`, `--mount`, `--secret`,
 * `--config`, `--health-cmd`, durations, sizes) go through the compose converter, as a one-service
 * stack file made of the flags, so a flag means exactly what the same key means in a stack file; a
 * problem names the flag it came from. `update` applies each flag given to the spec the service has.
 */
import type { ServiceSpec, UpdateConfig } from '../shared/types';
import { ComposeError, InvalidArgumentError } from '../shared/errors';
import { flagList, flagString, type Parsed } from '../shared/flags';
import { loadStackText } from '../shared/compose';
import { NAMESPACE_LABEL, defaultRestartPolicy, defaultUpdateConfig } from '../shared/task-spec';
import { parseBytes, parseDurationMs, parseInteger, parseNanoCpus } from '../shared/compose/units';

/** Flags that take a value; those that may be given more than once are also in SERVICE_REPEATABLE. */
export const SERVICE_VALUED = [
  'name', 'replicas', 'mode', 'image', 'env', 'e', 'env-add', 'env-rm', 'env-file', 'label', 'label-add', 'label-rm', 'container-label', 'container-label-add', 'container-label-rm',
  'mount', 'mount-add', 'mount-rm', 'publish', 'p', 'publish-add', 'publish-rm', 'secret', 'secret-add', 'secret-rm', 'config', 'config-add', 'config-rm',
  'constraint', 'constraint-add', 'constraint-rm', 'placement-pref', 'placement-pref-add', 'placement-pref-rm', 'replicas-max-per-node', 'network', 'network-add', 'network-rm',
  'endpoint-mode', 'hostname', 'user', 'u', 'workdir', 'w', 'entrypoint', 'args', 'stop-grace-period', 'stop-signal', 'dns', 'dns-add', 'dns-rm', 'dns-search', 'host-add', 'host-rm',
  'limit-cpu', 'limit-memory', 'limit-pids', 'reserve-cpu', 'reserve-memory',
  'restart-condition', 'restart-delay', 'restart-max-attempts', 'restart-window',
  'update-parallelism', 'update-delay', 'update-failure-action', 'update-monitor', 'update-max-failure-ratio', 'update-order',
  'rollback-parallelism', 'rollback-delay', 'rollback-failure-action', 'rollback-monitor', 'rollback-max-failure-ratio', 'rollback-order',
  'health-cmd', 'health-interval', 'health-timeout', 'health-retries', 'health-start-period', 'health-start-interval', 'log-driver', 'log-opt',
];
export const SERVICE_BOOLEANS = ['no-healthcheck', 'init', 'tty', 't', 'read-only', 'rollback', 'no-resolve-image', 'with-registry-auth'];
export const SERVICE_REPEATABLE = [
  'label', 'label-add', 'label-rm', 'env', 'e', 'env-add', 'env-rm', 'env-file', 'container-label', 'container-label-add', 'container-label-rm', 'mount', 'mount-add', 'mount-rm', 'publish', 'p', 'publish-add', 'publish-rm',
  'secret', 'secret-add', 'secret-rm', 'config', 'config-add', 'config-rm', 'constraint', 'constraint-add', 'constraint-rm', 'placement-pref', 'placement-pref-add', 'placement-pref-rm',
  'network', 'network-add', 'network-rm', 'dns', 'dns-add', 'dns-rm', 'dns-search', 'host-add', 'host-rm', 'log-opt',
];

/** Short flags that mean one long one everywhere: stored under it, so `-e A=1 --env A=2` keeps its order. */
export const SHORT_ALIASES: Readonly<Record<string, string>> = { e: 'env', u: 'user', w: 'workdir', p: 'publish' };

/** The stack name the flags' one-service file is converted under, taken off again. */
const CLI_STACK = 'tsswarm-cli';
const PREFIX = `${CLI_STACK}_`;

type Obj = Record<string, unknown>;

const str = (p: Parsed, ...names: string[]): string | null => {
  for (const n of names) {
    const v = flagString(p, n);
    if (v !== null) return v;
  }
  return null;
};
const list = (p: Parsed, ...names: string[]): string[] => names.flatMap((n) => flagList(p, n));
const given = (p: Parsed, ...names: string[]) => names.some((n) => p.flags.has(n));

function fail(flag: string, value: string, why: string): never {
  throw new InvalidArgumentError(`invalid --${flag} ${JSON.stringify(value)}: ${why}`);
}

function duration(p: Parsed, flag: string): number | null {
  const v = flagString(p, flag);
  if (v === null) return null;
  const ms = parseDurationMs(v);
  if (ms === null || ms < 0) fail(flag, v, 'expected a duration such as 10s, 1m30s or 500ms');
  return ms;
}

function integer(p: Parsed, flag: string, min: number): number | null {
  const v = flagString(p, flag);
  if (v === null) return null;
  const n = parseInteger(v);
  if (n === null || n < min) fail(flag, v, `expected an integer of at least ${min}`);
  return n;
}

function oneOf<T extends string>(p: Parsed, flag: string, allowed: readonly T[]): T | null {
  const v = flagString(p, flag);
  if (v === null) return null;
  if (!(allowed as readonly string[]).includes(v)) fail(flag, v, `expected ${allowed.join(', ')}`);
  return v as T;
}

/** `a=b,c=d,flag` (Docker's CSV options of --mount, --publish, --secret) as an object. */
function csv(flag: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (k === '') fail(flag, text, 'empty option');
    out[k] = eq < 0 ? 'true' : part.slice(eq + 1);
  }
  return out;
}

const truthy = (v: string | undefined) => v !== undefined && v !== 'false' && v !== '0';

/** `--mount type=volume,source=x,target=/y,readonly,...` as a compose long-syntax volume. */
function mountEntry(text: string, volumes: Obj): Obj {
  const o = csv('mount', text);
  const type = o.type ?? 'volume';
  const source = o.source ?? o.src;
  const target = o.target ?? o.destination ?? o.dst;
  if (target === undefined) fail('mount', text, 'target is required');
  const m: Obj = { type, target };
  if (source !== undefined && source !== '') m.source = source;
  if (truthy(o.readonly ?? o.ro)) m.read_only = true;
  if (type === 'bind') m.bind = { ...(o['bind-propagation'] ? { propagation: o['bind-propagation'] } : {}), create_host_path: false };
  if (type === 'volume') {
    if (truthy(o['volume-nocopy'])) m.volume = { nocopy: true };
    if (source !== undefined && source !== '') {
      const opts = Object.fromEntries(Object.entries(o).filter(([k]) => k === 'volume-opt').map(([, v]) => v.split('=', 2) as [string, string]));
      volumes[source] = { name: source, ...(o['volume-driver'] ? { driver: o['volume-driver'] } : {}), ...(Object.keys(opts).length ? { driver_opts: opts } : {}) };
    }
  }
  if (type === 'tmpfs') m.tmpfs = { ...(o['tmpfs-size'] ? { size: o['tmpfs-size'] } : {}), ...(o['tmpfs-mode'] ? { mode: Number.parseInt(o['tmpfs-mode'], 8) } : {}) };
  return m;
}

/** `--publish 8080:80[/udp]` or `--publish published=8080,target=80,protocol=udp,mode=host`. */
function portEntry(text: string): unknown {
  if (!text.includes('=')) return text;
  const o = csv('publish', text);
  const out: Obj = { target: Number(o.target) };
  if (o.published !== undefined) out.published = Number(o.published);
  if (o.protocol !== undefined) out.protocol = o.protocol;
  if (o.mode !== undefined) out.mode = o.mode;
  return out;
}

/** `--secret name` or `--secret source=name,target=t,uid=0,gid=0,mode=0400` (configs alike). */
function blobEntry(flag: string, text: string, table: Obj): unknown {
  if (!text.includes('=')) {
    table[text] = { external: true };
    return text;
  }
  const o = csv(flag, text);
  const source = o.source ?? o.src;
  if (source === undefined) fail(flag, text, 'source is required');
  table[source] = { external: true };
  const out: Obj = { source };
  if (o.target !== undefined) out.target = o.target;
  for (const k of ['uid', 'gid'] as const) if (o[k] !== undefined) out[k] = o[k];
  if (o.mode !== undefined) out.mode = Number.parseInt(o.mode, 8);
  return out;
}

/** `$` in a flag is the user's, not an interpolation: escaped for the compose loader. */
function escape(x: unknown): unknown {
  if (typeof x === 'string') return x.replaceAll('$', () => '$$');
  if (Array.isArray(x)) return x.map(escape);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, escape(v)]));
  return x;
}

/** Which flag a compose path came from, for error messages. */
const PATH_FLAGS: [RegExp, string][] = [
  [/\.ports/, 'publish'], [/\.volumes|^volumes/, 'mount'], [/\.secrets|^secrets/, 'secret'], [/\.configs|^configs/, 'config'], [/\.healthcheck/, 'health-*'],
  [/\.networks|^networks/, 'network'], [/\.environment|\.env_file/, 'env'], [/placement/, 'constraint / placement-pref'], [/\.image/, 'image'], [/\.hostname/, 'hostname'],
];

/** Converts a one-service stack file made of flags; `key` is the service's name. */
function convert(key: string, service: Obj, top: Obj): ServiceSpec {
  const doc = { services: { [key]: escape(service) }, ...(escape(top) as Obj) };
  try {
    const loaded = loadStackText(JSON.stringify(doc), { name: CLI_STACK, env: {}, filename: 'command line', dir: process.cwd(), dotenv: {} });
    for (const w of loaded.warnings) process.stderr.write(`${w}\n`);
    return standalone(loaded.services[0]!);
  } catch (e) {
    if (!(e instanceof ComposeError)) throw e;
    const line = e.message.replace(/^command line(:\d+)?: /, '');
    const flag = PATH_FLAGS.find(([re]) => re.test(line))?.[1];
    throw new InvalidArgumentError(flag ? `--${flag}: ${line.replace(new RegExp(`services\\.${key}\\.`, 'g'), '')}` : line);
  }
}

const withoutNamespace = (labels: Record<string, string>) => Object.fromEntries(Object.entries(labels).filter(([k]) => k !== NAMESPACE_LABEL));

/** A stack service of the flags' file as a service outside any stack. */
function standalone(s: ServiceSpec): ServiceSpec {
  const c = s.task.container;
  return {
    ...s,
    name: s.name.startsWith(PREFIX) ? s.name.slice(PREFIX.length) : s.name,
    stack: null,
    labels: withoutNamespace(s.labels),
    networks: s.networks.filter((n) => n.target !== `${PREFIX}default`),
    task: {
      ...s.task,
      container: {
        ...c,
        labels: withoutNamespace(c.labels),
        mounts: c.mounts.map((m) => (m.volume === null ? m : { ...m, volume: { ...m.volume, labels: withoutNamespace(m.volume.labels) } })),
      },
    },
  };
}

/** The pieces of a compose service the flags describe (`image` and what needs the converter). */
function composeService(p: Parsed, image: string, top: Obj): Obj {
  const svc: Obj = { image };
  const env = list(p, 'env', 'e', 'env-add');
  if (env.length) svc.environment = env;
  const envFiles = list(p, 'env-file');
  if (envFiles.length) svc.env_file = envFiles;
  const volumes: Obj = {};
  const mounts = list(p, 'mount', 'mount-add').map((m) => mountEntry(m, volumes));
  if (mounts.length) svc.volumes = mounts;
  if (Object.keys(volumes).length) top.volumes = volumes;
  const ports = list(p, 'publish', 'p', 'publish-add').map(portEntry);
  if (ports.length) svc.ports = ports;
  const secrets: Obj = {};
  const secretRefs = list(p, 'secret', 'secret-add').map((s) => blobEntry('secret', s, secrets));
  if (secretRefs.length) {
    svc.secrets = secretRefs;
    top.secrets = secrets;
  }
  const configs: Obj = {};
  const configRefs = list(p, 'config', 'config-add').map((s) => blobEntry('config', s, configs));
  if (configRefs.length) {
    svc.configs = configRefs;
    top.configs = configs;
  }
  const networks = list(p, 'network', 'network-add');
  if (networks.length) {
    svc.networks = networks;
    top.networks = Object.fromEntries(networks.map((n) => [n, { external: true }]));
  }
  const health = str(p, 'health-cmd');
  if (health !== null) svc.healthcheck = { test: health };
  if (p.flags.get('no-healthcheck') === true) svc.healthcheck = { disable: true };
  return svc;
}

function labels(entries: string[]): Record<string, string> {
  return Object.fromEntries(entries.map((e) => {
    const eq = e.indexOf('=');
    return eq < 0 ? [e, ''] : [e.slice(0, eq), e.slice(eq + 1)];
  }));
}

function updateConfigFlags(p: Parsed, kind: 'update' | 'rollback', cur: UpdateConfig | null): UpdateConfig | null {
  const f = (n: string) => `${kind}-${n}`;
  if (!given(p, ...['parallelism', 'delay', 'failure-action', 'monitor', 'max-failure-ratio', 'order'].map(f))) return cur;
  const out = { ...(cur ?? defaultUpdateConfig()) };
  out.parallelism = integer(p, f('parallelism'), 0) ?? out.parallelism;
  out.delayMs = duration(p, f('delay')) ?? out.delayMs;
  const monitor = duration(p, f('monitor'));
  if (monitor !== null) out.monitorMs = monitor;
  const actions = kind === 'update' ? (['pause', 'continue', 'rollback'] as const) : (['pause', 'continue'] as const);
  out.failureAction = oneOf(p, f('failure-action'), actions) ?? out.failureAction;
  out.order = oneOf(p, f('order'), ['stop-first', 'start-first'] as const) ?? out.order;
  const ratio = flagString(p, f('max-failure-ratio'));
  if (ratio !== null) {
    const n = Number(ratio);
    if (ratio.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) fail(f('max-failure-ratio'), ratio, 'expected a number from 0 to 1');
    out.maxFailureRatio = n;
  }
  return out;
}

/** The flags that are plain values, applied to `spec` (create starts from the converted defaults). */
function applyScalars(p: Parsed, spec: ServiceSpec): ServiceSpec {
  const task = { ...spec.task };
  const c = { ...task.container };
  const image = str(p, 'image');
  if (image !== null) c.image = image;
  const replicas = integer(p, 'replicas', 0);
  if (replicas !== null && spec.mode === 'global') throw new InvalidArgumentError('--replicas cannot be used with a global service');
  const hostname = str(p, 'hostname');
  if (hostname !== null) c.hostname = hostname;
  const user = str(p, 'user', 'u');
  if (user !== null) c.user = user;
  const workdir = str(p, 'workdir', 'w');
  if (workdir !== null) c.workingDir = workdir;
  const entrypoint = str(p, 'entrypoint');
  if (entrypoint !== null) c.entrypoint = entrypoint === '' ? null : entrypoint.split(/\s+/).filter(Boolean);
  const args = str(p, 'args');
  if (args !== null) c.command = args === '' ? null : args.split(/\s+/).filter(Boolean);
  const grace = duration(p, 'stop-grace-period');
  if (grace !== null) c.stopGracePeriodMs = grace;
  const signal = str(p, 'stop-signal');
  if (signal !== null) c.runtime = { ...c.runtime, stopSignal: signal };
  if (p.flags.get('init') === true) c.runtime = { ...c.runtime, init: true };
  if (p.flags.get('read-only') === true) c.runtime = { ...c.runtime, readOnly: true };
  if (p.flags.get('tty') === true || p.flags.get('t') === true) c.tty = true;

  // Health check timings, over the test the service has (or gets from --health-cmd).
  if (given(p, 'health-interval', 'health-timeout', 'health-retries', 'health-start-period', 'health-start-interval')) {
    const h = { ...(c.healthcheck ?? { test: [], intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null }) };
    h.intervalMs = duration(p, 'health-interval') ?? h.intervalMs;
    h.timeoutMs = duration(p, 'health-timeout') ?? h.timeoutMs;
    h.startPeriodMs = duration(p, 'health-start-period') ?? h.startPeriodMs;
    h.startIntervalMs = duration(p, 'health-start-interval') ?? h.startIntervalMs;
    h.retries = integer(p, 'health-retries', 0) ?? h.retries;
    c.healthcheck = h;
  }

  const res = { limits: { ...task.resources.limits }, reservations: { ...task.resources.reservations } };
  const cpu = (flag: string) => {
    const v = str(p, flag);
    if (v === null) return undefined;
    const n = parseNanoCpus(v);
    if (n === null) fail(flag, v, 'expected a number of CPUs such as 0.5');
    return n;
  };
  const mem = (flag: string) => {
    const v = str(p, flag);
    if (v === null) return undefined;
    const n = parseBytes(v);
    if (n === null || n <= 0) fail(flag, v, 'expected a size such as 512M or 1G');
    return n;
  };
  res.limits.nanoCpus = cpu('limit-cpu') ?? res.limits.nanoCpus;
  res.limits.memoryBytes = mem('limit-memory') ?? res.limits.memoryBytes;
  res.limits.pids = integer(p, 'limit-pids', 1) ?? res.limits.pids;
  res.reservations.nanoCpus = cpu('reserve-cpu') ?? res.reservations.nanoCpus;
  res.reservations.memoryBytes = mem('reserve-memory') ?? res.reservations.memoryBytes;
  task.resources = res;

  if (given(p, 'restart-condition', 'restart-delay', 'restart-max-attempts', 'restart-window')) {
    const r = { ...(task.restartPolicy ?? defaultRestartPolicy()) };
    r.condition = oneOf(p, 'restart-condition', ['none', 'on-failure', 'any'] as const) ?? r.condition;
    r.delayMs = duration(p, 'restart-delay') ?? r.delayMs;
    r.maxAttempts = integer(p, 'restart-max-attempts', 0) ?? r.maxAttempts;
    r.windowMs = duration(p, 'restart-window') ?? r.windowMs;
    task.restartPolicy = r;
  }
  const maxPerNode = integer(p, 'replicas-max-per-node', 0);
  if (maxPerNode !== null) task.placement = { ...task.placement, maxReplicas: maxPerNode };
  const logDriver = str(p, 'log-driver');
  if (logDriver !== null || given(p, 'log-opt')) {
    task.logDriver = { name: logDriver ?? task.logDriver?.name ?? 'json-file', options: { ...(logDriver === null ? task.logDriver?.options ?? {} : {}), ...labels(list(p, 'log-opt')) } };
  }
  task.container = c;
  const endpointMode = oneOf(p, 'endpoint-mode', ['vip', 'dnsrr'] as const);
  return {
    ...spec,
    replicas: replicas ?? spec.replicas,
    task,
    endpoint: endpointMode === null ? spec.endpoint : { ...spec.endpoint, mode: endpointMode },
    update: updateConfigFlags(p, 'update', spec.update),
    rollback: updateConfigFlags(p, 'rollback', spec.rollback),
  };
}

/** `service create [flags] IMAGE [COMMAND [ARG...]]`. */
export function specFromCreateFlags(p: Parsed, image: string, command: string[]): ServiceSpec {
  const name = str(p, 'name');
  if (name === null) throw new InvalidArgumentError('--name is required (tsswarm service create --name NAME IMAGE)');
  const mode = oneOf(p, 'mode', ['replicated', 'global'] as const) ?? 'replicated';
  const top: Obj = {};
  const svc = composeService(p, image, top);
  if (command.length) svc.command = command;
  svc.deploy = {
    mode,
    ...(mode === 'replicated' ? { replicas: 1 } : {}),
    labels: labels(list(p, 'label', 'label-add')),
    placement: { constraints: list(p, 'constraint', 'constraint-add'), preferences: list(p, 'placement-pref', 'placement-pref-add').map(spreadOf) },
  };
  const cl = labels(list(p, 'container-label', 'container-label-add'));
  if (Object.keys(cl).length) svc.labels = cl;
  const dns = list(p, 'dns', 'dns-add');
  if (dns.length) svc.dns = dns;
  const search = list(p, 'dns-search');
  if (search.length) svc.dns_search = search;
  // Docker's --host would be the CLI's own --host (the manager): extra hosts are --host-add here.
  const hosts = list(p, 'host-add');
  if (hosts.length) svc.extra_hosts = hosts;
  return applyScalars(p, convert(name, svc, top));
}

function spreadOf(text: string): Obj {
  const m = /^spread=(.+)$/.exec(text);
  if (!m) fail('placement-pref', text, 'expected spread=node.labels.KEY');
  return { spread: m[1] };
}

/** Removes list entries named by `--X-rm` flags: `key(entry)` is what the flag names. */
function removing<T>(items: T[], names: string[], key: (t: T) => string[]): T[] {
  if (names.length === 0) return items;
  return items.filter((t) => !key(t).some((k) => names.includes(k)));
}

/** `service update [flags] SERVICE`: the flags given, applied to the service's current spec. */
export function specFromUpdateFlags(p: Parsed, cur: ServiceSpec): ServiceSpec {
  const top: Obj = {};
  const added = convert('update', composeService(p, cur.task.container.image, top), top);
  const c = cur.task.container;
  const envKey = (e: string) => e.split('=', 1)[0]!;
  const envRm = list(p, 'env-rm');
  const envAdd = added.task.container.env;
  const env = [...removing(c.env, [...envRm, ...envAdd.map(envKey)], (e) => [envKey(e)]), ...envAdd];
  const mounts = [...removing(c.mounts, [...list(p, 'mount-rm'), ...added.task.container.mounts.map((m) => m.target)], (m) => [m.target]), ...added.task.container.mounts];
  const secrets = [...removing(c.secrets, list(p, 'secret-rm'), (s) => [s.secretName, s.secretId]), ...added.task.container.secrets];
  const configs = [...removing(c.configs, list(p, 'config-rm'), (s) => [s.configName, s.configId]), ...added.task.container.configs];
  const portRm = list(p, 'publish-rm');
  const ports = [...removing(cur.endpoint.ports, portRm, (q) => [String(q.target), `${q.target}/${q.protocol}`, ...(q.published === null ? [] : [String(q.published)])]), ...added.endpoint.ports];
  const networks = [...removing(cur.networks, list(p, 'network-rm'), (n) => [n.target]), ...added.networks.filter((n) => !cur.networks.some((x) => x.target === n.target))];
  const withLabels = (base: Record<string, string>, add: string[], rm: string[]) => ({ ...Object.fromEntries(Object.entries(base).filter(([k]) => !rm.includes(k))), ...labels(add) });
  const constraintRm = list(p, 'constraint-rm');
  const constraints = [...cur.task.placement.constraints.filter((x) => !constraintRm.includes(x)), ...list(p, 'constraint-add').filter((x) => !cur.task.placement.constraints.includes(x))];
  const prefRm = list(p, 'placement-pref-rm');
  const preferences = [...cur.task.placement.preferences.filter((x) => !prefRm.includes(`spread=${x.spread}`)), ...list(p, 'placement-pref-add').map(spreadOf) as { spread: string }[]];
  const listEdit = (base: string[], add: string[], rm: string[]) => [...base.filter((x) => !rm.includes(x)), ...add.filter((x) => !base.includes(x))];
  let healthcheck = c.healthcheck;
  if (given(p, 'health-cmd', 'no-healthcheck')) healthcheck = added.task.container.healthcheck;
  const spec: ServiceSpec = {
    ...cur,
    labels: withLabels(cur.labels, list(p, 'label-add'), list(p, 'label-rm')),
    networks,
    endpoint: { ...cur.endpoint, ports },
    task: {
      ...cur.task,
      placement: { ...cur.task.placement, constraints, preferences },
      container: {
        ...c,
        env,
        mounts,
        secrets,
        configs,
        healthcheck,
        labels: withLabels(c.labels, list(p, 'container-label-add'), list(p, 'container-label-rm')),
        dns: listEdit(c.dns, list(p, 'dns-add'), list(p, 'dns-rm')),
        extraHosts: listEdit(c.extraHosts, list(p, 'host-add'), list(p, 'host-rm')),
      },
      // --force: a new digest, so every task is replaced though nothing else changed.
      forceUpdate: cur.task.forceUpdate + (p.flags.get('force') === true ? 1 : 0),
    },
  };
  return applyScalars(p, spec);
}
