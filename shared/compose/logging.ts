/**
 * `logging` → TaskSpec.logDriver. The agent writes container logs to files, so the file drivers
 * (`json-file`, `local`, with their rotation options) and `none` are what it can honour; any other
 * driver is a warning and the service logs as by default.
 */
import type { LogDriver } from '../types';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { LOGGING } from './schema';
import { parseBytes, parseInteger } from './units';

/** The options each driver takes, as Docker's drivers define them. */
const OPTIONS: Record<string, readonly string[]> = {
  'json-file': ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-size', 'max-file', 'compress'],
  none: [],
};

export function logging(r: Reader, node: TreeNode | null, path: string): LogDriver | null {
  const map = r.mapping(node, path);
  if (map === null) return null;
  const f = r.fields(map, LOGGING, path, r.ignoredService, 'logging.');
  const driverNode = f.get('driver');
  // No driver: the node's default, which is json-file.
  const name = driverNode ? r.string(driverNode, `${path}.driver`) : 'json-file';
  const options = r.options(f.get('options'), `${path}.options`);
  if (name === null) return null;
  const allowed = OPTIONS[name];
  if (allowed === undefined) {
    r.warn(`${path}.driver: logging driver ${name} is not supported: the service logs to files as with json-file`);
    return null;
  }
  const before = r.count;
  const optionsNode = f.get('options');
  const lines = new Map(optionsNode?.kind === 'map' ? optionsNode.entries.map((e) => [e.key, e.keyLine]) : []);
  for (const [key, value] of Object.entries(options)) {
    const at = `${path}.options.${key}`;
    const line = lines.get(key) ?? map.line;
    if (!allowed.includes(key)) {
      r.problem(at, allowed.length === 0 ? `the ${name} driver takes no options` : `unknown option for the ${name} driver (${allowed.join(', ')})`, line);
    } else if (key === 'max-size') {
      const bytes = parseBytes(value);
      if (bytes === null || bytes <= 0) r.problem(at, `must be a positive size such as 10m, got ${JSON.stringify(value)}`, line);
    } else if (key === 'max-file') {
      const n = parseInteger(value);
      if (n === null || n < 1) r.problem(at, `must be a positive integer, got ${JSON.stringify(value)}`, line);
    } else if (key === 'compress' && value !== 'true' && value !== 'false') {
      r.problem(at, `must be true or false, got ${JSON.stringify(value)}`, line);
    }
  }
  if (r.count > before) return null;
  return { name, options };
}
