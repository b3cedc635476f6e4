/**
 * Path resolution inside a root directory, the way the kernel resolves a path after chroot(root):
 * component by component, each symlink followed where it is, an absolute target starting again
 * from `root` (never the host's `/`), `..` stopping at `root`, at most 40 symlinks (Linux's
 * MAXSYMLINKS). Components that do not exist yet are kept as written, so the result also names
 * where a new file or directory goes.
 *
 * Why: the image being built is an untrusted tree. An image may hold `etc -> /etc` or
 * `x -> ../../../../root`; joining `rootfs + "/etc/passwd"` and writing there would write to the
 * host. Every write of COPY/ADD goes to a path that came out of `resolveInRoot`, and the source side
 * of `COPY --from` (another stage's rootfs) and the build context resolve their symlinks with the
 * same walk through `followInTree`, over whatever can answer lstat and readlink.
 *
 * What it does not protect against: a tree that changes while it is being resolved (nothing else
 * writes to a build's rootfs while a COPY runs).
 */
import { lstat, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../../shared/errors';
import { type EntryType, entryType } from './entry-type';

/** Linux gives up after this many symlinks in one lookup (ELOOP). */
export const MAX_SYMLINKS = 40;

/** What the walk needs from a tree; paths are relative to its root, `/`-separated, never `.` or empty. */
export interface PathLookup {
  /** The entry's own type (a symlink is not followed), or null when there is nothing there. */
  lstat(rel: string): Promise<EntryType | null>;
  readlink(rel: string): Promise<string>;
}

export class SymlinkLoopError extends InvalidArgumentError {
  constructor(readonly path: string) {
    super(`${path}: too many levels of symbolic links`);
  }
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * `path` (absolute or not, both from the tree's root) with every symlink in it followed inside the
 * tree; the result is relative to the root, cleaned, `.` for the root itself.
 */
export async function followInTree(tree: PathLookup, path: string): Promise<string> {
  const resolved: string[] = [];
  const pending = components(path).reverse(); // a stack: the next component is at the end
  let links = 0;
  while (pending.length > 0) {
    const c = pending.pop() as string;
    if (c === '..') {
      resolved.pop(); // at the root already: `..` of the root is the root
      continue;
    }
    const rel = [...resolved, c].join('/');
    if ((await tree.lstat(rel)) !== 'symlink') {
      resolved.push(c); // a directory, a file, or nothing yet: kept as it is
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(path);
    const target = await tree.readlink(rel);
    if (target.startsWith('/')) resolved.length = 0;
    pending.push(...components(target).reverse());
  }
  return resolved.length === 0 ? '.' : resolved.join('/');
}

/** PathLookup over a real directory; a path through something that is not a directory is absent. */
export function hostLookup(root: string): PathLookup {
  return {
    async lstat(rel) {
      try {
        return entryType(await lstat(join(root, rel)));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw e;
      }
    },
    readlink: (rel) => readlink(join(root, rel)),
  };
}

/**
 * The host path `path` names inside `root` (an absolute directory path; a relative one is taken from
 * the current directory), resolved as chroot(root) would. The result is `root` or below it.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const top = resolve(root);
  const rel = await followInTree(hostLookup(top), path);
  return join(top, rel);
}
