/**
 * A service's `volumes` → Mounts, in file order. Short syntax (volume-spec.ts) and long syntax,
 * read as docker/cli reads them:
 * - a source that is a path is a bind, resolved against the stack file's folder; Swarm does not
 *   create a missing bind source (the task fails on its node), so that is not a deploy error;
 * - any other source is a named volume, which must be declared in the top-level `volumes:`;
 * - a target alone is an anonymous volume (source '').
 * Targets must be absolute and distinct within the service.
 */
import { homedir } from 'node:os';
import { isAbsolute, posix, resolve } from 'node:path';
import type { BindPropagation, Mount } from '../types';
import type { TreeMap, TreeNode } from './parse';
import type { Reader } from './reader';
import { SERVICE_VOLUME, SERVICE_VOLUME_BIND, SERVICE_VOLUME_TMPFS, SERVICE_VOLUME_VOLUME } from './schema';
import { templateProblem, withStandIns } from './templates';
import { describe } from './tree';
import { PROPAGATIONS, isPathSource, parseShortVolume } from './volume-spec';
import type { VolumeTable } from './volumes';

const TYPES = ['bind', 'volume', 'tmpfs'] as const;
type MountType = (typeof TYPES)[number];
/** Mount kinds of the compose spec that only other platforms or other products have. */
const OTHER_TYPES = ['npipe', 'cluster', 'image'];
const MAX_TMPFS_MODE = 0o7777;

export interface MountContext {
  service: string;
  volumes: VolumeTable;
}

export function serviceMounts(r: Reader, node: TreeNode | null, path: string, ctx: MountContext): Mount[] {
  if (node === null) return [];
  if (node.kind !== 'seq') {
    r.problem(path, `must be a list, got ${describe(node)}`, node.line);
    return [];
  }
  const mounts: Mount[] = [];
  const targets = new Map<string, string>();
  node.items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    let mount: Mount | null = null;
    if (item.kind === 'scalar' && typeof item.value === 'string') mount = shortMount(r, item.value, at, item.line, ctx);
    else if (item.kind === 'map') mount = longMount(r, item, at, ctx);
    else r.problem(at, `must be a string such as "data:/var/lib/data" or a mapping, got ${describe(item)}`, item.line);
    if (mount === null) return;
    const key = posix.normalize(mount.target).replace(/(.)\/$/, '$1');
    const first = targets.get(key);
    if (first !== undefined) {
      r.problem(at, `duplicate mount target ${mount.target} (also ${first})`, item.line);
      return;
    }
    targets.set(key, at);
    mounts.push(mount);
  });
  return mounts;
}

function shortMount(r: Reader, spec: string, at: string, line: number, ctx: MountContext): Mount | null {
  const parsed = parseShortVolume(spec);
  if (!parsed.ok) {
    r.problem(at, parsed.reason, line);
    return null;
  }
  const v = parsed.volume;
  if (!checkTarget(r, v.target, at, line)) return null;
  if (v.source !== '' && isPathSource(v.source)) {
    if (v.noCopy) {
      r.problem(at, 'the nocopy option is for volumes, not for a bind of a host path', line);
      return null;
    }
    const source = bindSource(r, v.source, at, line);
    if (source === null) return null;
    // Swarm creates no missing bind source; compose's short-syntax default of creating it does not apply.
    return bindMount(source, v.target, v.readOnly, v.propagation ?? 'rprivate', false);
  }
  if (v.propagation !== null) {
    r.problem(at, `the propagation option ${v.propagation} is for binds of a host path, not for volumes`, line);
    return null;
  }
  return volumeMount(r, v.source, v.target, v.readOnly, v.noCopy, at, line, ctx);
}

function longMount(r: Reader, node: TreeMap, at: string, ctx: MountContext): Mount | null {
  const before = r.count;
  const f = r.fields(node, SERVICE_VOLUME, at, r.ignoredService, 'volumes.');
  const typeNode = f.get('type');
  let type: MountType | null = null;
  if (typeNode === null) {
    r.problem(at, `missing required key "type" (${TYPES.join(', ')})`, node.line);
  } else {
    const t = r.string(typeNode, `${at}.type`);
    if (t !== null && (TYPES as readonly string[]).includes(t)) type = t as MountType;
    else if (t !== null && OTHER_TYPES.includes(t)) r.problem(`${at}.type`, `mounts of type ${t} are not supported: use ${TYPES.join(', ')}`, typeNode.line);
    else if (t !== null) r.problem(`${at}.type`, `must be one of ${TYPES.join(', ')}, got ${JSON.stringify(t)}`, typeNode.line);
  }
  const sourceNode = f.get('source');
  const source = sourceNode ? r.string(sourceNode, `${at}.source`) : '';
  const targetNode = f.get('target');
  const target = targetNode ? r.string(targetNode, `${at}.target`) : null;
  if (targetNode === null) r.problem(at, 'missing required key "target"', node.line);
  else if (target !== null) checkTarget(r, target, `${at}.target`, targetNode.line);
  const readOnly = r.boolean(f.get('read_only'), `${at}.read_only`) ?? false;
  const consistency = f.get('consistency');
  if (consistency) r.string(consistency, `${at}.consistency`);

  // Options for another kind of mount are a mistake docker/cli refuses too.
  for (const kind of TYPES) {
    const e = f.entry(kind);
    if (e && type !== null && kind !== type) r.problem(`${at}.${kind}`, `${kind} options are incompatible with type ${type}`, e.keyLine);
  }
  if (r.count > before || type === null || source === null || target === null) return null;

  if (type === 'bind') {
    let propagation: BindPropagation = 'rprivate';
    let createHostPath = false;
    const opts = r.mapping(f.get('bind'), `${at}.bind`);
    if (opts) {
      const b = r.fields(opts, SERVICE_VOLUME_BIND, `${at}.bind`, r.ignoredService, 'volumes.bind.');
      const p = b.get('propagation');
      const text = p ? r.string(p, `${at}.bind.propagation`) : null;
      if (p && text !== null) {
        if ((PROPAGATIONS as readonly string[]).includes(text)) propagation = text as BindPropagation;
        else r.problem(`${at}.bind.propagation`, `must be one of ${PROPAGATIONS.join(', ')}, got ${JSON.stringify(text)}`, p.line);
      }
      createHostPath = r.boolean(b.get('create_host_path'), `${at}.bind.create_host_path`) ?? false;
    }
    if (source === '') {
      r.problem(`${at}.source`, 'a bind needs a source: the host path to mount', node.line);
      return null;
    }
    const resolved = bindSource(r, source, `${at}.source`, sourceNode?.line ?? node.line);
    if (r.count > before || resolved === null) return null;
    return bindMount(resolved, target, readOnly, propagation, createHostPath);
  }

  if (type === 'tmpfs') {
    if (source !== '') r.problem(`${at}.source`, 'a tmpfs mount has no source', sourceNode?.line ?? node.line);
    let sizeBytes: number | null = null;
    let mode: number | null = null;
    const opts = r.mapping(f.get('tmpfs'), `${at}.tmpfs`);
    if (opts) {
      const t = r.fields(opts, SERVICE_VOLUME_TMPFS, `${at}.tmpfs`, r.ignoredService, 'volumes.tmpfs.');
      const size = t.get('size');
      if (size) sizeBytes = r.bytes(size, `${at}.tmpfs.size`);
      const m = t.get('mode');
      if (m) mode = r.mode(m, `${at}.tmpfs.mode`, MAX_TMPFS_MODE);
    }
    if (r.count > before) return null;
    return { type: 'tmpfs', source: '', target, readOnly, bind: null, volume: null, tmpfs: { sizeBytes, mode } };
  }

  let noCopy = false;
  const opts = r.mapping(f.get('volume'), `${at}.volume`);
  if (opts) {
    const v = r.fields(opts, SERVICE_VOLUME_VOLUME, `${at}.volume`, r.ignoredService, 'volumes.volume.');
    noCopy = r.boolean(v.get('nocopy'), `${at}.volume.nocopy`) ?? false;
  }
  if (r.count > before) return null;
  return volumeMount(r, source, target, readOnly, noCopy, `${at}.source`, sourceNode?.line ?? node.line, ctx);
}

function bindMount(source: string, target: string, readOnly: boolean, propagation: BindPropagation, createHostPath: boolean): Mount {
  return { type: 'bind', source, target, readOnly, bind: { propagation, createHostPath }, volume: null, tmpfs: null };
}

/** A named volume of the top-level `volumes:`, or an anonymous one when `key` is ''. */
function volumeMount(r: Reader, key: string, target: string, readOnly: boolean, noCopy: boolean, at: string, line: number, ctx: MountContext): Mount | null {
  if (key === '') {
    return { type: 'volume', source: '', target, readOnly, bind: null, volume: { noCopy, labels: {}, driver: null }, tmpfs: null };
  }
  const declared = ctx.volumes.get(key);
  if (declared === null) return null; // its definition is broken, and reported
  if (declared === undefined) {
    r.problem(at, `service ${ctx.service} refers to undefined volume ${key}: declare it in the top-level volumes`, line);
    return null;
  }
  return {
    type: 'volume',
    source: declared.source,
    target,
    readOnly,
    bind: null,
    volume: { noCopy, labels: { ...declared.labels }, driver: declared.driver === null ? null : { name: declared.driver.name, options: { ...declared.driver.options } } },
    tmpfs: null,
  };
}

/** Absolute, as docker/cli resolves it: `~` from HOME, a relative path against the stack file's folder. */
function bindSource(r: Reader, source: string, at: string, line: number): string | null {
  const template = templateProblem(source);
  if (template !== null) {
    r.problem(at, template, line);
    return null;
  }
  let path = source;
  if (path === '~' || path.startsWith('~/')) {
    path = (r.opts.lookup('HOME') ?? homedir()) + path.slice(1);
  } else if (path.startsWith('~')) {
    r.problem(at, `cannot expand ${JSON.stringify(source)}: only ~ (the home folder) is expanded, not ~user`, line);
    return null;
  }
  return isAbsolute(path) ? path : resolve(r.opts.dir, path);
}

function checkTarget(r: Reader, target: string, at: string, line: number): boolean {
  const template = templateProblem(target);
  if (template !== null) {
    r.problem(at, template, line);
    return false;
  }
  const path = withStandIns(target);
  if (!path.startsWith('/')) {
    r.problem(at, `the mount target must be an absolute path, got ${JSON.stringify(target)}`, line);
    return false;
  }
  if (posix.normalize(path) === '/') {
    // The engine's rule: a mount cannot replace the container's root.
    r.problem(at, "the mount target can't be /", line);
    return false;
  }
  return true;
}
