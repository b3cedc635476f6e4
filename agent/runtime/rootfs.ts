/**
 * The container's root filesystem: an overlayfs of the image layers (read-only lowerdirs, shared by
 * every container of the image) under a per-container upper/work dir, mounted at
 * `<root>/<id>/rootfs`. The shim bind-mounts it inside the container's mount namespace and
 * pivot_roots into it.
 */
import { join } from 'node:path';
import { NativeError } from '../../shared/errors';
import { InvalidContainerConfigError } from './errors';
import type { MountOps } from './sys';

/**
 * Everything a container owns on disk: its OCI bundle `<root>/<id>/` (config.json, the rootfs mount
 * point, the overlay's upper and work dirs) and the runtime's state `<root>/.state/<id>/` (the
 * runtime's --root is `<root>/.state`; container ids never start with a dot).
 */
export interface ContainerPaths {
  dir: string;
  upper: string;
  work: string;
  rootfs: string;
  configFile: string;
  /** The runtime's --root. */
  stateRoot: string;
  stateDir: string;
  /** Written by the shim: its cgroup before it makes it, pids, then the exit status. */
  stateFile: string;
}

export function containerPaths(root: string, id: string): ContainerPaths {
  const dir = join(root, id);
  const stateRoot = join(root, '.state');
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    rootfs: join(dir, 'rootfs'),
    configFile: join(dir, 'config.json'),
    stateRoot,
    stateDir: join(stateRoot, id),
    stateFile: join(stateRoot, id, 'state.json'),
  };
}

/** The kernel copies mount data into one page. */
const MAX_MOUNT_DATA = 4095;

/**
 * `lowerdir=a:b,upperdir=u,workdir=w`. overlayfs splits options on ',' and lowerdirs on ':'; both
 * can be escaped with '\', but layer dirs come from our own image store, so such paths are refused
 * rather than escaped.
 */
export function overlayOptions(lowerDirs: readonly string[], upper: string, work: string): string {
  if (lowerDirs.length === 0) throw new InvalidContainerConfigError('at least one image layer is needed', 'lowerDirs');
  for (const p of [...lowerDirs, upper, work]) {
    if (!p.startsWith('/') || /[,:\\\0]/.test(p)) {
      throw new InvalidContainerConfigError(`layer path ${JSON.stringify(p)} must be absolute without , : or \\`, 'lowerDirs');
    }
  }
  const data = `lowerdir=${lowerDirs.join(':')},upperdir=${upper},workdir=${work}`;
  if (data.length > MAX_MOUNT_DATA) {
    throw new InvalidContainerConfigError(`${lowerDirs.length} layers make overlay options longer than a page`, 'lowerDirs');
  }
  return data;
}

export function mountRootfs(ops: MountOps, paths: ContainerPaths, lowerDirs: readonly string[]): void {
  ops.mount('overlay', paths.rootfs, 'overlay', 0, overlayOptions(lowerDirs, paths.upper, paths.work));
}

/**
 * Unmounts the rootfs; not mounted is fine (idempotent remove). A busy mount (someone's cwd inside
 * it) is detached instead: it disappears from the tree now and is freed when the last user leaves.
 */
export function unmountRootfs(ops: MountOps, target: string): void {
  try {
    ops.umount(target, 0);
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
    if (e.errno === EINVAL || e.errno === ENOENT) return;
    if (e.errno !== EBUSY) throw e;
    ops.umount(target, ops.MNT_DETACH);
  }
}

const EINVAL = 22;
const ENOENT = 2;
const EBUSY = 16;
