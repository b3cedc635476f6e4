/**
 * The volumes' seam to the host: mount(8), umount(8), the mount table and cp(1). Volume options
 * name filesystems the way mount(8) does (`type: nfs`, `o: addr=…`), and only the command (with its
 * helpers such as mount.nfs) knows them all; the same command serves the tmpfs of secrets and the
 * read-only view of an image that copy-up reads. Unit tests pass a fake.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { VolumeMountError } from './errors';

export interface VolumeSys {
  /** `mount -t TYPE [-o OPTIONS] DEVICE DIR`; rejects with VolumeMountError holding the command's one line. */
  mount(type: string, device: string, dir: string, options: string): Promise<void>;
  /** Unmounts DIR (lazily when busy); not mounted is fine. */
  unmount(dir: string): Promise<void>;
  /** Whether a filesystem is mounted exactly at DIR. */
  isMounted(dir: string): boolean;
  /** Copies the contents of FROM into the directory TO with owners, modes, times, links and xattrs. */
  copyTree(from: string, to: string): Promise<void>;
}

/** A mount point as /proc/self/mountinfo writes it: space, tab, newline and backslash in octal. */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points of a mountinfo text (field 5), unescaped. */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && m !== '')
    .map(unescapeMountPath);
}

const TIMEOUT_MS = 60_000;

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: TIMEOUT_MS }, (err, _out, stderr) => {
      if (err === null) return done();
      const line = stderr.trim().split('\n')[0] || err.message;
      fail(new VolumeMountError(`${cmd} ${args.filter((a) => a !== '--').slice(-2).join(' ')}: ${line}`));
    });
  });
}

export function hostVolumeSys(): VolumeSys {
  const isMounted = (dir: string): boolean => mountPoints(readFileSync('/proc/self/mountinfo', 'utf8')).includes(resolve(dir));
  return {
    mount: (type, device, dir, options) => run('mount', ['-t', type, ...(options === '' ? [] : ['-o', options]), '--', device, dir]),
    isMounted,
    unmount: async (dir) => {
      if (!isMounted(dir)) return;
      try {
        await run('umount', ['--', dir]);
      } catch (e) {
        // Busy (a process of a container that is going away still has it open): detach it now,
        // the kernel frees it when the last user leaves.
        if (!isMounted(dir)) return;
        await run('umount', ['-l', '--', dir]).catch(() => {
          throw e;
        });
      }
    },
    copyTree: (from, to) => run('cp', ['-a', '--', `${from}/.`, `${to}/`]),
  };
}
