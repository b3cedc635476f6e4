/**
 * The top-level `volumes:` mapping: the named volumes services may mount. Nothing is created at
 * deploy time (as in Swarm, a node creates a volume when a task first mounts it), so each entry
 * only decides what its mounts say: the volume's name on the node, and the driver and labels it
 * is created with there.
 */
import type { VolumeOptions } from '../types';
import { NAMESPACE_LABEL } from './networks';
import type { TreeEntry } from './parse';
import type { Reader } from './reader';
import { VOLUME, classifyKey } from './schema';
import { describe, isNull } from './tree';

export interface StackVolume {
  key: string;
  /** The volume's name on a node: `<stack>_<key>`, or `name:`, or the key/name of an external one. */
  source: string;
  external: boolean;
  /** Labels the volume is created with (the namespace label included); {} for an external volume. */
  labels: Record<string, string>;
  /** null for an external volume, which must exist already. */
  driver: VolumeOptions['driver'];
}

/** By key; a key whose definition is broken maps to null (reported already, so mounts of it add nothing). */
export type VolumeTable = ReadonlyMap<string, StackVolume | null>;

/** Docker's plugin names: `rexray/dobs`, `vieux/sshfs:latest`, `local`. */
const DRIVER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-/:]*$/;
const VOLUME_KEY = /^[a-zA-Z0-9._-]+$/;
/** Docker's rule for volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function volumeTable(r: Reader, entry: TreeEntry | undefined, stack: string): VolumeTable {
  const out = new Map<string, StackVolume | null>();
  if (!entry || isNull(entry.value)) return out;
  if (entry.value.kind !== 'map') {
    r.problem('volumes', `must be a mapping of volume names to volumes, got ${describe(entry.value)}`, entry.keyLine);
    return out;
  }
  for (const e of entry.value.entries) out.set(e.key, readVolume(r, e, stack));
  return out;
}

function readVolume(r: Reader, entry: TreeEntry, stack: string): StackVolume | null {
  const key = entry.key;
  const path = `volumes.${key}`;
  const before = r.count;
  if (!VOLUME_KEY.test(key)) r.problem(path, 'invalid volume name: use letters, digits, ".", "_" and "-"', entry.keyLine);
  const node = entry.value;
  const scoped = `${stack}_${key}`;
  if (isNull(node)) {
    return r.count > before ? null : { key, source: scoped, external: false, labels: { [NAMESPACE_LABEL]: stack }, driver: { name: 'local', options: {} } };
  }
  if (node.kind !== 'map') {
    r.problem(path, `must be a mapping, got ${describe(node)}`, entry.keyLine);
    return null;
  }
  const f = r.fields(node, VOLUME, path, null);
  const ext = r.external(f.entry('external'), `${path}.external`);
  if (ext.external) {
    // docker/cli's rule: an external volume is only used, so how to create it is a mistake.
    for (const e of node.entries) {
      if (e.key === 'external' || e.key === 'name' || classifyKey(VOLUME, e.key) !== 'supported') continue;
      r.problem(`${path}.${e.key}`, `conflicting parameters "external" and "${e.key}" specified`, e.keyLine);
    }
  }

  let source = ext.external ? (ext.name ?? key) : scoped;
  const nameNode = f.get('name');
  const given = nameNode ? r.string(nameNode, `${path}.name`) : null;
  if (nameNode && given !== null) {
    if (ext.name !== null) r.problem(`${path}.name`, 'external.name and name conflict; only use name', nameNode.line);
    else if (!VOLUME_NAME.test(given)) r.problem(`${path}.name`, `invalid volume name ${JSON.stringify(given)}: use letters, digits, ".", "_" and "-", starting with a letter or digit, at least 2 characters`, nameNode.line);
    else source = given;
  }

  const driverNode = f.get('driver');
  let driver = 'local';
  const d = driverNode ? r.string(driverNode, `${path}.driver`) : null;
  if (driverNode && d !== null) {
    // As Swarm: a driver the node lacks fails the task there ("volume driver X is not installed on
    // node Y"), not the deploy; another node may have it.
    if (DRIVER_NAME.test(d)) driver = d;
    else r.problem(`${path}.driver`, `invalid volume driver name ${JSON.stringify(d)}`, driverNode.line);
  }
  const options = r.options(f.get('driver_opts'), `${path}.driver_opts`);
  const labels = r.labels(f.get('labels'), `${path}.labels`);

  if (r.count > before) return null;
  if (ext.external) return { key, source, external: true, labels: {}, driver: null };
  return { key, source, external: false, labels: { ...labels, [NAMESPACE_LABEL]: stack }, driver: { name: driver, options } };
}
