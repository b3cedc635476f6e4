/**
 * Validates an interpolated stack tree and converts it to ServiceSpecs and
 * the networks they use.
 *
 * Every problem is recorded (with key path and line) rather than thrown, so
 * one run reports all of them; the caller throws if any were found and never
 * uses a partial result.
 */
import type {
  ContainerSpec,
  EndpointSpec,
  NetworkSpec,
  PortConfig,
  ResourceLimits,
  ServiceMode,
  ServiceNetwork,
  ServiceSpec,
  StackNetwork,
} from '../types';
import { invalidSubnetReason, parseHostsAddress, parseIpv4, subnetRange } from './addresses';
import { normalizeImageRef } from './image-ref';
import type { Lookup } from './interpolate';
import { invalidServiceNameReason, invalidStackNameReason, normalizeStackName, stackNameFromDir } from './names';
import type { TreeEntry, TreeMap, TreeNode, TreeScalar } from './parse';
import { describe, isNull, join } from './tree';
import { runtimeSettings } from './runtime-keys';
import type { Problems } from './problems';
import type { KeySet } from './schema';
import {
  DEPENDS_ON_CONDITIONS,
  DEPENDS_ON_ENTRY,
  DEPLOY,
  IPAM,
  IPAM_CONFIG,
  LIMITS,
  NETWORK,
  PORT,
  RESOURCES,
  SERVICE,
  SERVICE_NETWORK,
  TOP_LEVEL,
  classifyKey,
} from './schema';
import { HOST_IP_REASON, parsePortNumber, parsePortProtocol, parseShortPort } from './ports';
import { ShellSplitError, shellSplit } from './shell-split';
import { parseBytes, parseDurationMs, parseInteger, parseNanoCpus } from './units';

/** The label docker puts on every object of a stack; `docker stack ls/rm` find them by it. */
export const NAMESPACE_LABEL = 'com.docker.stack.namespace';
import { DEFAULT_STOP_GRACE_PERIOD_MS, defaultPlacement } from '../task-spec';
export { DEFAULT_STOP_GRACE_PERIOD_MS };
/** The network services join when they name none, created for the stack when the file does not define it. */
export const DEFAULT_NETWORK = 'default';

export interface ConvertOptions {
  /** Stack name given by the user; wins over `name:` and the folder name. */
  nameOverride: string | null;
  /** Folder of the stack file, whose name is the last-resort stack name. */
  dir: string;
  /** Variables for `environment` entries given without a value. */
  lookup: Lookup;
}

export interface ConvertedStack {
  name: string;
  services: ServiceSpec[];
  /** Networks of the top-level `networks:` in file order, then the implicit `default` if used. */
  networks: StackNetwork[];
  /** Service-level keys we ignore, sorted: `build`, `deploy.update_config`, `networks.ipv4_address`. */
  ignoredServiceOptions: string[];
  /** Keys of top-level networks we ignore, sorted: `driver_opts.<option>`, `ipam.config.gateway`. */
  ignoredNetworkOptions: string[];
  /** Top-level compose keys we ignore, sorted: `secrets`, `volumes`. */
  ignoredTopLevelKeys: string[];
}

/** Returns null when the tree is too broken to say anything more; `problems` then holds why. */
export function convertStack(root: TreeNode | null, opts: ConvertOptions, problems: Problems): ConvertedStack | null {
  return new Converter(opts, problems).stack(root);
}

interface DeployResult {
  mode: ServiceMode;
  replicas: number;
  limits: ResourceLimits;
  /** null when not given (vip); the line is for the dnsrr-with-ingress-ports error. */
  endpointMode: { mode: EndpointSpec['mode']; line: number } | null;
}

interface Dependency {
  name: string;
  line: number;
}

/** A published port with where it was written, to report conflicts between services. */
interface PortEntry {
  port: PortConfig;
  path: string;
  line: number;
}

/**
 * The networks of the top-level `networks:` by key. A key whose definition is
 * broken maps to null: it was reported already, so services naming it must
 * not add "undefined network" errors.
 */
type NetworkTable = ReadonlyMap<string, StackNetwork | null>;

class Converter {
  private readonly ignoredService = new Set<string>();
  private readonly ignoredNetwork = new Set<string>();
  private readonly ignoredTop = new Set<string>();
  /** Whether a service joins `default` while the file does not define it. */
  private usesImplicitDefault = false;

  constructor(
    private readonly opts: ConvertOptions,
    private readonly problems: Problems,
  ) {}

  stack(root: TreeNode | null): ConvertedStack | null {
    if (root === null || (root.kind === 'scalar' && root.value === null)) {
      this.problems.add('', 'the file is empty; it needs a "services" mapping', 1);
      return null;
    }
    if (root.kind !== 'map') {
      this.problems.add('', `the top level must be a mapping, got ${describe(root)}`, root.line);
      return null;
    }
    const top = this.knownKeys(root, TOP_LEVEL, '', this.ignoredTop);
    const name = this.stackName(top.get('name'));
    const networks = this.networks(top.get('networks'), name ?? '');

    const servicesEntry = top.get('services');
    let services: ServiceSpec[] = [];
    if (!servicesEntry) {
      this.problems.add('services', 'required: the file defines no services', root.line);
    } else if (servicesEntry.value.kind !== 'map') {
      this.problems.add('services', `must be a mapping of service names to services, got ${describe(servicesEntry.value)}`, servicesEntry.keyLine);
    } else if (servicesEntry.value.entries.length === 0) {
      this.problems.add('services', 'must define at least one service', servicesEntry.keyLine);
    } else {
      services = this.services(servicesEntry.value, name ?? '', networks);
    }
    if (name === null) return null;
    const stackNetworks = [...networks.values()].filter((n): n is StackNetwork => n !== null);
    if (this.usesImplicitDefault) {
      stackNetworks.push({ key: DEFAULT_NETWORK, external: false, spec: stackNetworkSpec(`${name}_${DEFAULT_NETWORK}`, name) });
    }
    return {
      name,
      services,
      networks: stackNetworks,
      ignoredServiceOptions: [...this.ignoredService].sort(),
      ignoredNetworkOptions: [...this.ignoredNetwork].sort(),
      ignoredTopLevelKeys: [...this.ignoredTop].sort(),
    };
  }

  private stackName(nameEntry: TreeEntry | undefined): string | null {
    let fromFile: string | null = null;
    if (nameEntry) fromFile = this.string(nameEntry.value, 'name');

    let candidate: string;
    let path: string;
    let line: number | null;
    if (this.opts.nameOverride !== null) {
      candidate = normalizeStackName(this.opts.nameOverride);
      path = '';
      line = null;
    } else if (fromFile !== null && nameEntry) {
      candidate = normalizeStackName(fromFile);
      path = 'name';
      line = nameEntry.keyLine;
    } else {
      candidate = stackNameFromDir(this.opts.dir);
      path = '';
      line = null;
      if (candidate === '') {
        this.problems.add('', `cannot derive a stack name from the folder ${JSON.stringify(this.opts.dir)}; give one with "name:" or the --name option`, null);
        return null;
      }
    }
    const reason = invalidStackNameReason(candidate);
    if (reason !== null) {
      this.problems.add(path, reason, line);
      return null;
    }
    return candidate;
  }

  private services(map: TreeMap, stack: string, networks: NetworkTable): ServiceSpec[] {
    const out: ServiceSpec[] = [];
    const deps = new Map<string, Dependency[]>();
    const ports = new Map<string, PortEntry[]>();
    for (const entry of map.entries) {
      const converted = this.service(entry, stack, networks);
      if (converted) {
        out.push(converted.spec);
        deps.set(entry.key, converted.dependsOn);
        ports.set(entry.key, converted.ports);
      }
    }
    this.checkDependencies(deps, new Set(map.entries.map((e) => e.key)));
    this.checkPortConflicts(ports);
    return out;
  }

  private service(entry: TreeEntry, stack: string, networks: NetworkTable): { spec: ServiceSpec; dependsOn: Dependency[]; ports: PortEntry[] } | null {
    const name = entry.key;
    const path = `services.${name}`;
    const nameProblem = invalidServiceNameReason(name, stack);
    if (nameProblem !== null) this.problems.add(path, nameProblem, entry.keyLine);
    if (entry.value.kind !== 'map') {
      this.problems.add(path, `must be a mapping, got ${describe(entry.value)}`, entry.keyLine);
      return null;
    }
    const keys = this.knownKeys(entry.value, SERVICE, path, this.ignoredService);
    const field = (key: string): TreeNode | null => {
      const e = keys.get(key);
      return e && !isNull(e.value) ? e.value : null;
    };

    const image = this.image(field('image'), path, entry.keyLine);
    const command = this.words(field('command'), `${path}.command`);
    const entrypoint = this.words(field('entrypoint'), `${path}.entrypoint`);
    const env = this.environment(field('environment'), `${path}.environment`);
    const workingDir = this.workingDir(field('working_dir'), `${path}.working_dir`);
    const user = this.optionalString(field('user'), `${path}.user`);
    const hostname = this.hostname(field('hostname'), `${path}.hostname`);
    const stopGracePeriodMs = this.stopGracePeriod(field('stop_grace_period'), `${path}.stop_grace_period`);
    const dns = this.dns(field('dns'), `${path}.dns`);
    const extraHosts = this.extraHosts(field('extra_hosts'), `${path}.extra_hosts`);
    const deploy = this.deploy(field('deploy'), `${path}.deploy`);
    const serviceNetworks = this.serviceNetworks(field('networks'), `${path}.networks`, stack, networks);
    const ports = this.ports(field('ports'), `${path}.ports`);
    const endpoint: EndpointSpec = { mode: deploy.endpointMode?.mode ?? 'vip', ports: ports.map((p) => p.port) };
    if (deploy.endpointMode?.mode === 'dnsrr' && ports.some((p) => p.port.mode === 'ingress')) {
      // Swarm's own words: the routing mesh balances on a virtual IP, which dnsrr does not have.
      this.problems.add(`${path}.deploy.endpoint_mode`, "port published with ingress mode can't be used with dnsrr mode", deploy.endpointMode.line);
    }

    let dependsOn: Dependency[] = [];
    if (keys.has('depends_on')) {
      // Checked for dangling names, then ignored: swarm does not order start-up.
      this.ignoredService.add('depends_on');
      dependsOn = this.dependsOn(field('depends_on'), `${path}.depends_on`);
    }

    const container: ContainerSpec = {
      image: image ?? '',
      command,
      entrypoint,
      env,
      workingDir,
      user,
      hostname,
      stopGracePeriodMs,
      dns,
      extraHosts,
      runtime: runtimeSettings(field, path, { problems: this.problems, dir: this.opts.dir }),
      labels: {},
      mounts: [],
      secrets: [],
      configs: [],
      healthcheck: null,
    };
    const spec: ServiceSpec = {
      name: `${stack}_${name}`,
      stack,
      mode: deploy.mode,
      replicas: deploy.replicas,
      task: { container, hostNetwork: false, resources: { limits: deploy.limits, reservations: { memoryBytes: null, nanoCpus: null, generic: {} } }, placement: defaultPlacement(), restartPolicy: null, logDriver: null },
      labels: { [NAMESPACE_LABEL]: stack },
      networks: serviceNetworks,
      endpoint,
      update: null,
      rollback: null,
    };
    return { spec, dependsOn, ports };
  }

  /**
   * Sorts the keys of a mapping: unknown ones are errors, compose keys we do
   * not implement go to `ignored` (as `prefix` + key), extensions are dropped.
   * Returns the supported entries by key.
   */
  private knownKeys(map: TreeMap, set: KeySet, path: string, ignored: Set<string> | null, ignoredPrefix = ''): Map<string, TreeEntry> {
    const out = new Map<string, TreeEntry>();
    for (const entry of map.entries) {
      const kind = classifyKey(set, entry.key);
      if (kind === 'supported') out.set(entry.key, entry);
      else if (kind === 'unsupported') ignored?.add(ignoredPrefix + entry.key);
      else if (kind === 'unknown') this.problems.add(join(path, entry.key), 'unknown key', entry.keyLine);
    }
    return out;
  }

  // ---- scalar helpers: each records a problem and returns null on bad input ----

  private string(node: TreeNode, path: string): string | null {
    if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
    if (isNull(node)) return null;
    this.problems.add(path, `must be a string, got ${describe(node)}`, node.line);
    return null;
  }

  private optionalString(node: TreeNode | null, path: string): string | null {
    return node === null ? null : this.string(node, path);
  }

  private image(node: TreeNode | null, servicePath: string, serviceLine: number): string | null {
    if (node === null) {
      this.problems.add(servicePath, 'missing required key "image" (building images from a stack file is not supported)', serviceLine);
      return null;
    }
    const ref = this.string(node, `${servicePath}.image`);
    if (ref === null) return null;
    const normalized = normalizeImageRef(ref);
    if (!normalized.ok) {
      this.problems.add(`${servicePath}.image`, `invalid image reference ${JSON.stringify(ref)}: ${normalized.reason}`, node.line);
      return null;
    }
    return normalized.ref;
  }

  /** `command` / `entrypoint`: a string split like a shell would, or a list of strings. */
  private words(node: TreeNode | null, path: string): string[] | null {
    if (node === null) return null;
    if (node.kind === 'scalar' && typeof node.value === 'string') {
      try {
        return shellSplit(node.value);
      } catch (e) {
        if (!(e instanceof ShellSplitError)) throw e;
        this.problems.add(path, `cannot split ${JSON.stringify(node.value)} into words: ${e.message}`, node.line);
        return null;
      }
    }
    if (node.kind === 'seq') {
      const words: string[] = [];
      node.items.forEach((item, i) => {
        if (item.kind === 'scalar' && typeof item.value === 'string') words.push(item.value);
        else this.problems.add(`${path}[${i}]`, `must be a string, got ${describe(item)} (quote it)`, item.line);
      });
      return words;
    }
    this.problems.add(path, `must be a string or a list of strings, got ${describe(node)}`, node.line);
    return null;
  }

  /**
   * Both compose forms, in file order, later duplicates replacing earlier
   * values. An entry without a value (`- B` or `B:`/`B: null`) takes it from
   * the variables, and is left out when the variable is not set, as docker does.
   */
  private environment(node: TreeNode | null, path: string): string[] {
    if (node === null) return [];
    const vars = new Map<string, string>();
    const set = (key: string, value: string | null, keyPath: string, line: number): void => {
      if (key === '' || key.includes('\0')) {
        this.problems.add(keyPath, 'variable name must not be empty', line);
        return;
      }
      const resolved = value ?? this.opts.lookup(key);
      if (resolved === undefined) vars.delete(key);
      else vars.set(key, resolved);
    };
    if (node.kind === 'seq') {
      node.items.forEach((item, i) => {
        const itemPath = `${path}[${i}]`;
        if (item.kind !== 'scalar' || typeof item.value !== 'string') {
          this.problems.add(itemPath, `must be a "KEY=value" string, got ${describe(item)}`, item.line);
          return;
        }
        const eq = item.value.indexOf('=');
        if (eq < 0) set(item.value, null, itemPath, item.line);
        else set(item.value.slice(0, eq), item.value.slice(eq + 1), itemPath, item.line);
      });
    } else if (node.kind === 'map') {
      for (const e of node.entries) {
        const keyPath = `${path}.${e.key}`;
        if (e.key.includes('=')) {
          this.problems.add(keyPath, 'variable name must not contain "="', e.keyLine);
          continue;
        }
        const v = e.value;
        if (v.kind !== 'scalar') {
          this.problems.add(keyPath, `must be a string, number, boolean or null, got ${describe(v)}`, e.keyLine);
          continue;
        }
        set(e.key, v.value === null ? null : v.text, keyPath, e.keyLine);
      }
    } else {
      this.problems.add(path, `must be a list of "KEY=value" strings or a mapping, got ${describe(node)}`, node.line);
    }
    return [...vars].map(([k, v]) => `${k}=${v}`);
  }

  private workingDir(node: TreeNode | null, path: string): string | null {
    const dir = this.optionalString(node, path);
    if (dir !== null && !dir.startsWith('/') && node) {
      // The runtime resolves it inside the container's root, where no "current directory" exists.
      this.problems.add(path, `must be an absolute path, got ${JSON.stringify(dir)}`, node.line);
      return null;
    }
    return dir;
  }

  private hostname(node: TreeNode | null, path: string): string | null {
    const name = this.optionalString(node, path);
    if (name === null || !node) return null;
    // sethostname(2) takes at most 64 bytes; the label rule keeps it resolvable.
    if (!isDnsName(name)) {
      this.problems.add(path, `invalid hostname ${JSON.stringify(name)}: use letters, digits, "-" and ".", at most 63 characters`, node.line);
      return null;
    }
    return name;
  }

  private stopGracePeriod(node: TreeNode | null, path: string): number {
    if (node === null) return DEFAULT_STOP_GRACE_PERIOD_MS;
    const ms = node.kind === 'scalar' && typeof node.value === 'string' ? parseDurationMs(node.value) : null;
    if (ms === null) {
      this.problems.add(path, `must be a duration such as 10s, 1m30s or 500ms, got ${describe(node)}`, node.line);
      return DEFAULT_STOP_GRACE_PERIOD_MS;
    }
    return ms;
  }

  private deploy(node: TreeNode | null, path: string): DeployResult {
    const result: DeployResult = {
      mode: 'replicated',
      replicas: 1,
      limits: { memoryBytes: null, nanoCpus: null, pids: null },
      endpointMode: null,
    };
    if (node === null) return result;
    if (node.kind !== 'map') {
      this.problems.add(path, `must be a mapping, got ${describe(node)}`, node.line);
      return result;
    }
    const keys = this.knownKeys(node, DEPLOY, path, this.ignoredService, 'deploy.');
    const field = (key: string): TreeScalar | TreeNode | null => {
      const e = keys.get(key);
      return e && !isNull(e.value) ? e.value : null;
    };

    const modeNode = field('mode');
    if (modeNode) {
      const mode = this.string(modeNode, `${path}.mode`);
      if (mode === 'replicated' || mode === 'global') result.mode = mode;
      else if (mode === 'replicated-job' || mode === 'global-job') {
        this.problems.add(`${path}.mode`, `mode ${mode} is not supported yet; use replicated or global`, modeNode.line);
      } else if (mode !== null) {
        this.problems.add(`${path}.mode`, `must be replicated or global, got ${JSON.stringify(mode)}`, modeNode.line);
      }
    }

    const replicasNode = field('replicas');
    if (result.mode === 'global') result.replicas = 0;
    if (replicasNode) {
      const replicas = integerOf(replicasNode);
      if (replicas === null || replicas < 0) {
        this.problems.add(`${path}.replicas`, `must be a non-negative integer, got ${describe(replicasNode)}`, replicasNode.line);
      } else if (result.mode === 'global') {
        this.problems.add(`${path}.replicas`, 'cannot be used with mode global (a global service runs one task per node)', replicasNode.line);
      } else {
        result.replicas = replicas;
      }
    }

    const resources = field('resources');
    if (resources) result.limits = this.resources(resources, `${path}.resources`);

    const endpointNode = field('endpoint_mode');
    if (endpointNode) {
      const mode = this.string(endpointNode, `${path}.endpoint_mode`);
      if (mode === 'vip' || mode === 'dnsrr') result.endpointMode = { mode, line: endpointNode.line };
      else if (mode !== null) this.problems.add(`${path}.endpoint_mode`, `must be vip or dnsrr, got ${JSON.stringify(mode)}`, endpointNode.line);
    }
    return result;
  }

  private resources(node: TreeNode, path: string): ResourceLimits {
    const limits: ResourceLimits = { memoryBytes: null, nanoCpus: null, pids: null };
    if (node.kind !== 'map') {
      this.problems.add(path, `must be a mapping, got ${describe(node)}`, node.line);
      return limits;
    }
    const keys = this.knownKeys(node, RESOURCES, path, this.ignoredService, 'deploy.resources.');
    const limitsEntry = keys.get('limits');
    if (!limitsEntry || isNull(limitsEntry.value)) return limits;
    const limitsPath = `${path}.limits`;
    if (limitsEntry.value.kind !== 'map') {
      this.problems.add(limitsPath, `must be a mapping, got ${describe(limitsEntry.value)}`, limitsEntry.keyLine);
      return limits;
    }
    const l = this.knownKeys(limitsEntry.value, LIMITS, limitsPath, this.ignoredService, 'deploy.resources.limits.');
    const value = (key: string): TreeScalar | null => {
      const e = l.get(key);
      if (!e || isNull(e.value)) return null;
      if (e.value.kind === 'scalar') return e.value;
      this.problems.add(`${limitsPath}.${key}`, `must be a number or a string, got ${describe(e.value)}`, e.keyLine);
      return null;
    };

    const memory = value('memory');
    if (memory) {
      const bytes = typeof memory.value === 'string' || typeof memory.value === 'number' ? parseBytes(memory.value) : null;
      if (bytes === null || bytes <= 0) {
        this.problems.add(`${limitsPath}.memory`, `must be a positive size such as 512M, 1g or a number of bytes, got ${describe(memory)}`, memory.line);
      } else {
        limits.memoryBytes = bytes;
      }
    }
    const cpus = value('cpus');
    if (cpus) {
      const nanos = typeof cpus.value === 'string' || typeof cpus.value === 'number' ? parseNanoCpus(cpus.value) : null;
      if (nanos === null) this.problems.add(`${limitsPath}.cpus`, `must be a number of CPUs greater than 0, got ${describe(cpus)}`, cpus.line);
      else limits.nanoCpus = nanos;
    }
    const pids = value('pids');
    if (pids) {
      const n = integerOf(pids);
      if (n === null || n <= 0) this.problems.add(`${limitsPath}.pids`, `must be a positive integer, got ${describe(pids)}`, pids.line);
      else limits.pids = n;
    }
    return limits;
  }

  // ---- networks and ports ----

  /** The top-level `networks:` mapping, by key; see NetworkTable for the nulls. */
  private networks(entry: TreeEntry | undefined, stack: string): Map<string, StackNetwork | null> {
    const out = new Map<string, StackNetwork | null>();
    if (!entry || isNull(entry.value)) return out;
    if (entry.value.kind !== 'map') {
      this.problems.add('networks', `must be a mapping of network names to networks, got ${describe(entry.value)}`, entry.keyLine);
      return out;
    }
    const names = new Map<string, string>();
    const subnets: { key: string; subnet: string; first: number; last: number }[] = [];
    for (const e of entry.value.entries) {
      const network = this.network(e, stack);
      out.set(e.key, network);
      if (network === null || network.external) continue;
      // Two keys naming one network would deploy whichever definition came last.
      const owner = names.get(network.spec.name);
      if (owner !== undefined) {
        this.problems.add(`networks.${e.key}`, `network name ${JSON.stringify(network.spec.name)} is already used by networks.${owner}`, e.keyLine);
      }
      names.set(network.spec.name, e.key);
      const range = network.spec.subnet === null ? null : subnetRange(network.spec.subnet);
      if (network.spec.subnet === null || range === null) continue;
      const clash = subnets.find((s) => s.first <= range.last && range.first <= s.last);
      if (clash) {
        this.problems.add(`networks.${e.key}`, `subnet ${network.spec.subnet} overlaps ${clash.subnet} of networks.${clash.key}`, e.keyLine);
      }
      subnets.push({ key: e.key, subnet: network.spec.subnet, ...range });
    }
    return out;
  }

  /** null when the definition has problems (they are recorded). */
  private network(entry: TreeEntry, stack: string): StackNetwork | null {
    const key = entry.key;
    const path = `networks.${key}`;
    const before = this.problems.list.length;
    if (!NETWORK_KEY.test(key)) {
      this.problems.add(path, 'invalid network name: use letters, digits, ".", "_" and "-"', entry.keyLine);
    }
    const node = entry.value;
    if (isNull(node)) {
      // `backend:` with nothing: a stack network with every default.
      return this.problems.list.length > before ? null : { key, external: false, spec: stackNetworkSpec(`${stack}_${key}`, stack) };
    }
    if (node.kind !== 'map') {
      this.problems.add(path, `must be a mapping, got ${describe(node)}`, entry.keyLine);
      return null;
    }
    const keys = this.knownKeys(node, NETWORK, path, this.ignoredNetwork);
    const field = (k: string): TreeNode | null => {
      const e = keys.get(k);
      return e && !isNull(e.value) ? e.value : null;
    };

    const external = this.boolean(field('external'), `${path}.external`) ?? false;
    if (external) {
      // As compose: an external network is only looked up, so settings for creating it are mistakes.
      for (const e of node.entries) {
        const kind = classifyKey(NETWORK, e.key);
        if (e.key === 'external' || e.key === 'name' || kind === 'extension' || kind === 'unknown') continue;
        this.problems.add(`${path}.${e.key}`, `conflicting parameters "external" and "${e.key}" specified`, e.keyLine);
      }
    }

    let name = external ? key : `${stack}_${key}`;
    const nameNode = field('name');
    const given = nameNode ? this.string(nameNode, `${path}.name`) : null;
    if (given !== null && nameNode) {
      if (NETWORK_NAME.test(given)) name = given;
      else this.problems.add(`${path}.name`, `invalid network name ${JSON.stringify(given)}: use letters, digits, ".", "_" and "-", starting with a letter or digit`, nameNode.line);
    }

    const driverNode = field('driver');
    const driver = driverNode ? this.string(driverNode, `${path}.driver`) : null;
    if (driverNode && driver !== null && driver !== 'overlay') {
      this.problems.add(`${path}.driver`, `only the overlay driver is supported, got ${JSON.stringify(driver)}`, driverNode.line);
    }
    const attachable = this.boolean(field('attachable'), `${path}.attachable`) ?? false;
    const subnet = this.ipamSubnet(field('ipam'), `${path}.ipam`);
    const labels = this.labels(field('labels'), `${path}.labels`);
    const encrypted = this.driverOpts(field('driver_opts'), `${path}.driver_opts`);

    if (this.problems.list.length > before) return null;
    if (external) {
      return { key, external, spec: { name, stack: null, driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false } };
    }
    return { key, external, spec: stackNetworkSpec(name, stack, subnet, attachable, labels, encrypted) };
  }

  /**
   * `driver_opts` of an overlay network; returns whether it is encrypted. As in Docker, the key
   * `encrypted` with any value (`""`, `"true"`, none at all) turns encryption on. Docker's other
   * overlay options (`com.docker.network.driver.mtu`, ...) are ignored with a warning.
   */
  private driverOpts(node: TreeNode | null, path: string): boolean {
    if (node === null) return false;
    if (node.kind !== 'map') {
      this.problems.add(path, `must be a mapping of option names to values, got ${describe(node)}`, node.line);
      return false;
    }
    let encrypted = false;
    for (const e of node.entries) {
      if (e.value.kind !== 'scalar') {
        this.problems.add(`${path}.${e.key}`, `must be a string, number, boolean or null, got ${describe(e.value)}`, e.keyLine);
      } else if (e.key === 'encrypted') {
        encrypted = true;
      } else {
        this.ignoredNetwork.add(`driver_opts.${e.key}`);
      }
    }
    return encrypted;
  }

  /** `ipam: { config: [ { subnet: 10.0.9.0/24 } ] }`: at most one subnet, IPv4. */
  private ipamSubnet(node: TreeNode | null, path: string): string | null {
    if (node === null) return null;
    if (node.kind !== 'map') {
      this.problems.add(path, `must be a mapping, got ${describe(node)}`, node.line);
      return null;
    }
    const keys = this.knownKeys(node, IPAM, path, this.ignoredNetwork, 'ipam.');
    const config = keys.get('config');
    if (!config || isNull(config.value)) return null;
    const configPath = `${path}.config`;
    if (config.value.kind !== 'seq') {
      this.problems.add(configPath, `must be a list, got ${describe(config.value)}`, config.keyLine);
      return null;
    }
    if (config.value.items.length > 1) {
      this.problems.add(configPath, `at most one subnet is supported, got ${config.value.items.length} entries`, config.keyLine);
      return null;
    }
    const item = config.value.items[0];
    if (item === undefined || isNull(item)) return null;
    const itemPath = `${configPath}[0]`;
    if (item.kind !== 'map') {
      this.problems.add(itemPath, `must be a mapping, got ${describe(item)}`, item.line);
      return null;
    }
    const itemKeys = this.knownKeys(item, IPAM_CONFIG, itemPath, this.ignoredNetwork, 'ipam.config.');
    const subnetEntry = itemKeys.get('subnet');
    if (!subnetEntry || isNull(subnetEntry.value)) return null;
    const subnet = this.string(subnetEntry.value, `${itemPath}.subnet`);
    if (subnet === null) return null;
    const reason = invalidSubnetReason(subnet);
    if (reason !== null) {
      this.problems.add(`${itemPath}.subnet`, `invalid subnet ${JSON.stringify(subnet)}: ${reason}`, subnetEntry.keyLine);
      return null;
    }
    return subnet;
  }

  /** `["a=b", "c"]` or `{a: b, c: null}`; a label without a value is the empty string, as in docker. */
  private labels(node: TreeNode | null, path: string): Record<string, string> {
    if (node === null) return {};
    const labels = new Map<string, string>();
    if (node.kind === 'seq') {
      node.items.forEach((item, i) => {
        if (item.kind !== 'scalar' || typeof item.value !== 'string') {
          this.problems.add(`${path}[${i}]`, `must be a "key=value" string, got ${describe(item)}`, item.line);
          return;
        }
        const eq = item.value.indexOf('=');
        const k = eq < 0 ? item.value : item.value.slice(0, eq);
        if (k === '') this.problems.add(`${path}[${i}]`, 'label name must not be empty', item.line);
        else labels.set(k, eq < 0 ? '' : item.value.slice(eq + 1));
      });
    } else if (node.kind === 'map') {
      for (const e of node.entries) {
        if (e.value.kind !== 'scalar') {
          this.problems.add(`${path}.${e.key}`, `must be a string, number, boolean or null, got ${describe(e.value)}`, e.keyLine);
        } else {
          labels.set(e.key, e.value.value === null ? '' : e.value.text);
        }
      }
    } else {
      this.problems.add(path, `must be a list of "key=value" strings or a mapping, got ${describe(node)}`, node.line);
    }
    // fromEntries defines own properties, so a label named __proto__ stays a label.
    return Object.fromEntries(labels);
  }

  /**
   * `[front, back]` or `{front: {aliases: [a]}, back: null}`; no networks (or
   * an empty list) means `default`, as in compose.
   */
  private serviceNetworks(node: TreeNode | null, path: string, stack: string, networks: NetworkTable): ServiceNetwork[] {
    const wanted: { key: string; aliases: string[]; line: number }[] = [];
    if (node === null) {
      // joins default below
    } else if (node.kind === 'seq') {
      node.items.forEach((item, i) => {
        if (item.kind !== 'scalar' || typeof item.value !== 'string') {
          this.problems.add(`${path}[${i}]`, `must be a network name, got ${describe(item)}`, item.line);
        } else if (wanted.some((w) => w.key === item.value)) {
          this.problems.add(`${path}[${i}]`, `network ${JSON.stringify(item.value)} is listed twice`, item.line);
        } else {
          wanted.push({ key: item.value, aliases: [], line: item.line });
        }
      });
    } else if (node.kind === 'map') {
      for (const e of node.entries) {
        wanted.push({ key: e.key, aliases: this.serviceNetworkOptions(e.value, `${path}.${e.key}`), line: e.keyLine });
      }
    } else {
      this.problems.add(path, `must be a list of network names or a mapping, got ${describe(node)}`, node.line);
      return [];
    }
    if (wanted.length === 0) wanted.push({ key: DEFAULT_NETWORK, aliases: [], line: node?.line ?? 0 });

    const out: ServiceNetwork[] = [];
    for (const w of wanted) {
      const declared = networks.get(w.key);
      if (declared === null) continue; // its definition is broken, and reported
      if (declared === undefined && w.key !== DEFAULT_NETWORK) {
        this.problems.add(path, `undefined network ${JSON.stringify(w.key)}`, w.line);
        continue;
      }
      if (declared === undefined) this.usesImplicitDefault = true;
      out.push({ target: declared?.spec.name ?? `${stack}_${DEFAULT_NETWORK}`, aliases: w.aliases });
    }
    return out;
  }

  /** The options of one network in the long form; returns its aliases. */
  private serviceNetworkOptions(node: TreeNode, path: string): string[] {
    if (isNull(node)) return [];
    if (node.kind !== 'map') {
      this.problems.add(path, `must be a mapping, got ${describe(node)}`, node.line);
      return [];
    }
    const keys = this.knownKeys(node, SERVICE_NETWORK, path, this.ignoredService, 'networks.');
    const entry = keys.get('aliases');
    if (!entry || isNull(entry.value)) return [];
    const aliasesPath = `${path}.aliases`;
    if (entry.value.kind !== 'seq') {
      this.problems.add(aliasesPath, `must be a list of names, got ${describe(entry.value)}`, entry.keyLine);
      return [];
    }
    const aliases: string[] = [];
    entry.value.items.forEach((item, i) => {
      const text = item.kind === 'scalar' && typeof item.value === 'string' ? item.value : null;
      if (text === null || !isDnsName(text)) {
        this.problems.add(`${aliasesPath}[${i}]`, `invalid alias ${describe(item)}: use letters, digits, "-" and ".", at most 63 characters`, item.line);
      } else if (!aliases.includes(text)) {
        aliases.push(text);
      }
    });
    return aliases;
  }

  /** Short and long syntax, ranges expanded, in file order; duplicates within the service are errors. */
  private ports(node: TreeNode | null, path: string): PortEntry[] {
    if (node === null) return [];
    if (node.kind !== 'seq') {
      this.problems.add(path, `must be a list, got ${describe(node)}`, node.line);
      return [];
    }
    const out: PortEntry[] = [];
    node.items.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      let ports: PortConfig[] = [];
      if (item.kind === 'scalar' && typeof item.value === 'number') {
        const target = parsePortNumber(item.text);
        if (target === null) this.problems.add(itemPath, `must be a port number between 1 and 65535, got ${describe(item)}`, item.line);
        else ports = [{ target, published: null, protocol: 'tcp', mode: 'ingress' }];
      } else if (item.kind === 'scalar' && typeof item.value === 'string') {
        const parsed = parseShortPort(item.value);
        if (!parsed.ok) this.problems.add(itemPath, `invalid port ${JSON.stringify(item.value)}: ${parsed.reason}`, item.line);
        else ports = parsed.ports;
      } else if (item.kind === 'map') {
        const port = this.longPort(item, itemPath);
        if (port) ports = [port];
      } else {
        this.problems.add(itemPath, `must be a string such as "8080:80", a port number or a mapping, got ${describe(item)}`, item.line);
      }
      for (const port of ports) out.push({ port, path: itemPath, line: item.line });
    });

    const seen = new Set<string>();
    const reported = new Set<string>();
    for (const e of out) {
      if (e.port.published === null) continue;
      const key = portKey(e.port);
      if (seen.has(key) && !reported.has(e.path)) {
        reported.add(e.path);
        this.problems.add(e.path, `published port ${key} is listed twice`, e.line);
      }
      seen.add(key);
    }
    return out;
  }

  private longPort(node: TreeMap, path: string): PortConfig | null {
    const before = this.problems.list.length;
    const keys = this.knownKeys(node, PORT, path, this.ignoredService, 'ports.');
    const field = (k: string): TreeEntry | null => {
      const e = keys.get(k);
      return e && !isNull(e.value) ? e : null;
    };
    const targetEntry = field('target');
    if (!targetEntry) this.problems.add(path, 'missing required key "target"', node.line);
    const target = targetEntry ? this.portNumber(targetEntry, `${path}.target`) : null;
    const publishedEntry = field('published');
    const published = publishedEntry ? this.portNumber(publishedEntry, `${path}.published`) : null;

    let protocol: PortConfig['protocol'] = 'tcp';
    const protocolEntry = field('protocol');
    const protocolText = protocolEntry ? this.string(protocolEntry.value, `${path}.protocol`) : null;
    if (protocolEntry && protocolText !== null) {
      const p = parsePortProtocol(protocolText);
      if (p === null) this.problems.add(`${path}.protocol`, `must be tcp or udp, got ${JSON.stringify(protocolText)}`, protocolEntry.keyLine);
      else protocol = p;
    }

    let mode: PortConfig['mode'] = 'ingress';
    const modeEntry = field('mode');
    const modeText = modeEntry ? this.string(modeEntry.value, `${path}.mode`) : null;
    if (modeEntry && modeText !== null) {
      if (modeText === 'ingress' || modeText === 'host') mode = modeText;
      else this.problems.add(`${path}.mode`, `must be ingress or host, got ${JSON.stringify(modeText)}`, modeEntry.keyLine);
    }

    const hostIpEntry = field('host_ip');
    if (hostIpEntry) {
      const ip = this.string(hostIpEntry.value, `${path}.host_ip`);
      // The unspecified addresses mean "every address", which is what swarm does anyway.
      if (ip !== null && ip !== '' && ip !== '0.0.0.0' && ip !== '::') this.problems.add(`${path}.host_ip`, HOST_IP_REASON, hostIpEntry.keyLine);
    }

    if (this.problems.list.length > before || target === null) return null;
    return { target, published, protocol, mode };
  }

  /** A port given as a YAML number or as a string of digits (`published: "8080"`, or after interpolation). */
  private portNumber(entry: TreeEntry, path: string): number | null {
    const v = entry.value;
    const text = v.kind === 'scalar' && typeof v.value === 'number' ? v.text : v.kind === 'scalar' && typeof v.value === 'string' ? v.value.trim() : null;
    const port = text === null ? null : parsePortNumber(text);
    if (port === null) this.problems.add(path, `must be a port number between 1 and 65535, got ${describe(v)}`, entry.keyLine);
    return port;
  }

  /**
   * As swarm: a port published in ingress mode is taken on every node, so no
   * other service may publish it, in either mode; two services may both
   * publish a port in host mode (the scheduler keeps them apart).
   */
  private checkPortConflicts(ports: Map<string, PortEntry[]>): void {
    const owners = new Map<string, { service: string; mode: PortConfig['mode'] }[]>();
    const reported = new Set<string>();
    for (const [service, entries] of ports) {
      for (const e of entries) {
        if (e.port.published === null) continue;
        const key = portKey(e.port);
        const other = owners.get(key)?.find((o) => o.mode === 'ingress' || e.port.mode === 'ingress');
        if (other && !reported.has(e.path)) {
          reported.add(e.path);
          this.problems.add(e.path, `published port ${key} is already used by service ${other.service}`, e.line);
        }
      }
      for (const e of entries) {
        if (e.port.published === null) continue;
        const key = portKey(e.port);
        owners.set(key, [...(owners.get(key) ?? []), { service, mode: e.port.mode }]);
      }
    }
  }

  // ---- name resolution ----

  /** `dns: 10.0.0.2` or a list of IPv4 addresses. */
  private dns(node: TreeNode | null, path: string): string[] {
    if (node === null) return [];
    const address = (n: TreeNode, p: string): string | null => {
      if (n.kind === 'scalar' && typeof n.value === 'string' && parseIpv4(n.value) !== null) return n.value;
      this.problems.add(p, `must be an IPv4 address such as 10.0.0.2, got ${describe(n)}`, n.line);
      return null;
    };
    if (node.kind === 'seq') {
      return node.items.map((item, i) => address(item, `${path}[${i}]`)).filter((a): a is string => a !== null);
    }
    if (node.kind === 'map') {
      this.problems.add(path, `must be an IPv4 address or a list of them, got ${describe(node)}`, node.line);
      return [];
    }
    const one = address(node, path);
    return one === null ? [] : [one];
  }

  /** `["host:ip", "host=ip"]` or `{host: ip}` → `host:ip`, in file order. */
  private extraHosts(node: TreeNode | null, path: string): string[] {
    if (node === null) return [];
    const out: string[] = [];
    const add = (host: string, address: string, p: string, line: number): void => {
      if (!HOSTS_NAME.test(host)) {
        this.problems.add(p, `invalid host name ${JSON.stringify(host)}`, line);
        return;
      }
      if (address === 'host-gateway') {
        this.problems.add(p, 'the special address host-gateway is not supported; give an IP address', line);
        return;
      }
      const ip = parseHostsAddress(address);
      if (ip === null) this.problems.add(p, `invalid IP address ${JSON.stringify(address)} for host ${host}`, line);
      else out.push(`${host}:${ip}`);
    };
    if (node.kind === 'seq') {
      node.items.forEach((item, i) => {
        const p = `${path}[${i}]`;
        const text = item.kind === 'scalar' && typeof item.value === 'string' ? item.value : null;
        // `=` first, as compose: `host:ip` is ambiguous with IPv6 addresses, `host=ip` is not.
        const sep = text === null ? -1 : text.includes('=') ? text.indexOf('=') : text.indexOf(':');
        if (text === null || sep < 0) {
          this.problems.add(p, `must be a "host:ip" or "host=ip" string, got ${describe(item)}`, item.line);
          return;
        }
        add(text.slice(0, sep), text.slice(sep + 1), p, item.line);
      });
    } else if (node.kind === 'map') {
      for (const e of node.entries) {
        const v = e.value;
        if (v.kind === 'scalar' && typeof v.value === 'string') add(e.key, v.value, `${path}.${e.key}`, e.keyLine);
        else this.problems.add(`${path}.${e.key}`, `must be an IP address, got ${describe(v)}`, e.keyLine);
      }
    } else {
      this.problems.add(path, `must be a list of "host:ip" strings or a mapping, got ${describe(node)}`, node.line);
    }
    return out;
  }

  private boolean(node: TreeNode | null, path: string): boolean | null {
    if (node === null) return null;
    if (node.kind === 'scalar') {
      if (typeof node.value === 'boolean') return node.value;
      // `external: ${EXTERNAL}` is a string after interpolation; compose reads the boolean it spells.
      if (node.value === 'true' || node.value === 'false') return node.value === 'true';
    }
    this.problems.add(path, `must be true or false, got ${describe(node)}`, node.line);
    return null;
  }

  /** Short form (list of names) or long form (map of name → options). */
  private dependsOn(node: TreeNode | null, path: string): Dependency[] {
    if (node === null) return [];
    const out: Dependency[] = [];
    if (node.kind === 'seq') {
      node.items.forEach((item, i) => {
        if (item.kind === 'scalar' && typeof item.value === 'string') out.push({ name: item.value, line: item.line });
        else this.problems.add(`${path}[${i}]`, `must be a service name, got ${describe(item)}`, item.line);
      });
    } else if (node.kind === 'map') {
      for (const e of node.entries) {
        out.push({ name: e.key, line: e.keyLine });
        this.dependsOnOptions(e.value, `${path}.${e.key}`);
      }
    } else {
      this.problems.add(path, `must be a list of service names or a mapping, got ${describe(node)}`, node.line);
    }
    return out;
  }

  private dependsOnOptions(node: TreeNode, path: string): void {
    if (isNull(node)) return;
    if (node.kind !== 'map') {
      this.problems.add(path, `must be a mapping, got ${describe(node)}`, node.line);
      return;
    }
    const keys = this.knownKeys(node, DEPENDS_ON_ENTRY, path, null);
    const condition = keys.get('condition');
    if (condition) {
      const c = this.string(condition.value, `${path}.condition`);
      if (c !== null && !(DEPENDS_ON_CONDITIONS as readonly string[]).includes(c)) {
        this.problems.add(`${path}.condition`, `must be one of ${DEPENDS_ON_CONDITIONS.join(', ')}, got ${JSON.stringify(c)}`, condition.keyLine);
      }
    }
    for (const flag of ['restart', 'required']) {
      const e = keys.get(flag);
      if (e && !(e.value.kind === 'scalar' && typeof e.value.value === 'boolean')) {
        this.problems.add(`${path}.${flag}`, `must be true or false, got ${describe(e.value)}`, e.keyLine);
      }
    }
  }

  /** Dangling references and cycles are errors in compose, so they are here even though depends_on is ignored. */
  private checkDependencies(deps: Map<string, Dependency[]>, names: Set<string>): void {
    for (const [service, list] of deps) {
      for (const d of list) {
        if (!names.has(d.name)) {
          this.problems.add(`services.${service}.depends_on`, `service ${service} depends on undefined service ${d.name}`, d.line);
        }
      }
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (service: string): boolean => {
      if (state.get(service) === 'done') return false;
      if (state.get(service) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(service)), service];
        const first = deps.get(cycle[0] ?? '')?.find((d) => d.name === cycle[1]);
        this.problems.add(`services.${cycle[0] ?? service}.depends_on`, `dependency cycle: ${cycle.join(' -> ')}`, first?.line ?? null);
        return true;
      }
      state.set(service, 'visiting');
      stack.push(service);
      for (const d of deps.get(service) ?? []) {
        if (names.has(d.name) && visit(d.name)) return true;
      }
      stack.pop();
      state.set(service, 'done');
      return false;
    };
    // One cycle is enough to report; the rest usually disappear with its fix.
    for (const service of deps.keys()) if (visit(service)) break;
  }
}

/** Keys of the top-level `networks:` mapping, as the compose schema allows them. */
const NETWORK_KEY = /^[a-zA-Z0-9._-]+$/;
/** Full network names (`name:`): they become labels in the cluster and in `network ls`. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Names in /etc/hosts entries: letters, digits and the usual separators, no spaces or colons. */
const HOSTS_NAME = /^[a-zA-Z0-9_](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$/;
const DNS_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** A DNS name of labels, at most 63 characters in all (the hostname rule). */
function isDnsName(name: string): boolean {
  return name.length <= 63 && name.split('.').every((l) => DNS_LABEL.test(l));
}

/** A network the stack creates: the namespace label marks it as the stack's, as docker does. */
function stackNetworkSpec(name: string, stack: string, subnet: string | null = null, attachable = false, labels: Record<string, string> = {}, encrypted = false): NetworkSpec {
  return { name, stack, driver: 'overlay', subnet, attachable, labels: { ...labels, [NAMESPACE_LABEL]: stack }, encrypted };
}

/** `8080/tcp`: what two published ports must not share. */
function portKey(port: PortConfig): string {
  return `${port.published ?? ''}/${port.protocol}`;
}


function integerOf(node: TreeNode): number | null {
  if (node.kind !== 'scalar') return null;
  return typeof node.value === 'number' || typeof node.value === 'string' ? parseInteger(node.value) : null;
}


