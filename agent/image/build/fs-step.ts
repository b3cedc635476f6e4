/**
 * A step that changes files without running anything of the image (COPY, ADD, WORKDIR's mkdir):
 * the layers so far mounted as an overlayfs with a fresh upper directory at a host directory, the
 * change made there by the builder (through rootfs-path.ts, so no symlink of the image leads out),
 * then unmounted. The upper directory is the step's change, as a RUN's is.
 *
 * redirect_dir and metacopy are off: a layer must be complete without the lower directories
 * (layer-from-upper.ts refuses an upper that relies on them).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MountOps } from '../../runtime/sys';
import { overlayOptions } from '../../runtime/rootfs';

export interface FsStepDirs {
  upper: string;
  work: string;
  rootfs: string;
}

/** Mounts the rootfs under `scratch`, runs `change(rootfsPath)`, unmounts; the upper is the change. */
export async function fsStep(sys: MountOps, scratch: string, lowerDirs: string[], change: (rootfs: string) => Promise<void>): Promise<FsStepDirs> {
  const dirs = { upper: join(scratch, 'upper'), work: join(scratch, 'work'), rootfs: join(scratch, 'rootfs') };
  for (const d of Object.values(dirs)) await mkdir(d, { mode: 0o755 });
  sys.mount('overlay', dirs.rootfs, 'overlay', 0, `${overlayOptions(lowerDirs, dirs.upper, dirs.work)},redirect_dir=off,metacopy=off`);
  try {
    await change(dirs.rootfs);
  } finally {
    sys.umount(dirs.rootfs, 0);
  }
  return dirs;
}

/** A read-only view of a stage's layers (what `COPY --from=stage` copies from), for `use`. */
export async function withLayersMounted<T>(sys: MountOps, scratch: string, lowerDirs: string[], use: (root: string) => Promise<T>): Promise<T> {
  const root = join(scratch, 'from');
  await mkdir(root, { mode: 0o755 });
  // overlayfs with only lower directories is read-only; one directory needs no overlay (MS_BIND = 4096, MS_RDONLY = 1).
  if (lowerDirs.length === 1) sys.mount(lowerDirs[0]!, root, null, 4096, null);
  else sys.mount('overlay', root, 'overlay', 1, `lowerdir=${lowerDirs.join(':')}`);
  try {
    return await use(root);
  } finally {
    sys.umount(root, 0);
  }
}
