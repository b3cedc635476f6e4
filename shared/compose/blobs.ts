/**
 * The top-level `secrets:` and `configs:` → StackBlobs. The bytes are read now, on the machine
 * that deploys (as `docker stack deploy` does): from `file:` (relative to the stack file), from
 * `environment:` (a variable's value) or, for configs, from `content:`. An external one names a
 * blob that must exist already and carries no bytes.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { NAMESPACE_LABEL } from '../task-spec';
import type { StackBlob } from '../types';
import { openFailure } from './file-errors';
import { invalidObjectNameReason } from './names';
import type { TreeEntry } from './parse';
import type { Reader } from './reader';
import { CONFIG, SECRET, classifyKey } from './schema';
import { describe, isNull } from './tree';

export type BlobKind = 'secret' | 'config';

/** By key; a key whose definition is broken maps to null (reported already, so references add nothing). */
export type BlobTable = ReadonlyMap<string, StackBlob | null>;

/** Swarm's limit for both kinds; an empty secret is refused too (a config may be empty). */
export const MAX_BLOB_BYTES = 500 * 1024;

const SOURCES = { secret: ['file', 'environment'], config: ['file', 'environment', 'content'] } as const;

export function blobTable(r: Reader, kind: BlobKind, entry: TreeEntry | undefined, stack: string): BlobTable {
  const out = new Map<string, StackBlob | null>();
  const section = `${kind}s`;
  if (!entry || isNull(entry.value)) return out;
  if (entry.value.kind !== 'map') {
    r.problem(section, `must be a mapping of ${kind} names to ${kind}s, got ${describe(entry.value)}`, entry.keyLine);
    return out;
  }
  const names = new Map<string, string>();
  for (const e of entry.value.entries) {
    const blob = readBlob(r, kind, e, stack);
    out.set(e.key, blob);
    if (blob === null) continue;
    // Two keys naming one blob would be two definitions of one immutable object.
    const owner = names.get(blob.spec.name);
    if (owner !== undefined) r.problem(`${section}.${e.key}`, `${kind} name ${JSON.stringify(blob.spec.name)} is already used by ${section}.${owner}`, e.keyLine);
    names.set(blob.spec.name, e.key);
  }
  return out;
}

function readBlob(r: Reader, kind: BlobKind, entry: TreeEntry, stack: string): StackBlob | null {
  const key = entry.key;
  const path = `${kind}s.${key}`;
  const before = r.count;
  const node = entry.value;
  if (node.kind !== 'map') {
    r.problem(path, `must be a mapping with ${SOURCES[kind].join(', ')} or external, got ${describe(node)}`, entry.keyLine);
    return null;
  }
  const set = kind === 'secret' ? SECRET : CONFIG;
  const f = r.fields(node, set, path, null);
  const ext = r.external(f.entry('external'), `${path}.external`);

  for (const k of ['driver', 'driver_opts']) {
    const e = f.entry(k);
    if (e) r.problem(`${path}.${k}`, 'secret drivers (plugins) are not supported: give the secret with file or environment', e.keyLine);
  }
  if (f.entry('template_driver')) {
    r.warn(`${path}.template_driver: templated ${kind}s are not supported; the ${kind} is used as it is`);
  }

  let name = ext.external ? (ext.name ?? key) : `${stack}_${key}`;
  const nameNode = f.get('name');
  const given = nameNode ? r.string(nameNode, `${path}.name`) : null;
  if (nameNode && given !== null) {
    if (ext.name !== null) r.problem(`${path}.name`, 'external.name and name conflict; only use name', nameNode.line);
    else name = given;
  }
  const nameProblem = invalidObjectNameReason(name, kind);
  if (nameProblem !== null) r.problem(nameNode ? `${path}.name` : path, nameProblem, nameNode?.line ?? entry.keyLine);

  const labels = r.labels(f.get('labels'), `${path}.labels`);
  const sources = SOURCES[kind].filter((k) => f.has(k));
  if (ext.external) {
    // As docker/cli: an external blob is only looked up, so its content or labels are mistakes.
    for (const e of node.entries) {
      if (e.key === 'external' || e.key === 'name' || e.key === 'template_driver' || classifyKey(set, e.key) !== 'supported') continue;
      r.problem(`${path}.${e.key}`, `conflicting parameters "external" and "${e.key}" specified`, e.keyLine);
    }
    if (r.count > before) return null;
    return { key, external: true, spec: { name, labels: {} }, data: null };
  }
  // A definition already wrong (a driver, a bad external) needs no "no source" on top.
  if (r.count > before) return null;
  if (sources.length === 0) {
    r.problem(path, `${kind} ${key} needs one of ${SOURCES[kind].join(', ')} (or external: true)`, entry.keyLine);
    return null;
  }
  if (sources.length > 1) {
    r.problem(path, `${kind} ${key} has ${sources.join(' and ')}: give only one`, entry.keyLine);
    return null;
  }
  const data = blobData(r, kind, sources[0] ?? 'file', f.entry(sources[0] ?? 'file'), path, entry.keyLine);
  if (r.count > before || data === null) return null;
  if (kind === 'secret' && data.length === 0) r.problem(path, `secret ${key} is empty`, entry.keyLine);
  if (data.length > MAX_BLOB_BYTES) r.problem(path, `${kind} ${key} is ${data.length} bytes, more than the ${MAX_BLOB_BYTES} (500 KiB) allowed`, entry.keyLine);
  if (r.count > before) return null;
  return { key, external: false, spec: { name, labels: { ...labels, [NAMESPACE_LABEL]: stack } }, data: data.toString('base64') };
}

function blobData(r: Reader, kind: BlobKind, source: string, entry: TreeEntry | null, path: string, line: number): Buffer | null {
  const at = `${path}.${source}`;
  if (entry === null) {
    r.problem(at, `must be a ${source === 'file' ? 'file name' : source === 'environment' ? 'variable name' : 'string'}, got nothing`, line);
    return null;
  }
  const text = r.string(entry.value, at);
  if (text === null) return null;
  if (source === 'content') return Buffer.from(text, 'utf8');
  if (source === 'environment') {
    const value = r.opts.lookup(text);
    if (value === undefined) {
      r.problem(at, `${kind} ${path.slice(path.indexOf('.') + 1)}: variable ${text} is not set`, entry.keyLine);
      return null;
    }
    return Buffer.from(value, 'utf8');
  }
  const file = isAbsolute(text) ? text : resolve(r.opts.dir, text);
  try {
    return readFileSync(file);
  } catch (e) {
    r.problem(at, openFailure(file, e as NodeJS.ErrnoException), entry.keyLine);
    return null;
  }
}
