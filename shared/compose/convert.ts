/**
 * Validates an interpolated stack tree and converts it to the stack's ServiceSpecs, networks,
 * secrets and configs. The top level is read here; each concern has its file (service.ts and what
 * it uses, networks.ts, volumes.ts, blobs.ts).
 *
 * Every problem is recorded (with key path and line) rather than thrown, so
 * one run reports all of them; the caller throws if any were found and never
 * uses a partial result.
 */
import type { StackBuild } from '../types';
import { DEFAULT_STOP_GRACE_PERIOD_MS } from '../task-spec';
import type { ServiceSpec, StackBlob, StackNetwork } from '../types';
import { blobTable } from './blobs';
import { type Dependency, checkDependencies } from './depends-on';
import { invalidStackNameReason, normalizeStackName, stackNameFromDir } from './names';
import { DEFAULT_NETWORK, NAMESPACE_LABEL, isHostNetwork, networkTable, stackNetworkSpec } from './networks';
import type { TreeEntry, TreeNode } from './parse';
import type { Problems } from './problems';
import { type ConvertOptions, Reader } from './reader';
import { TOP_LEVEL } from './schema';
import { service } from './service';
import { type PortEntry, checkPortConflicts } from './service-ports';
import { describe } from './tree';
import { volumeTable } from './volumes';

export { DEFAULT_NETWORK, DEFAULT_STOP_GRACE_PERIOD_MS, NAMESPACE_LABEL };
export type { ConvertOptions };

export interface ConvertedStack {
  name: string;
  services: ServiceSpec[];
  builds: StackBuild[];
  /** Networks of the top-level `networks:` in file order (the host network left out), then the implicit `default` if used. */
  networks: StackNetwork[];
  /** Every top-level secret and config, in file order. */
  secrets: StackBlob[];
  configs: StackBlob[];
  /** Service-level keys we ignore, sorted: `build`, `networks.ipv4_address`, ... */
  ignoredServiceOptions: string[];
  /** Keys of top-level networks we ignore, sorted: `driver_opts.<option>`, `ipam.config.gateway`. */
  ignoredNetworkOptions: string[];
  /** Top-level compose keys we ignore, sorted: `include`. */
  ignoredTopLevelKeys: string[];
  /** Other warnings, in the order found (a logging driver we do not have, ...). */
  warnings: string[];
}

/** Returns null when the tree is too broken to say anything more; `problems` then holds why. */
export function convertStack(root: TreeNode | null, opts: ConvertOptions, problems: Problems): ConvertedStack | null {
  const r = new Reader(problems, opts);
  if (root === null || (root.kind === 'scalar' && root.value === null)) {
    r.problem('', 'the file is empty; it needs a "services" mapping', 1);
    return null;
  }
  if (root.kind !== 'map') {
    r.problem('', `the top level must be a mapping, got ${describe(root)}`, root.line);
    return null;
  }
  const top = r.knownKeys(root, TOP_LEVEL, '', r.ignoredTop);
  const name = stackName(r, top.get('name'));
  const stack = name ?? '';
  const tables = {
    networks: networkTable(r, top.get('networks'), stack),
    volumes: volumeTable(r, top.get('volumes'), stack),
    secrets: blobTable(r, 'secret', top.get('secrets'), stack),
    configs: blobTable(r, 'config', top.get('configs'), stack),
  };

  const servicesEntry = top.get('services');
  const services: ServiceSpec[] = [];
  const builds: StackBuild[] = [];
  let usesImplicitDefault = false;
  if (!servicesEntry) {
    r.problem('services', 'required: the file defines no services', root.line);
  } else if (servicesEntry.value.kind !== 'map') {
    r.problem('services', `must be a mapping of service names to services, got ${describe(servicesEntry.value)}`, servicesEntry.keyLine);
  } else if (servicesEntry.value.entries.length === 0) {
    r.problem('services', 'must define at least one service', servicesEntry.keyLine);
  } else {
    const deps = new Map<string, Dependency[]>();
    const ports = new Map<string, PortEntry[]>();
    for (const entry of servicesEntry.value.entries) {
      const converted = service(r, entry, stack, tables);
      if (!converted) continue;
      services.push(converted.spec);
      if (converted.build) builds.push(converted.build);
      deps.set(entry.key, converted.dependsOn);
      ports.set(entry.key, converted.ports);
      usesImplicitDefault ||= converted.usesImplicitDefault;
    }
    checkDependencies(r, deps, new Set(servicesEntry.value.entries.map((e) => e.key)));
    checkPortConflicts(r, ports);
  }
  if (name === null) return null;

  // The host network is the node's own: nothing to create, nothing to allocate.
  const networks = [...tables.networks.values()].filter((n): n is StackNetwork => n !== null && !isHostNetwork(n));
  if (usesImplicitDefault) {
    networks.push({ key: DEFAULT_NETWORK, external: false, spec: stackNetworkSpec(`${name}_${DEFAULT_NETWORK}`, name) });
  }
  const blobs = (t: ReadonlyMap<string, StackBlob | null>): StackBlob[] => [...t.values()].filter((b): b is StackBlob => b !== null);
  return {
    name,
    services,
    builds,
    networks,
    secrets: blobs(tables.secrets),
    configs: blobs(tables.configs),
    ignoredServiceOptions: [...r.ignoredService].sort(),
    ignoredNetworkOptions: [...r.ignoredNetwork].sort(),
    ignoredTopLevelKeys: [...r.ignoredTop].sort(),
    warnings: [...r.warnings],
  };
}

function stackName(r: Reader, nameEntry: TreeEntry | undefined): string | null {
  const fromFile = nameEntry ? r.string(nameEntry.value, 'name') : null;
  let candidate: string;
  let path = '';
  let line: number | null = null;
  if (r.opts.nameOverride !== null) {
    candidate = normalizeStackName(r.opts.nameOverride);
  } else if (fromFile !== null && nameEntry) {
    candidate = normalizeStackName(fromFile);
    path = 'name';
    line = nameEntry.keyLine;
  } else {
    candidate = stackNameFromDir(r.opts.dir);
    if (candidate === '') {
      r.problem('', `cannot derive a stack name from the folder ${JSON.stringify(r.opts.dir)}; give one with "name:" or the --name option`, null);
      return null;
    }
  }
  const reason = invalidStackNameReason(candidate);
  if (reason !== null) {
    r.problem(path, reason, line);
    return null;
  }
  return candidate;
}
