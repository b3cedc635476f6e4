/**
 * Image layers for a container in a remapped user namespace (`--userns-remap`). Its root is a host
 * uid like 100000, and the layers belong to the host's root: unchanged, the container's root would
 * find every file of its image owned by nobody. Each layer is bound for the container as an
 * idmapped mount (uid/gid 0 of the layer shown as the container's root), shared and without a
 * copy; where the filesystem cannot be idmapped, a copy of the layer with its ids shifted is made
 * once per mapping, beside the layer, and used by every container of that mapping.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NativeError } from '../../shared/errors';
import { InvalidContainerConfigError } from './errors';
import { unmountRootfs } from './rootfs';
import type { RuntimeSys } from './sys';
import type { UsernsRemap } from './types';

const EPERM = 1;
const EINVAL = 22;
const EOPNOTSUPP = 95;

/** The lower dirs to mount the overlay from: idmapped binds under `<containerDir>/lower/N`, or shifted copies. */
export function remappedLayers(sys: RuntimeSys, containerDir: string, layers: readonly string[], m: UsernsRemap, undo: Array<() => void>): string[] {
  const base = join(containerDir, 'lower');
  mkdirSync(base, { recursive: true });
  undo.push(() => unmountRemappedLayers(sys, containerDir));
  return layers.map((layer, i) => {
    const target = join(base, String(i));
    mkdirSync(target);
    try {
      sys.idmapMount(layer, target, m.uid, m.gid, m.size);
      return target;
    } catch (e) {
      if (!(e instanceof NativeError) || ![EINVAL, EOPNOTSUPP, EPERM].includes(e.errno)) throw e;
      return shiftedCopy(layer, m);
    }
  });
}

/** Unmounts `<containerDir>/lower/*` (idempotent). */
export function unmountRemappedLayers(sys: RuntimeSys, containerDir: string): void {
  const base = join(containerDir, 'lower');
  let entries: string[] = [];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const e of entries) unmountRootfs(sys, join(base, e));
}

/** `<layer>.userns-<uid>-<gid>-<size>`: the layer with every id in 0..size-1 moved up by uid/gid; made once. */
export function shiftedCopy(layer: string, m: UsernsRemap): string {
  const dst = `${layer}.userns-${m.uid}-${m.gid}-${m.size}`;
  if (existsSync(dst)) return dst;
  const tmp = `${dst}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  // cp -a keeps what Node cannot make: device nodes (overlayfs whiteouts), owners, modes, xattrs.
  const r = spawnSync('cp', ['-a', '--', layer, tmp], { encoding: 'utf8' });
  if (r.status !== 0) throw new InvalidContainerConfigError(`copying layer ${layer} for the user namespace: ${(r.stderr || '').trim()}`, 'lowerDirs');
  shiftIds(tmp, m);
  renameSync(tmp, dst);
  return dst;
}

function shiftIds(path: string, m: UsernsRemap): void {
  const st = lstatSync(path);
  const uid = st.uid < m.size ? st.uid + m.uid : st.uid;
  const gid = st.gid < m.size ? st.gid + m.gid : st.gid;
  lchownSync(path, uid, gid);
  // chown clears setuid/setgid bits: put them back (symlinks have no mode of their own).
  if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) chmodSync(path, st.mode & 0o7777);
  if (st.isDirectory()) for (const e of readdirSync(path)) shiftIds(join(path, e), m);
}

/**
 * A remapped root has no rights over the host's directories: it must be able to search every
 * directory down to its bundle to reach its rootfs. Refused with the directory named otherwise.
 */
export function checkTraversable(dir: string): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      throw new InvalidContainerConfigError(`${d} (mode ${(mode & 0o777).toString(8)}) must be searchable by others for containers in a remapped user namespace (chmod o+x ${d})`, 'userns');
    }
    if (d === dirname(d)) return;
  }
}
