/**
 * `depends_on`, short and long form: checked for dangling names and cycles (errors in compose too),
 * then kept with its condition (`service_started` when none is given). Swarm ignores it; tsswarm
 * starts a service's first tasks once its dependencies are started, healthy or completed
 * (manager/orchestrator/depends-on.ts).
 */
import type { TreeNode } from './parse';
import type { DependencyCondition } from '../types';
import type { Reader } from './reader';
import { DEPENDS_ON_CONDITIONS, DEPENDS_ON_ENTRY } from './schema';
import { describe, isNull } from './tree';

export interface Dependency {
  name: string;
  line: number;
  condition: DependencyCondition;
}

/** Short form (list of names) or long form (map of name → options). */
export function dependsOn(r: Reader, node: TreeNode | null, path: string): Dependency[] {
  if (node === null) return [];
  const out: Dependency[] = [];
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      if (item.kind === 'scalar' && typeof item.value === 'string') out.push({ name: item.value, line: item.line, condition: 'service_started' });
      else r.problem(`${path}[${i}]`, `must be a service name, got ${describe(item)}`, item.line);
    });
  } else if (node.kind === 'map') {
    for (const e of node.entries) out.push({ name: e.key, line: e.keyLine, condition: options(r, e.value, `${path}.${e.key}`) });
  } else {
    r.problem(path, `must be a list of service names or a mapping, got ${describe(node)}`, node.line);
  }
  return out;
}

function options(r: Reader, node: TreeNode, path: string): DependencyCondition {
  if (isNull(node)) return 'service_started';
  if (node.kind !== 'map') {
    r.problem(path, `must be a mapping, got ${describe(node)}`, node.line);
    return 'service_started';
  }
  const keys = r.knownKeys(node, DEPENDS_ON_ENTRY, path, null);
  for (const flag of ['restart', 'required']) {
    const e = keys.get(flag);
    if (e) r.boolean(e.value, `${path}.${flag}`);
  }
  const condition = keys.get('condition');
  if (!condition) return 'service_started';
  const c = r.string(condition.value, `${path}.condition`);
  if (c !== null && (DEPENDS_ON_CONDITIONS as readonly string[]).includes(c)) return c as DependencyCondition;
  if (c !== null) r.problem(`${path}.condition`, `must be one of ${DEPENDS_ON_CONDITIONS.join(', ')}, got ${JSON.stringify(c)}`, condition.keyLine);
  return 'service_started';
}

/** Dangling references and cycles are errors, as in compose. */
export function checkDependencies(r: Reader, deps: Map<string, Dependency[]>, names: Set<string>): void {
  for (const [service, list] of deps) {
    for (const d of list) {
      if (!names.has(d.name)) {
        r.problem(`services.${service}.depends_on`, `service ${service} depends on undefined service ${d.name}`, d.line);
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
      r.problem(`services.${cycle[0] ?? service}.depends_on`, `dependency cycle: ${cycle.join(' -> ')}`, first?.line ?? null);
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
