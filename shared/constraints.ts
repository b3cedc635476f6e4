/**
 * Placement constraints (`deploy.placement.constraints`, `--constraint`), SwarmKit's grammar:
 * `<key> == <value>` or `<key> != <value>`, spaces around the operator allowed. Parsed in one
 * place for the compose converter, the API's checks and the scheduler, so a constraint the deploy
 * accepted is one the scheduler understands.
 */
import type { ClusterNode } from './types';

export type ConstraintKey =
  | { kind: 'node.id' }
  | { kind: 'node.hostname' }
  | { kind: 'node.role' }
  | { kind: 'node.platform.os' }
  | { kind: 'node.platform.arch' }
  | { kind: 'node.labels'; label: string }
  | { kind: 'engine.labels'; label: string };

export interface Constraint {
  key: ConstraintKey;
  /** `==` (true) or `!=` (false). */
  equal: boolean;
  value: string;
  /** As written, for messages. */
  text: string;
}

export type ParsedConstraint = { ok: true; constraint: Constraint } | { ok: false; reason: string };

const VALUE = /^[a-zA-Z0-9:_\s.*()?+[\]\\^$|/-]+$/;
const LABEL = /^[a-zA-Z0-9_.\-/]+$/;
const FIXED = ['node.id', 'node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch'] as const;

export const CONSTRAINT_KEYS = `${FIXED.join(', ')}, node.labels.<key>, engine.labels.<key>`;

export function parseConstraint(text: string): ParsedConstraint {
  const ops = [...text.matchAll(/==|!=/g)];
  if (ops.length !== 1) return { ok: false, reason: `constraint expected one operator from ==, !=: ${JSON.stringify(text)}` };
  const op = ops[0]!;
  const keyText = text.slice(0, op.index).trim();
  const value = text.slice(op.index + 2).trim();
  if (keyText === '') return { ok: false, reason: `constraint ${JSON.stringify(text)} has no key before ${op[0]}` };
  if (value === '') return { ok: false, reason: `constraint ${JSON.stringify(text)} has no value after ${op[0]}` };
  if (!VALUE.test(value)) return { ok: false, reason: `invalid value ${JSON.stringify(value)} in constraint ${JSON.stringify(text)}` };
  const key = parseNodeAttribute(keyText);
  if (key === null) return { ok: false, reason: `unknown constraint field ${JSON.stringify(keyText)} in ${JSON.stringify(text)}: use ${CONSTRAINT_KEYS}` };
  if (key.kind === 'node.role' && !['manager', 'worker'].includes(value.toLowerCase())) {
    return { ok: false, reason: `constraint ${JSON.stringify(text)}: node.role is manager or worker` };
  }
  return { ok: true, constraint: { key, equal: op[0] === '==', value, text } };
}

/** The node attribute a constraint key or a spread descriptor names (`node.labels.zone`), or null. */
export function parseNodeAttribute(k: string): ConstraintKey | null {
  const lower = k.toLowerCase();
  for (const f of FIXED) if (lower === f) return { kind: f };
  for (const prefix of ['node.labels.', 'engine.labels.'] as const) {
    if (lower.startsWith(prefix)) {
      // Label keys keep their case: a node's labels are matched as written.
      const label = k.slice(prefix.length);
      if (label === '' || !LABEL.test(label)) return null;
      return prefix === 'node.labels.' ? { kind: 'node.labels', label } : { kind: 'engine.labels', label };
    }
  }
  return null;
}

/** The node's value for a key, or null when it has none (a label it lacks). */
export function nodeValue(node: ClusterNode, key: ConstraintKey): string | null {
  switch (key.kind) {
    case 'node.id':
      return node.id;
    case 'node.hostname':
      return node.hostname;
    case 'node.role':
      return node.role;
    case 'node.platform.os':
      return node.platform?.os ?? 'linux';
    case 'node.platform.arch':
      return node.platform?.architecture ?? null;
    case 'node.labels':
      return Object.hasOwn(node.labels, key.label) ? node.labels[key.label]! : null;
    case 'engine.labels': {
      const labels = node.engineLabels ?? {};
      return Object.hasOwn(labels, key.label) ? labels[key.label]! : null;
    }
  }
}

/** SwarmKit's rule: values compare without regard to case; a node without the label fails `==` and passes `!=`. */
export function constraintHolds(c: Constraint, node: ClusterNode): boolean {
  const v = nodeValue(node, c.key);
  const same = v !== null && v.toLowerCase() === c.value.toLowerCase();
  return c.equal ? same : !same;
}

/** Every constraint parsed; throws nothing, returns the first problem instead. */
export function parseConstraints(texts: string[]): { ok: true; constraints: Constraint[] } | { ok: false; reason: string } {
  const out: Constraint[] = [];
  for (const t of texts) {
    const p = parseConstraint(t);
    if (!p.ok) return p;
    out.push(p.constraint);
  }
  return { ok: true, constraints: out };
}

// Parsed once per list, not once per node: a task's constraint list is its own array.
const parsedLists = new WeakMap<readonly string[], Constraint[] | null>();

/**
 * Whether a node meets every constraint. One that does not parse holds nowhere (the API refuses
 * them; one that got into the store anyway keeps its task waiting rather than running where it
 * was not meant to).
 */
export function nodeMeetsConstraints(constraints: readonly string[], node: ClusterNode): boolean {
  if (constraints.length === 0) return true;
  let c = parsedLists.get(constraints);
  if (c === undefined) {
    const p = parseConstraints([...constraints]);
    c = p.ok ? p.constraints : null;
    parsedLists.set(constraints, c);
  }
  return c !== null && c.every((x) => constraintHolds(x, node));
}
