/**
 * `deploy.placement`: constraints (SwarmKit's grammar, parsed by shared/constraints.ts so what the
 * deploy accepts is what the scheduler understands), spread preferences and
 * `max_replicas_per_node`.
 */
import { CONSTRAINT_KEYS, parseConstraint } from '../constraints';
import { defaultPlacement } from '../task-spec';
import type { Placement } from '../types';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { PLACEMENT, PREFERENCE } from './schema';
import { describe } from './tree';

export function placement(r: Reader, node: TreeNode | null, path: string): Placement {
  const out = defaultPlacement();
  const map = r.mapping(node, path);
  if (map === null) return out;
  const f = r.fields(map, PLACEMENT, path, r.ignoredService, 'deploy.placement.');

  const constraints = f.get('constraints');
  if (constraints) {
    for (const { text, at, line } of strings(r, constraints, `${path}.constraints`)) {
      const parsed = parseConstraint(text);
      if (parsed.ok) out.constraints.push(text);
      else r.problem(at, parsed.reason, line);
    }
  }

  const preferences = f.get('preferences');
  if (preferences) {
    if (preferences.kind !== 'seq') r.problem(`${path}.preferences`, `must be a list of {spread: ...} mappings, got ${describe(preferences)}`, preferences.line);
    else {
      preferences.items.forEach((item, i) => {
        const at = `${path}.preferences[${i}]`;
        const pref = r.mapping(item, at);
        if (pref === null) {
          if (item.kind === 'scalar') r.problem(at, `must be a mapping such as {spread: node.labels.zone}, got ${describe(item)}`, item.line);
          return;
        }
        const p = r.fields(pref, PREFERENCE, at, null);
        const spread = p.get('spread');
        if (spread === null) {
          r.problem(at, 'missing required key "spread"', pref.line);
          return;
        }
        const key = r.string(spread, `${at}.spread`);
        if (key === null) return;
        const reason = invalidSpreadReason(key);
        if (reason !== null) r.problem(`${at}.spread`, reason, spread.line);
        else out.preferences.push({ spread: key });
      });
    }
  }

  const max = f.get('max_replicas_per_node');
  if (max) out.maxReplicas = r.integer(max, `${path}.max_replicas_per_node`, 0) ?? 0;
  return out;
}

/** A list of strings (a single string is taken as a list of one, as compose does). */
function strings(r: Reader, node: TreeNode, path: string): { text: string; at: string; line: number }[] {
  const items = node.kind === 'seq' ? node.items.map((item, i) => ({ item, at: `${path}[${i}]` })) : [{ item: node, at: path }];
  const out: { text: string; at: string; line: number }[] = [];
  for (const { item, at } of items) {
    const text = r.string(item, at);
    if (text !== null) out.push({ text, at, line: item.line });
  }
  return out;
}

/**
 * What a spread preference may name: the constraint keys (a node label, an engine label or a fixed
 * node field), checked with the constraint parser so both agree on them.
 */
function invalidSpreadReason(key: string): string | null {
  // `worker` is a value every key accepts (node.role takes only manager or worker).
  if (!/[=!\s]/.test(key) && parseConstraint(`${key}==worker`).ok) return null;
  return `invalid spread key ${JSON.stringify(key)}: use ${CONSTRAINT_KEYS}`;
}
