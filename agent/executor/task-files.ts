/**
 * A task's secrets and configs as files: one tmpfs per task on the host (so the bytes never reach a
 * disk), a file in it per reference with the reference's owner and mode, each bound read-only at
 * its target in the container (moby does the same: a tmpfs of the container's, one bind per file).
 * Secrets go to `/run/secrets/<name>` unless the name is an absolute path; configs to their target.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { ContainerSpec, FileTarget } from '../../shared/types';
import type { OciMount } from '../runtime/oci/spec-types';
import type { VolumeSys } from '../volumes/sys';
import { BlobNotFoundError, InvalidMountError } from './errors';
import type { TaskBlobs } from './task-blobs';

export const SECRETS_DIR = '/run/secrets';

/** One file of a task's tmpfs. */
export interface TaskFile {
  kind: 'secret' | 'config';
  /** The secret's or config's id, which TaskBlobs knows it by. */
  id: string;
  /** Its name, for errors. */
  name: string;
  /** Its file name in the task's tmpfs (the names in the spec may collide, or hold slashes). */
  hostName: string;
  /** Absolute path in the container. */
  target: string;
  uid: number;
  gid: number;
  mode: number;
}

function id(text: string, what: string, ref: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new InvalidMountError(`${ref}: ${what} ${JSON.stringify(text)} must be a numeric id`);
  return Number(text);
}

function targetOf(kind: 'secret' | 'config', f: FileTarget, ref: string): string {
  if (f.name === '' || f.name.includes('\0')) throw new InvalidMountError(`${ref}: invalid target ${JSON.stringify(f.name)}`);
  if (f.name.split('/').includes('..')) throw new InvalidMountError(`${ref}: target ${JSON.stringify(f.name)} must not contain ..`);
  const abs = f.name.startsWith('/') ? f.name : kind === 'secret' ? `${SECRETS_DIR}/${f.name}` : `/${f.name}`;
  const target = posix.normalize(abs);
  if (target === '/') throw new InvalidMountError(`${ref}: invalid target ${JSON.stringify(f.name)}`);
  return target;
}

/** The files a container spec's secrets and configs make, in spec order (secrets first). */
export function taskFileLayout(c: Pick<ContainerSpec, 'secrets' | 'configs'>): TaskFile[] {
  const refs = [
    ...c.secrets.map((s) => ({ kind: 'secret' as const, id: s.secretId, name: s.secretName, file: s.file })),
    ...c.configs.map((x) => ({ kind: 'config' as const, id: x.configId, name: x.configName, file: x.file })),
  ];
  return refs.map((r, i) => {
    const ref = `${r.kind} ${r.name}`;
    if (!Number.isInteger(r.file.mode) || r.file.mode < 0 || r.file.mode > 0o7777) throw new InvalidMountError(`${ref}: invalid file mode ${r.file.mode}`);
    return {
      kind: r.kind,
      id: r.id,
      name: r.name,
      hostName: `${r.kind}-${i}`,
      target: targetOf(r.kind, r.file, ref),
      uid: id(r.file.uid, 'uid', ref),
      gid: id(r.file.gid, 'gid', ref),
      mode: r.file.mode,
    };
  });
}

/**
 * The read-only binds of a task's files, from its tmpfs at `dir`. A secret is never executable
 * (moby's secrets tmpfs is noexec); a config may be, as in Docker, where a config with mode 0755 is
 * a common entrypoint script and the monitoring example's CGI.
 */
export function taskFileMounts(dir: string, files: readonly TaskFile[]): OciMount[] {
  return files.map((f) => ({
    destination: f.target,
    type: 'bind',
    source: join(dir, f.hostName),
    options: ['rbind', 'ro', 'rprivate', 'nosuid', 'nodev', ...(f.kind === 'secret' ? ['noexec'] : [])],
  }));
}

/** The per-task tmpfs of secrets and configs under one directory of the host (best under /run). */
export class TaskFiles {
  constructor(
    /** Directory it owns: `<root>/<task id>` is a task's tmpfs. */
    readonly root: string,
    private readonly sys: VolumeSys,
  ) {}

  dir(taskId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(taskId)) throw new InvalidMountError(`invalid task id ${JSON.stringify(taskId)}`);
    return join(this.root, taskId);
  }

  /**
   * Mounts the task's tmpfs, writes its files and returns their binds. Every blob is looked up before
   * anything is made, so a missing one leaves nothing behind.
   */
  async prepare(taskId: string, files: readonly TaskFile[], blobs: TaskBlobs): Promise<OciMount[]> {
    if (files.length === 0) return [];
    const bytes = files.map((f) => {
      const b = f.kind === 'secret' ? blobs.secret(f.id) : blobs.config(f.id);
      if (b === null) throw new BlobNotFoundError(f.kind, f.name);
      return b;
    });
    const dir = this.dir(taskId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Only root on the host may look in; containers see their own files through the binds.
    // Not noexec: a config may be a script; each secret's bind is noexec instead (taskFileMounts).
    if (!this.sys.isMounted(dir)) await this.sys.mount('tmpfs', 'tmpfs', dir, 'mode=0700,nosuid,nodev');
    files.forEach((f, i) => {
      const file = join(dir, f.hostName);
      writeFileSync(file, bytes[i] as Buffer, { mode: 0o600 });
      chownSync(file, f.uid, f.gid);
      // After the chown, which clears set-id bits; and not through the umask.
      chmodSync(file, f.mode);
    });
    return taskFileMounts(dir, files);
  }

  /** Unmounts and removes the task's tmpfs; nothing there is fine. */
  async release(taskId: string): Promise<void> {
    const dir = this.dir(taskId);
    await this.sys.unmount(dir);
    if (this.sys.isMounted(dir)) return;
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /** Tasks with a tmpfs here. */
  taskIds(): string[] {
    try {
      return readdirSync(this.root).sort();
    } catch {
      return [];
    }
  }
}
