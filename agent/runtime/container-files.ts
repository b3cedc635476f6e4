/**
 * Writes files into a container's mounted root filesystem (they land in its
 * upper layer) without ever following a symlink the image put there: an image
 * whose /etc is a link to /host-path must not make the agent write outside
 * the container.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidContainerConfigError } from './errors';

export function writeContainerFiles(rootfs: string, files: { path: string; content: string }[]): void {
  for (const f of files) {
    const parts = f.path.split('/').filter(Boolean);
    let dir = rootfs;
    for (const p of parts.slice(0, -1)) {
      dir = join(dir, p);
      let st;
      try {
        st = lstatSync(dir);
      } catch {
        mkdirSync(dir, { mode: 0o755 });
        continue;
      }
      if (!st.isDirectory()) throw new InvalidContainerConfigError(`cannot write ${f.path}: ${dir.slice(rootfs.length)} in the image is not a directory`, 'files');
    }
    const target = join(dir, parts[parts.length - 1]!);
    try {
      if (lstatSync(target).isSymbolicLink()) unlinkSync(target);
    } catch {
      // absent: fine
    }
    const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, f.content);
    } finally {
      closeSync(fd);
    }
  }
}
