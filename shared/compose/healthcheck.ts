/**
 * `healthcheck` → Docker's HealthConfig: `test` as a string runs in a shell (`["CMD-SHELL", s]`),
 * as a list it is used as it is (`CMD`, `CMD-SHELL` or `NONE` first); `disable: true` is `["NONE"]`.
 * Durations and retries not given stay null (the image's, or Docker's defaults).
 */
import type { HealthCheck } from '../types';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { HEALTHCHECK } from './schema';
import { describe } from './tree';

export function healthcheck(r: Reader, node: TreeNode | null, path: string): HealthCheck | null {
  const map = r.mapping(node, path);
  if (map === null) return null;
  const f = r.fields(map, HEALTHCHECK, path, r.ignoredService, 'healthcheck.');
  const out: HealthCheck = { test: [], intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null };

  const testNode = f.get('test');
  if (testNode) out.test = test(r, testNode, `${path}.test`) ?? [];
  const disable = r.boolean(f.get('disable'), `${path}.disable`);
  if (disable === true) {
    if (testNode !== null) {
      r.problem(`${path}.disable`, "test and disable can't be set at the same time", f.entry('disable')?.keyLine ?? map.line);
      return null;
    }
    return { ...out, test: ['NONE'] };
  }

  const durations = [
    ['interval', 'intervalMs'],
    ['timeout', 'timeoutMs'],
    ['start_period', 'startPeriodMs'],
    ['start_interval', 'startIntervalMs'],
  ] as const;
  for (const [key, field] of durations) {
    const n = f.get(key);
    if (n) out[field] = r.duration(n, `${path}.${key}`);
  }
  const retries = f.get('retries');
  if (retries) out.retries = r.integer(retries, `${path}.retries`, 0);
  return out;
}

function test(r: Reader, node: TreeNode, path: string): string[] | null {
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    if (node.value.trim() === '') {
      r.problem(path, 'must not be empty: give a command, or disable: true', node.line);
      return null;
    }
    return ['CMD-SHELL', node.value];
  }
  if (node.kind !== 'seq') {
    r.problem(path, `must be a command string or a list such as [CMD, curl, -f, http://localhost], got ${describe(node)}`, node.line);
    return null;
  }
  const words: string[] = [];
  node.items.forEach((item, i) => {
    if (item.kind === 'scalar' && typeof item.value === 'string') words.push(item.value);
    else r.problem(`${path}[${i}]`, `must be a string, got ${describe(item)} (quote it)`, item.line);
  });
  if (words.length !== node.items.length) return null;
  // [] keeps the image's test (the other fields still override its timings).
  if (words.length === 0) return [];
  const [first, ...rest] = words;
  if (first === 'NONE') {
    if (rest.length > 0) r.problem(path, 'NONE takes no arguments', node.line);
    return rest.length > 0 ? null : ['NONE'];
  }
  if (first === 'CMD' && rest.length === 0) r.problem(path, 'CMD needs the command to run after it', node.line);
  else if (first === 'CMD-SHELL' && rest.length !== 1) r.problem(path, 'CMD-SHELL takes one shell command string after it', node.line);
  else if (first !== 'CMD' && first !== 'CMD-SHELL') r.problem(path, `must start with CMD, CMD-SHELL or NONE, got ${JSON.stringify(first)}`, node.line);
  else return words;
  return null;
}
