/**
 * `deploy.resources`: limits (enforced by the task's cgroup) and reservations (what the scheduler
 * counts against a node's free capacity, generic resources such as GPUs included).
 */
import { defaultResources } from '../task-spec';
import type { ResourceLimits, ResourceReservations, Resources } from '../types';
import type { TreeNode, TreeScalar } from './parse';
import type { Fields, Reader } from './reader';
import { GENERIC_RESOURCE, LIMITS, RESERVATIONS, RESOURCES, RESOURCE_SPEC } from './schema';
import { describe } from './tree';
import { parseNanoCpus } from './units';

/** Swarm's rule for generic resource kinds, which become node attributes. */
const KIND = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function resources(r: Reader, node: TreeNode | null, path: string): Resources {
  const out = defaultResources();
  const map = r.mapping(node, path);
  if (map === null) return out;
  const f = r.fields(map, RESOURCES, path, r.ignoredService, 'deploy.resources.');
  const limitsMap = r.mapping(f.get('limits'), `${path}.limits`);
  if (limitsMap) out.limits = limits(r, r.fields(limitsMap, LIMITS, `${path}.limits`, r.ignoredService, 'deploy.resources.limits.'), `${path}.limits`);
  const reservationsMap = r.mapping(f.get('reservations'), `${path}.reservations`);
  if (reservationsMap) {
    const rf = r.fields(reservationsMap, RESERVATIONS, `${path}.reservations`, r.ignoredService, 'deploy.resources.reservations.');
    out.reservations = reservations(r, rf, `${path}.reservations`);
  }
  const mem = out.limits.memoryBytes;
  const wanted = out.reservations.memoryBytes;
  if (mem !== null && wanted !== null && wanted > mem) {
    // Such a task could never start: its cgroup would be smaller than what it reserved.
    r.problem(`${path}.reservations.memory`, `the memory reservation (${wanted} bytes) is more than the memory limit (${mem} bytes)`, f.entry('reservations')?.keyLine ?? map.line);
  }
  return out;
}

function limits(r: Reader, f: Fields, path: string): ResourceLimits {
  const out: ResourceLimits = { memoryBytes: null, nanoCpus: null, pids: null };
  const memory = scalar(r, f, 'memory', path);
  if (memory) out.memoryBytes = r.bytes(memory, `${path}.memory`);
  const cpus = scalar(r, f, 'cpus', path);
  if (cpus) out.nanoCpus = nanoCpus(r, cpus, `${path}.cpus`);
  const pids = scalar(r, f, 'pids', path);
  if (pids) out.pids = r.integer(pids, `${path}.pids`, 1);
  return out;
}

function reservations(r: Reader, f: Fields, path: string): ResourceReservations {
  const out: ResourceReservations = { memoryBytes: null, nanoCpus: null, generic: {} };
  const memory = scalar(r, f, 'memory', path);
  if (memory) out.memoryBytes = r.bytes(memory, `${path}.memory`);
  const cpus = scalar(r, f, 'cpus', path);
  if (cpus) out.nanoCpus = nanoCpus(r, cpus, `${path}.cpus`);
  const generic = f.get('generic_resources');
  if (generic) out.generic = genericResources(r, generic, `${path}.generic_resources`);
  return out;
}

/** `- discrete_resource_spec: {kind: gpu, value: 2}` → `{gpu: 2}`. */
function genericResources(r: Reader, node: TreeNode, path: string): Record<string, number> {
  const out = new Map<string, number>();
  if (node.kind !== 'seq') {
    r.problem(path, `must be a list, got ${describe(node)}`, node.line);
    return {};
  }
  node.items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const map = r.mapping(item, at);
    if (map === null) {
      if (item.kind === 'scalar' && item.value === null) r.problem(at, 'must be a mapping with discrete_resource_spec', item.line);
      return;
    }
    const f = r.fields(map, GENERIC_RESOURCE, at, null);
    const named = f.entry('named_resource_spec');
    // Named resources (specific GPU ids) need per-node bookkeeping the scheduler does not do.
    if (named) r.warn(`${at}.named_resource_spec: named generic resources are not supported; the service reserves none`);
    const discrete = f.entry('discrete_resource_spec');
    if (!discrete) {
      if (!named) r.problem(at, 'missing discrete_resource_spec', map.line);
      return;
    }
    const spec = r.mapping(discrete.value, `${at}.discrete_resource_spec`);
    if (spec === null) return;
    const s = r.fields(spec, RESOURCE_SPEC, `${at}.discrete_resource_spec`, null);
    const kindNode = s.get('kind');
    const valueNode = s.get('value');
    if (kindNode === null) r.problem(`${at}.discrete_resource_spec`, 'missing required key "kind"', discrete.keyLine);
    if (valueNode === null) r.problem(`${at}.discrete_resource_spec`, 'missing required key "value"', discrete.keyLine);
    if (kindNode === null || valueNode === null) return;
    const kind = r.string(kindNode, `${at}.discrete_resource_spec.kind`);
    const value = r.integer(valueNode, `${at}.discrete_resource_spec.value`, 1);
    if (kind === null || value === null) return;
    if (!KIND.test(kind)) {
      r.problem(`${at}.discrete_resource_spec.kind`, `invalid resource kind ${JSON.stringify(kind)}: use letters, digits, ".", "_" and "-"`, kindNode.line);
    } else if (out.has(kind)) {
      r.problem(at, `generic resource ${kind} is listed twice`, item.line);
    } else {
      out.set(kind, value);
    }
  });
  return Object.fromEntries(out);
}

function scalar(r: Reader, f: Fields, key: string, path: string): TreeScalar | null {
  const e = f.entry(key);
  if (!e) return null;
  if (e.value.kind === 'scalar') return e.value;
  r.problem(`${path}.${key}`, `must be a number or a string, got ${describe(e.value)}`, e.keyLine);
  return null;
}

function nanoCpus(r: Reader, node: TreeScalar, path: string): number | null {
  const nanos = typeof node.value === 'string' || typeof node.value === 'number' ? parseNanoCpus(node.value) : null;
  if (nanos === null) r.problem(path, `must be a number of CPUs greater than 0, got ${describe(node)}`, node.line);
  return nanos;
}
