/**
 * What every part of the converter shares: the options, the problem list, the sets of ignored
 * keys (turned into "Ignoring unsupported ..." warnings), other warnings, and the readers of
 * scalar values. Each reader records a problem (key path and line) and returns null on bad input,
 * so one run reports everything and a caller only checks for null.
 */
import type { Lookup } from './interpolate';
import type { TreeEntry, TreeMap, TreeNode } from './parse';
import type { Problems } from './problems';
import type { KeySet } from './schema';
import { classifyKey } from './schema';
import { describe, isNull, join } from './tree';
import { parseBytes, parseDurationMs, parseInteger } from './units';
import { formatMode, yaml11Boolean, yaml11FileMode } from './yaml11';

export interface ConvertOptions {
  /** Stack name given by the user; wins over `name:` and the folder name. */
  nameOverride: string | null;
  /** Folder of the stack file: the last-resort stack name, and what relative paths are relative to. */
  dir: string;
  /** Variables for `environment` entries without a value, secrets from `environment:`, and `~` (HOME). */
  lookup: Lookup;
}

/** The supported keys of one mapping, read by key. */
export interface Fields {
  /** The value, or null when the key is absent or null. */
  get(key: string): TreeNode | null;
  /** The entry (for its key line), or null when absent or null. */
  entry(key: string): TreeEntry | null;
  /** Whether the key is written at all, null value included. */
  has(key: string): boolean;
}

export class Reader {
  readonly ignoredService = new Set<string>();
  readonly ignoredNetwork = new Set<string>();
  readonly ignoredTop = new Set<string>();
  private readonly otherWarnings: string[] = [];

  constructor(
    readonly problems: Problems,
    readonly opts: ConvertOptions,
  ) {}

  problem(path: string, message: string, line: number | null): void {
    this.problems.add(path, message, line);
  }

  /** How many problems are recorded: a part compares before and after to know whether it added any. */
  get count(): number {
    return this.problems.list.length;
  }

  /** A warning that is not an ignored key (a logging driver we do not have, ...); each once. */
  warn(message: string): void {
    if (!this.otherWarnings.includes(message)) this.otherWarnings.push(message);
  }

  get warnings(): readonly string[] {
    return this.otherWarnings;
  }

  /**
   * Sorts the keys of a mapping: unknown ones are errors, compose keys we do
   * not implement go to `ignored` (as `prefix` + key), extensions are dropped.
   * Returns the supported entries by key.
   */
  knownKeys(map: TreeMap, set: KeySet, path: string, ignored: Set<string> | null, ignoredPrefix = ''): Map<string, TreeEntry> {
    const out = new Map<string, TreeEntry>();
    for (const entry of map.entries) {
      const kind = classifyKey(set, entry.key);
      if (kind === 'supported') out.set(entry.key, entry);
      else if (kind === 'unsupported') ignored?.add(ignoredPrefix + entry.key);
      else if (kind === 'unknown') this.problem(join(path, entry.key), 'unknown key', entry.keyLine);
    }
    return out;
  }

  fields(map: TreeMap, set: KeySet, path: string, ignored: Set<string> | null, ignoredPrefix = ''): Fields {
    const keys = this.knownKeys(map, set, path, ignored, ignoredPrefix);
    const entry = (key: string): TreeEntry | null => {
      const e = keys.get(key);
      return e && !isNull(e.value) ? e : null;
    };
    return { entry, get: (key) => entry(key)?.value ?? null, has: (key) => keys.has(key) };
  }

  /** A mapping, or null (with a problem unless the node is null). */
  mapping(node: TreeNode | null, path: string): TreeMap | null {
    if (node === null || isNull(node)) return null;
    if (node.kind === 'map') return node;
    this.problem(path, `must be a mapping, got ${describe(node)}`, node.line);
    return null;
  }

  string(node: TreeNode, path: string): string | null {
    if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
    if (isNull(node)) return null;
    this.problem(path, `must be a string, got ${describe(node)}`, node.line);
    return null;
  }

  optionalString(node: TreeNode | null, path: string): string | null {
    return node === null ? null : this.string(node, path);
  }

  /** true/false, or a YAML 1.1 spelling (`yes`, `on`, ...), as docker reads boolean keys. */
  boolean(node: TreeNode | null, path: string): boolean | null {
    if (node === null) return null;
    const b = yaml11Boolean(node);
    if (b === null) this.problem(path, `must be true or false, got ${describe(node)}`, node.line);
    return b;
  }

  /** An integer of at least `min`, as a YAML number or a string of digits (after interpolation). */
  integer(node: TreeNode, path: string, min: number): number | null {
    const n = node.kind === 'scalar' && (typeof node.value === 'number' || typeof node.value === 'string') ? parseInteger(node.value) : null;
    if (n === null || n < min) {
      const what = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
      this.problem(path, `must be ${what}, got ${describe(node)}`, node.line);
      return null;
    }
    return n;
  }

  /** A Go duration (`10s`, `1m30s`, `500ms`), in milliseconds. */
  duration(node: TreeNode, path: string): number | null {
    let ms: number | null = null;
    if (node.kind === 'scalar' && typeof node.value === 'string') ms = parseDurationMs(node.value);
    // A bare 0 is the one number Go's parser takes without a unit.
    else if (node.kind === 'scalar' && node.value === 0) ms = 0;
    if (ms === null) this.problem(path, `must be a duration such as 10s, 1m30s or 500ms, got ${describe(node)}`, node.line);
    return ms;
  }

  /** A size (`512M`, `1g`, a number of bytes) greater than zero. */
  bytes(node: TreeNode, path: string): number | null {
    const b = node.kind === 'scalar' && (typeof node.value === 'string' || typeof node.value === 'number') ? parseBytes(node.value) : null;
    if (b === null || b <= 0) {
      this.problem(path, `must be a positive size such as 512M, 1g or a number of bytes, got ${describe(node)}`, node.line);
      return null;
    }
    return b;
  }

  /** A file mode (`0440` octal, YAML 1.1) up to `max`. */
  mode(node: TreeNode, path: string, max: number): number | null {
    const m = yaml11FileMode(node);
    if (m === null || m > max) {
      this.problem(path, `must be a file mode from 0 to ${formatMode(max)} such as 0440 (octal), got ${describe(node)}`, node.line);
      return null;
    }
    return m;
  }

  /** `["a=b", "c"]` or `{a: b, c: null}`; a label without a value is the empty string, as in docker. */
  labels(node: TreeNode | null, path: string): Record<string, string> {
    if (node === null) return {};
    const labels = new Map<string, string>();
    if (node.kind === 'seq') {
      node.items.forEach((item, i) => {
        if (item.kind !== 'scalar' || typeof item.value !== 'string') {
          this.problem(`${path}[${i}]`, `must be a "key=value" string, got ${describe(item)}`, item.line);
          return;
        }
        const eq = item.value.indexOf('=');
        const k = eq < 0 ? item.value : item.value.slice(0, eq);
        if (k === '') this.problem(`${path}[${i}]`, 'label name must not be empty', item.line);
        else labels.set(k, eq < 0 ? '' : item.value.slice(eq + 1));
      });
    } else if (node.kind === 'map') {
      for (const e of node.entries) {
        if (e.value.kind !== 'scalar') {
          this.problem(`${path}.${e.key}`, `must be a string, number, boolean or null, got ${describe(e.value)}`, e.keyLine);
        } else {
          labels.set(e.key, e.value.value === null ? '' : e.value.text);
        }
      }
    } else {
      this.problem(path, `must be a list of "key=value" strings or a mapping, got ${describe(node)}`, node.line);
    }
    // fromEntries defines own properties, so a label named __proto__ stays a label.
    return Object.fromEntries(labels);
  }

  /** A mapping of option names to scalar values, as text (`driver_opts`, logging `options`). */
  options(node: TreeNode | null, path: string): Record<string, string> {
    const map = this.mapping(node, path);
    if (map === null) return {};
    const out = new Map<string, string>();
    for (const e of map.entries) {
      if (e.value.kind !== 'scalar') this.problem(`${path}.${e.key}`, `must be a string, number, boolean or null, got ${describe(e.value)}`, e.keyLine);
      else out.set(e.key, e.value.value === null ? '' : e.value.text);
    }
    return Object.fromEntries(out);
  }

  /**
   * `external: true`, or the older `external: {name: x}` (docker/cli still reads it as external
   * with that name). Returns the name given that way, or null.
   */
  external(entry: TreeEntry | null, path: string): { external: boolean; name: string | null } {
    if (entry === null) return { external: false, name: null };
    const node = entry.value;
    if (node.kind === 'map') {
      let name: string | null = null;
      for (const e of node.entries) {
        if (e.key === 'name') name = this.string(e.value, `${path}.name`);
        else this.problem(`${path}.${e.key}`, 'unknown key', e.keyLine);
      }
      return { external: true, name };
    }
    return { external: this.boolean(node, path) ?? false, name: null };
  }
}
