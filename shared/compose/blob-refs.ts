/**
 * A service's `secrets` / `configs`: which of the stack's blobs it is given, and where. Short form
 * (`- db_pass`) or long form (source, target, uid, gid, mode), with docker/cli's defaults: a
 * secret at `/run/secrets/<source>`, a config at `/<source>`, owned by 0:0, mode 0444. The ids
 * stay '' here: the API fills them when it resolves the names.
 */
import type { ConfigReference, FileTarget, SecretReference } from '../types';
import type { BlobKind, BlobTable } from './blobs';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { FILE_REFERENCE } from './schema';
import { describe } from './tree';

const DEFAULT_MODE = 0o444;
const MAX_MODE = 0o777;

interface Ref {
  name: string;
  file: FileTarget;
}

export function secretRefs(r: Reader, node: TreeNode | null, path: string, service: string, table: BlobTable): SecretReference[] {
  return refs(r, 'secret', node, path, service, table).map((x) => ({ secretId: '', secretName: x.name, file: x.file }));
}

export function configRefs(r: Reader, node: TreeNode | null, path: string, service: string, table: BlobTable): ConfigReference[] {
  return refs(r, 'config', node, path, service, table).map((x) => ({ configId: '', configName: x.name, file: x.file }));
}

function refs(r: Reader, kind: BlobKind, node: TreeNode | null, path: string, service: string, table: BlobTable): Ref[] {
  if (node === null) return [];
  if (node.kind !== 'seq') {
    r.problem(path, `must be a list of ${kind} names or mappings with "source", got ${describe(node)}`, node.line);
    return [];
  }
  const out: Ref[] = [];
  const targets = new Map<string, string>();
  node.items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const ref = one(r, kind, item, at, service, table);
    if (ref === null) return;
    const other = targets.get(ref.file.name);
    if (other !== undefined) {
      r.problem(at, `${kind}s ${other} and ${ref.source} have the same target ${ref.file.name}`, item.line);
      return;
    }
    targets.set(ref.file.name, ref.source);
    out.push({ name: ref.name, file: ref.file });
  });
  return out;
}

function one(r: Reader, kind: BlobKind, item: TreeNode, at: string, service: string, table: BlobTable): (Ref & { source: string }) | null {
  const before = r.count;
  let source: string | null = null;
  let target: string | null = null;
  let uid = '0';
  let gid = '0';
  let mode = DEFAULT_MODE;
  if (item.kind === 'scalar' && typeof item.value === 'string') {
    source = item.value;
  } else if (item.kind === 'map') {
    const f = r.fields(item, FILE_REFERENCE, at, null);
    const s = f.get('source');
    if (s === null) r.problem(at, 'missing required key "source"', item.line);
    else source = r.string(s, `${at}.source`);
    const t = f.get('target');
    if (t) target = r.string(t, `${at}.target`);
    const u = f.get('uid');
    if (u) uid = numericId(r, u, `${at}.uid`) ?? uid;
    const g = f.get('gid');
    if (g) gid = numericId(r, g, `${at}.gid`) ?? gid;
    const m = f.get('mode');
    if (m) mode = r.mode(m, `${at}.mode`, MAX_MODE) ?? mode;
  } else {
    r.problem(at, `must be a ${kind} name or a mapping with "source", got ${describe(item)}`, item.line);
  }
  if (source === null || r.count > before) return null;

  const blob = table.get(source);
  if (blob === null) return null; // its definition is broken, and reported
  if (blob === undefined) {
    r.problem(at, `service ${service} refers to undefined ${kind} ${source}: declare it in the top-level ${kind}s`, item.line);
    return null;
  }
  let name = target ?? source;
  if (name === '' || name.split('/').includes('..') || name.includes('\0')) {
    r.problem(at, `invalid target ${JSON.stringify(name)}: a file name${kind === 'secret' ? ' under /run/secrets' : ''} or an absolute path, without ".."`, item.line);
    return null;
  }
  // A config's relative target is relative to the container's root, as the engine places it.
  if (kind === 'config' && !name.startsWith('/')) name = `/${name}`;
  return { source, name: blob.spec.name, file: { name, uid, gid, mode } };
}

/** uid / gid: a number, written as one or as a string (`uid: "1000"`). */
function numericId(r: Reader, node: TreeNode, path: string): string | null {
  const text = node.kind !== 'scalar' ? null : typeof node.value === 'number' ? node.text.trim() : typeof node.value === 'string' ? node.value.trim() : null;
  if (text === null || !/^\d+$/.test(text)) {
    r.problem(path, `must be a numeric user or group id, got ${describe(node)}`, node.line);
    return null;
  }
  return text;
}
