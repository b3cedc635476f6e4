/**
 * A service's environment: the `env_file` files first (in order, later files overriding earlier
 * ones), then `environment:` over them, as docker/cli resolves them. Files are read relative to
 * the stack file's folder, in the `.env` format (dotenv.ts), and their values are not interpolated.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ComposeError } from '../errors';
import { parseDotenv } from './dotenv';
import { openFailure } from './file-errors';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { ENV_FILE } from './schema';
import { describe } from './tree';

/** `KEY=VALUE` entries, in the order their keys first appeared. */
export function serviceEnvironment(r: Reader, envFile: TreeNode | null, environment: TreeNode | null, path: string): string[] {
  const vars = new Map<string, string>();
  for (const file of envFiles(r, envFile, `${path}.env_file`)) {
    for (const [k, v] of Object.entries(file)) vars.set(k, v);
  }
  readEnvironment(r, environment, `${path}.environment`, vars);
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

/** The variables of each `env_file` entry that could be read, in order. */
function envFiles(r: Reader, node: TreeNode | null, path: string): Record<string, string>[] {
  if (node === null) return [];
  const items = node.kind === 'seq' ? node.items.map((item, i) => ({ item, at: `${path}[${i}]` })) : [{ item: node, at: path }];
  const out: Record<string, string>[] = [];
  for (const { item, at } of items) {
    let file: string | null = null;
    let required = true;
    if (item.kind === 'map') {
      const f = r.fields(item, ENV_FILE, at, r.ignoredService, 'env_file.');
      const p = f.get('path');
      if (p === null) r.problem(at, 'missing required key "path"', item.line);
      else file = r.string(p, `${at}.path`);
      required = r.boolean(f.get('required'), `${at}.required`) ?? true;
    } else if (item.kind === 'scalar' && typeof item.value === 'string') {
      file = item.value;
    } else {
      r.problem(at, `must be a file name or a mapping with "path", got ${describe(item)}`, item.line);
    }
    if (file === null) continue;
    const abs = isAbsolute(file) ? file : resolve(r.opts.dir, file);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT' && !required) continue;
      r.problem(at, openFailure(abs, err), item.line);
      continue;
    }
    try {
      out.push(parseDotenv(text, abs));
    } catch (e) {
      if (!(e instanceof ComposeError)) throw e;
      r.problem(at, e.message, item.line);
    }
  }
  return out;
}

/**
 * Both compose forms, in file order, later duplicates replacing earlier
 * values. An entry without a value (`- B` or `B:`/`B: null`) takes it from
 * the variables, and is left out when the variable is not set, as docker does.
 */
function readEnvironment(r: Reader, node: TreeNode | null, path: string, vars: Map<string, string>): void {
  if (node === null) return;
  const set = (key: string, value: string | null, keyPath: string, line: number): void => {
    if (key === '' || key.includes('\0')) {
      r.problem(keyPath, 'variable name must not be empty', line);
      return;
    }
    const resolved = value ?? r.opts.lookup(key);
    if (resolved === undefined) vars.delete(key);
    else vars.set(key, resolved);
  };
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      if (item.kind !== 'scalar' || typeof item.value !== 'string') {
        r.problem(itemPath, `must be a "KEY=value" string, got ${describe(item)}`, item.line);
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
        r.problem(keyPath, 'variable name must not contain "="', e.keyLine);
        continue;
      }
      const v = e.value;
      if (v.kind !== 'scalar') {
        r.problem(keyPath, `must be a string, number, boolean or null, got ${describe(v)}`, e.keyLine);
        continue;
      }
      set(e.key, v.value === null ? null : v.text, keyPath, e.keyLine);
    }
  } else {
    r.problem(path, `must be a list of "KEY=value" strings or a mapping, got ${describe(node)}`, node.line);
  }
}
