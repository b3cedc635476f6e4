/**
 * Image layers mark deletions AUFS-style; overlayfs wants its own marks. Converts,
 * in an unpacked layer directory:
 *   `.wh.<name>`    → a 0:0 character device `<name>` (overlayfs whiteout)
 *   `.wh..wh..opq`  → xattr trusted.overlay.opaque=y on its directory
 *   other `.wh..wh.*` (AUFS bookkeeping) → removed
 * Node can make neither device nodes nor xattrs, hence mknod(1) and setfattr(1).
 */
import { lstat, readdir, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command';

const PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';

export interface WhiteoutCount {
  whiteouts: number;
  opaque: number;
}

export async function convertWhiteouts(root: string, signal?: AbortSignal): Promise<WhiteoutCount> {
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const touched = new Map<string, { atime: Date; mtime: Date }>();

  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.name.startsWith(PREFIX)) {
        if (!touched.has(dir)) {
          const st = await lstat(dir);
          touched.set(dir, { atime: st.atime, mtime: st.mtime });
        }
        if (entry.name === OPAQUE) opaque.push(dir);
        else if (!entry.name.startsWith(PREFIX + PREFIX)) whiteouts.push(join(dir, entry.name.slice(PREFIX.length)));
        await rm(path, { recursive: true, force: true });
      } else if (entry.isDirectory()) {
        await walk(path);
      }
    }
  };
  await walk(root);

  for (const path of whiteouts) {
    // A layer holding both a file and its whiteout is malformed; the whiteout wins, as in Docker.
    await rm(path, { recursive: true, force: true });
    await runCommand('mknod', ['-m', '000', path, 'c', '0', '0'], signal);
  }
  // setfattr takes many paths at once; batches keep the argument list bounded.
  for (let i = 0; i < opaque.length; i += 200) {
    await runCommand('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', '--', ...opaque.slice(i, i + 200)], signal);
  }
  // Removing the markers bumped their directories' mtimes; the image's times are what containers should see.
  for (const [dir, t] of touched) await utimes(dir, t.atime, t.mtime);
  return { whiteouts: whiteouts.length, opaque: opaque.length };
}
