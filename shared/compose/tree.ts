/** Small questions about nodes of the parsed stack tree (parse.ts), for the converter's files. */
import type { TreeNode } from './parse';

export function isNull(node: TreeNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

/** `services.web` + `deploy` → `services.web.deploy`. */
export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** How a wrong value is shown in an error: `-1`, `"three"`, `a list`. */
export function describe(node: TreeNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'nothing';
  if (typeof node.value === 'string') return JSON.stringify(node.value);
  return node.text;
}
