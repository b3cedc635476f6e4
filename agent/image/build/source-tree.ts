/**
 * Where COPY takes files from: the build context, or another stage's (or image's) root filesystem
 * for `COPY --from`. Both answer the same few questions (what is at this path, what is in this
 * directory, where does this symlink point), so resolving sources (copy-sources.ts) and copying
 * them (copy-into.ts) are written once for both. The differences are all here:
 *
 * - the context answers from its .dockerignore-filtered listing (build-context.ts): an ignored file
 *   does not exist; its files become root-owned in the image, as BuildKit resets the owners of what
 *   the client sends;
 * - a rootfs answers from the disk, everything in it exists, and its files keep their owners
 *   (BuildKit's `COPY --from` does, unless `--chown`).
 *
 * Paths are relative to the tree's root, `/`-separated, with no `.` or `..` (resolve them first with
 * followInTree); `.` is the root. Symlinks are never followed here.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BuildContext } from './build-context';
import { compareBytes } from './build-context';
import { type EntryType, entryType } from './entry-type';
import type { PathLookup } from './rootfs-path';

export interface SourceTree extends PathLookup {
  /** The tree's root on the host, absolute. */
  readonly dir: string;
  /** What messages call it: `build context`, `stage builder`. */
  readonly name: string;
  /** Whether a .dockerignore may have left files out (a missing file says "or excluded by .dockerignore"). */
  readonly filtered: boolean;
  /** Whether copied entries keep their owners (without `--chown`); otherwise they become 0:0. */
  readonly keepOwners: boolean;
  /** Sorted names of what the tree holds directly below a directory. */
  list(rel: string): Promise<readonly string[]>;
  /** The host path of an entry. */
  hostPath(rel: string): string;
}

function hostPathIn(dir: string): (rel: string) => string {
  return (rel) => (rel === '.' || rel === '' ? dir : join(dir, rel));
}

export function contextTree(ctx: BuildContext): SourceTree {
  const hostPath = hostPathIn(ctx.root);
  return {
    dir: ctx.root,
    name: 'build context',
    filtered: true,
    keepOwners: false,
    async lstat(rel) {
      if (rel === '.' || rel === '') return 'dir';
      return ctx.entry(rel)?.type ?? null;
    },
    readlink: (rel) => readlink(hostPath(rel)),
    list: async (rel) => ctx.children(rel === '.' ? '' : rel),
    hostPath,
  };
}

/** A directory tree read as it is on the disk: another stage's rootfs, or an unpacked archive. */
export function rootfsTree(dir: string, name: string): SourceTree {
  const root = resolve(dir);
  const hostPath = hostPathIn(root);
  return {
    dir: root,
    name,
    filtered: false,
    keepOwners: true,
    async lstat(rel): Promise<EntryType | null> {
      try {
        return entryType(await lstat(hostPath(rel)));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw e;
      }
    },
    readlink: (rel) => readlink(hostPath(rel)),
    async list(rel) {
      const names = await readdir(hostPath(rel));
      return names.sort(compareBytes);
    },
    hostPath,
  };
}
