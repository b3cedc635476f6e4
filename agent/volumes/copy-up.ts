/**
 * Docker's copy-up: a new, empty volume mounted where the image has a directory gets that
 * directory's files (contents, owners, modes, times, symlinks, hard links), and the volume's root
 * takes the directory's owner and mode (moby copyExistingContents + copyOwnership). The image is
 * read through a read-only overlay of its layers, so whiteouts and opaque directories mean what they
 * mean in a container; it is mounted only when a volume needs filling, and unmounted after.
 * What an image has at a path is the same every time (layer directories are named by content), so
 * a node remembers it (ImagePaths): the hundredth task of a service whose volume the image has
 * nothing for neither mounts the image nor waits behind those that did.
 */
import { chownSync, chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { VolumeSys } from './sys';

const MAX_LINKS = 40;

/**
 * `p` inside the tree at `root`, symlinks followed as the container would (an absolute target is
 * the container's own root, `..` stops at it); null when a part is missing.
 */
export function resolveInRoot(root: string, p: string, lstat: (path: string) => { isSymbolicLink(): boolean } | null, readlink: (path: string) => string): string | null {
  const todo = p.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift() as string;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, c);
    const st = lstat(host);
    if (st === null) return null;
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return null;
      const target = readlink(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
      continue;
    }
    done.push(c);
  }
  return join(root, ...done);
}

/** A container path as mounts compare them: normalized, no trailing slash (but `/`). */
export function cleanPath(p: string): string {
  return posix.normalize(p).replace(/(.)\/+$/, '$1');
}

/** The volume's root takes the owner and mode of the image's directory (moby copyOwnership). */
function takeRoot(dir: string, owner: { uid: number; gid: number; mode: number } | null): void {
  if (owner === null) return;
  chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, owner.mode);
}

function lstatOrNull(p: string): { isSymbolicLink(): boolean } | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/** What an image has at a path, as copy-up needs it: nothing to copy (a root to take, maybe), or files. */
type ImagePath = { files: false; root: { uid: number; gid: number; mode: number } | null } | { files: true };

/** The node's memory of what images have at paths, by layers and path; the oldest go first past `max`. */
export class ImagePaths {
  private readonly known = new Map<string, ImagePath>();

  constructor(private readonly max = 1024) {}

  get(layers: readonly string[], path: string): ImagePath | undefined {
    return this.known.get(ImagePaths.key(layers, path));
  }

  set(layers: readonly string[], path: string, what: ImagePath): void {
    const k = ImagePaths.key(layers, path);
    this.known.delete(k);
    this.known.set(k, what);
    for (const old of this.known.keys()) {
      if (this.known.size <= this.max) break;
      this.known.delete(old);
    }
  }

  private static key(layers: readonly string[], path: string): string {
    return `${layers.join(':')}\0${cleanPath(path)}`;
  }
}

/** The merged, read-only view of an image's layers, mounted on first use. */
export class ImageView {
  private merged: string | null = null;

  /**
   * @param layers the image's layer directories, top first (overlayfs order)
   * @param scratch a directory of its own (made and removed here) for the mount and overlay's upper/work
   */
  constructor(
    private readonly sys: VolumeSys,
    private readonly layers: readonly string[],
    private readonly scratch: string,
    private readonly paths: ImagePaths = new ImagePaths(),
  ) {}

  /** Fills `dir` (an empty volume) from the image's directory at `containerPath`, if it has one. */
  async copyInto(containerPath: string, dir: string): Promise<void> {
    const known = this.paths.get(this.layers, containerPath);
    if (known !== undefined && !known.files) return takeRoot(dir, known.root);
    const root = await this.open();
    const src = resolveInRoot(root, posix.normalize(containerPath), lstatOrNull, readlinkSync);
    const st = src === null ? null : statSync(src);
    if (src === null || st === null || !st.isDirectory()) return this.paths.set(this.layers, containerPath, { files: false, root: null });
    const owner = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
    if (readdirSync(src).length === 0) {
      this.paths.set(this.layers, containerPath, { files: false, root: owner });
      return takeRoot(dir, owner);
    }
    this.paths.set(this.layers, containerPath, { files: true });
    await this.sys.copyTree(src, dir);
    takeRoot(dir, owner);
  }

  private async open(): Promise<string> {
    if (this.merged !== null) return this.merged;
    const merged = join(this.scratch, 'merged');
    const upper = join(this.scratch, 'upper');
    const work = join(this.scratch, 'work');
    for (const d of [merged, upper, work]) mkdirSync(d, { recursive: true, mode: 0o700 });
    // An upper dir because overlayfs refuses a single lowerdir without one; nothing writes to it.
    await this.sys.mount('overlay', 'overlay', merged, `ro,lowerdir=${this.layers.join(':')},upperdir=${upper},workdir=${work}`);
    this.merged = merged;
    return merged;
  }

  async close(): Promise<void> {
    if (this.merged !== null) await this.sys.unmount(this.merged);
    this.merged = null;
    if (!this.sys.isMounted(join(this.scratch, 'merged'))) rmSync(this.scratch, { recursive: true, force: true });
  }
}
