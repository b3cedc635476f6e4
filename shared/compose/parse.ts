/**
 * YAML → a small tree of plain values that remembers the line of every node.
 *
 * The rest of the loader never sees `yaml` package nodes: aliases are expanded
 * and merge keys applied here, so validation walks one simple shape and can
 * always name a line. A map value carries the line of its *key*, because
 * "services.web.deploy.replicas (line 7)" should point where the user typed
 * `replicas:`, not at a block that may start on the next line.
 *
 * The file is read as YAML 1.2 (the yaml package's core schema), and every
 * scalar keeps its source text: docker/cli reads YAML 1.1, but only a few keys
 * depend on the difference (`read_only: yes`, `mode: 0440`), and yaml11.ts
 * applies the 1.1 reading at those keys. Reading the whole file as 1.1 would
 * also turn `8080:80`-like values into sexagesimal numbers and an environment
 * value `on` into `true`, which is not what the author wrote.
 */
import { Alias, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode, YAMLMap } from 'yaml';

export type ScalarValue = string | number | boolean | null;

export interface TreeScalar {
  kind: 'scalar';
  value: ScalarValue;
  /**
   * What the user wrote, for non-strings: `PORT: 0x10` or `A: 1.0` should
   * become the environment value they typed, not JavaScript's `16` or `1`.
   */
  text: string;
  line: number;
}
export interface TreeEntry {
  key: string;
  keyLine: number;
  value: TreeNode;
}
export interface TreeMap {
  kind: 'map';
  entries: TreeEntry[];
  line: number;
}
export interface TreeSeq {
  kind: 'seq';
  items: TreeNode[];
  line: number;
}
export type TreeNode = TreeScalar | TreeMap | TreeSeq;

/** A problem found while reading the YAML itself (syntax, anchors). */
export interface ParseProblem {
  message: string;
  line: number;
}

export type ParseResult = { ok: true; root: TreeNode | null } | { ok: false; problems: ParseProblem[] };

/**
 * Aliases are expanded into copies, so a "billion laughs" file could make the
 * tree explode; no real stack file comes near this many nodes.
 */
const MAX_NODES = 200_000;

class TreeBuildError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export function parseYaml(text: string): ParseResult {
  const lineCounter = new LineCounter();
  // `merge: true` makes `<<` a merge key (a YAML 1.1 feature compose files rely on);
  // duplicate keys stay an error, as in compose.
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        // yaml's wording for this one names its own API, which means nothing to a user.
        message: `YAML syntax error: ${e.code === 'MULTIPLE_DOCS' ? 'a stack file must hold a single YAML document' : firstLine(e.message)}`,
        line: e.linePos?.[0].line ?? lineCounter.linePos(e.pos[0]).line,
      })),
    };
  }
  const builder = new TreeBuilder(doc, lineCounter);
  try {
    const root = doc.contents === null ? null : builder.build(doc.contents, null);
    return { ok: true, root };
  } catch (e) {
    if (e instanceof TreeBuildError) return { ok: false, problems: [{ message: e.message, line: e.line }] };
    throw e;
  }
}

/** yaml's messages may append " at line N, column M:" and a code frame; we report the line ourselves. */
function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

class TreeBuilder {
  private nodes = 0;
  /** Alias targets being expanded right now, to refuse `&a [*a]` instead of recursing forever. */
  private readonly expanding = new Set<YamlNode>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private lineOf(node: YamlNode): number {
    return node.range ? this.lines.linePos(node.range[0]).line : 1;
  }

  /** `lineOverride` is the key's line when `node` is a map value (see the file comment). */
  build(node: YamlNode, lineOverride: number | null): TreeNode {
    if (++this.nodes > MAX_NODES) {
      throw new TreeBuildError('the file expands to too many nodes (alias loop or alias bomb?)', this.lineOf(node));
    }
    const line = lineOverride ?? this.lineOf(node);
    if (isAlias(node)) return this.withAlias(node, (target) => this.build(target, line));
    if (isScalar(node)) return this.scalar(node.value, node.source, line);
    if (isSeq(node)) {
      const items: TreeNode[] = [];
      for (const item of node.items) {
        if (isAlias(item) || isScalar(item) || isSeq(item) || isMap(item)) items.push(this.build(item, null));
        else items.push(this.scalar(null, undefined, line));
      }
      return { kind: 'seq', items, line };
    }
    if (isMap(node)) return { kind: 'map', entries: this.entries(node), line };
    throw new TreeBuildError('unsupported YAML node', line);
  }

  private scalar(value: unknown, source: string | undefined, line: number): TreeScalar {
    if (value === null || value === undefined) return { kind: 'scalar', value: null, text: '', line };
    if (typeof value === 'string') return { kind: 'scalar', value, text: value, line };
    if (typeof value === 'number' || typeof value === 'boolean') {
      return { kind: 'scalar', value, text: source ?? String(value), line };
    }
    // Tags such as !!binary or timestamps give objects; compose files have no use for them.
    throw new TreeBuildError(`unsupported YAML value ${JSON.stringify(source ?? String(value))}`, line);
  }

  private withAlias<T>(alias: Alias, fn: (target: YamlNode) => T): T {
    const target = alias.resolve(this.doc);
    const line = this.lineOf(alias);
    if (!target) throw new TreeBuildError(`unknown alias *${alias.source}`, line);
    if (this.expanding.has(target)) throw new TreeBuildError(`alias *${alias.source} refers to itself`, line);
    this.expanding.add(target);
    try {
      return fn(target);
    } finally {
      this.expanding.delete(target);
    }
  }

  /**
   * Explicit keys win over merged ones, and among several merged maps the first
   * one listed wins: the YAML merge-key rules.
   */
  private entries(map: YAMLMap): TreeEntry[] {
    const own: TreeEntry[] = [];
    const merged: TreeEntry[] = [];
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const valueNode = pair.value as YamlNode | null;
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        merged.push(...this.mergeSources(valueNode, this.lineOf(keyNode)));
        continue;
      }
      const keyLine = keyNode ? this.lineOf(keyNode) : this.lineOf(map);
      const key = this.keyText(keyNode, keyLine);
      const value = valueNode ? this.build(valueNode, keyLine) : this.scalar(null, undefined, keyLine);
      own.push({ key, keyLine, value });
    }
    const result = [...own];
    const seen = new Set(own.map((e) => e.key));
    for (const entry of merged) {
      if (seen.has(entry.key)) continue;
      seen.add(entry.key);
      result.push(entry);
    }
    return result;
  }

  private mergeSources(value: YamlNode | null, line: number): TreeEntry[] {
    const sources = isSeq(value) ? value.items : [value];
    const out: TreeEntry[] = [];
    for (const source of sources) {
      const built = isAlias(source) || isMap(source) ? this.build(source, null) : null;
      if (!built || built.kind !== 'map') {
        throw new TreeBuildError('merge key << needs a mapping or a list of mappings', line);
      }
      out.push(...built.entries);
    }
    return out;
  }

  private keyText(key: YamlNode | null, line: number): string {
    if (key === null) return '';
    if (isAlias(key)) return this.withAlias(key, (t) => this.keyText(t, line));
    if (isScalar(key)) {
      const v: unknown = key.value;
      if (v === null || v === undefined) return '';
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return key.source ?? String(v);
    }
    throw new TreeBuildError('mapping keys must be strings', line);
  }
}
