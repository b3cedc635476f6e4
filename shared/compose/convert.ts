/**
 * Validates an interpolated stack tree and converts it to ServiceSpecs.
 *
 * Every problem is recorded (with key path and line) rather than thrown, so
 * one run reports all of them; the caller throws if any were found and never
 * uses a partial result.
 */
import type { ContainerSpec, ResourceLimits, ServiceMode, ServiceSpec } from '../types';
import { normalizeImageRef } from './image-ref';
import type { Lookup } from './interpolate';
import { invalidServiceNameReason, invalidStackNameReason, normalizeStackName, stackNameFromDir } from './names';
import type { TreeEntry, TreeMap, TreeNode, TreeScalar } from './parse';
import type { Problems } from './problems';
import type { KeySet } from './schema';
import { DEPENDS_ON_CONDITIONS, DEPENDS_ON_ENTRY, DEPLOY, LIMITS, RESOURCES, SERVICE, TOP_LEVEL, classifyKey } from './schema';
import { ShellSplitError, shellSplit } from './shell-split';
import { parseBytes, parseDurationMs, parseInteger, parseNanoCpus } from './units';

/** The label docker puts on every object of a stack; `docker stack ls/rm` find them by it. */
export const NAMESPACE_LABEL = 'com.docker.stack.namespace';
export const DEFAULT_STOP_GRACE_PERIOD_MS = 10_000;

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
  /** Service-level keys we ignore, sorted: `build`, `deploy.update_config`. */
  ignoredServiceOptions: string[];
  /** Top-level compose keys we ignore, sorted: `networks`, `volumes`. */
  ignoredTopLevelKeys: string[];
}

/** Returns null when the tree is too broken to say anything more; `problems` then holds why. */
export function convertStack(root: TreeNode | null, opts: ConvertOptions, problems: Problems): ConvertedStack | null {
  return new Converter(opts, problems).stack(root);
}

interface Dependency {
  name: string;
  line: number;
}

class Converter {
  private readonly ignoredService = new Set<string>();
  private readonly ignoredTop = new Set<string>();

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

    const servicesEntry = top.get('services');
    let services: ServiceSpec[] = [];
    if (!servicesEntry) {
      this.problems.add('services', 'required: the file defines no services', root.line);
    } else if (servicesEntry.value.kind !== 'map') {
      this.problems.add('services', `must be a mapping of service names to services, got ${describe(servicesEntry.value)}`, servicesEntry.keyLine);
    } else if (servicesEntry.value.entries.length === 0) {
      this.problems.add('services', 'must define at least one service', servicesEntry.keyLine);
    } else {
      services = this.services(servicesEntry.value, name ?? '');
    }
    if (name === null) return null;
    return {
      name,
      services,
      ignoredServiceOptions: [...this.ignoredService].sort(),
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

  private services(map: TreeMap, stack: string): ServiceSpec[] {
    const out: ServiceSpec[] = [];
    const deps = new Map<string, Dependency[]>();
    for (const entry of map.entries) {
      const converted = this.service(entry, stack);
      if (converted) {
        out.push(converted.spec);
        deps.set(entry.key, converted.dependsOn);
      }
    }
    this.checkDependencies(deps, new Set(map.entries.map((e) => e.key)));
    return out;
  }

  private service(entry: TreeEntry, stack: string): { spec: ServiceSpec; dependsOn: Dependency[] } | null {
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
    const deploy = this.deploy(field('deploy'), `${path}.deploy`);

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
    };
    const spec: ServiceSpec = {
      name: `${stack}_${name}`,
      stack,
      mode: deploy.mode,
      replicas: deploy.replicas,
      container,
      limits: deploy.limits,
      labels: { [NAMESPACE_LABEL]: stack },
    };
    return { spec, dependsOn };
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
    const label = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
    if (name.length > 63 || !name.split('.').every((l) => label.test(l))) {
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

  private deploy(node: TreeNode | null, path: string): { mode: ServiceMode; replicas: number; limits: ResourceLimits } {
    const result: { mode: ServiceMode; replicas: number; limits: ResourceLimits } = {
      mode: 'replicated',
      replicas: 1,
      limits: { memoryBytes: null, nanoCpus: null, pids: null },
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

function isNull(node: TreeNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

function integerOf(node: TreeNode): number | null {
  if (node.kind !== 'scalar') return null;
  return typeof node.value === 'number' || typeof node.value === 'string' ? parseInteger(node.value) : null;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** How a wrong value is shown in an error: `-1`, `"three"`, `a list`. */
function describe(node: TreeNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'nothing';
  if (typeof node.value === 'string') return JSON.stringify(node.value);
  return node.text;
}
