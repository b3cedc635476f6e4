/**
 * The node's volumes (Docker's `local` driver, per node as in Swarm): named volumes made on first use
 * (or by `volume create`) and kept after their tasks, anonymous ones made for one task and removed
 * with it. The layout and the in-use rule are in records.ts. One agent process owns a root; calls
 * about one volume are serialised, so two tasks starting at once make and fill it once.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-write';
import { InvalidVolumeError, VolumeConflictError, VolumeDriverNotFoundError, VolumeInUseError, VolumeMountError, VolumeNotFoundError } from './errors';
import { LOCAL_DRIVER, localMountOf, validateLocalOptions } from './local-driver';
import {
  anonymousVolumeName,
  parseTaskVolumes,
  parseVolumeRecord,
  prunable,
  validateVolumeName,
  volumesInUse,
  withVolume,
  type TaskVolumes,
  type VolumeInfo,
  type VolumeRecord,
} from './records';
import type { VolumeSys } from './sys';

export interface VolumeStoreOptions {
  /** Directory the store owns (`<data-root>/agent/volumes`). */
  root: string;
  /** This node's hostname, for the error about a driver it does not have. */
  hostname: string;
  sys: VolumeSys;
  now?: () => Date;
}

/** What a task asks of a volume mount. */
export interface VolumeRequest {
  /** The volume's name; null for an anonymous volume made for the task. */
  name: string | null;
  /** Driver and options to make it with when it does not exist yet; null: `local`, no options. */
  driver: { name: string; options: Record<string, string> } | null;
  labels: Record<string, string>;
  /**
   * Fills a volume found empty (Docker's copy-up of the image's files at the mount point); runs
   * while no one else can touch the volume. null: leave it as it is (`nocopy`).
   */
  populate: ((dir: string) => Promise<void>) | null;
}

const ENOENT = 'ENOENT';

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === code;
}

export class VolumeStore {
  readonly root: string;
  private readonly tasksDir: string;
  private readonly sys: VolumeSys;
  private readonly hostname: string;
  private readonly now: () => Date;
  /** Tail of the work queued per volume name (and per task record). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(o: VolumeStoreOptions) {
    this.root = resolve(o.root);
    this.tasksDir = join(this.root, '.tasks');
    this.sys = o.sys;
    this.hostname = o.hostname;
    this.now = o.now ?? (() => new Date());
  }

  /** Where a volume's contents are. */
  mountpoint(name: string): string {
    return join(this.root, name, '_data');
  }

  async list(): Promise<VolumeInfo[]> {
    const inUse = volumesInUse(this.taskRecords());
    return this.names().map((n) => this.info(n, inUse));
  }

  async inspect(name: string): Promise<VolumeInfo> {
    validateVolumeName(name);
    if (!this.exists(name)) throw new VolumeNotFoundError(name);
    return this.info(name, volumesInUse(this.taskRecords()));
  }

  /**
   * `volume create`: makes the volume (and mounts its filesystem, if its options name one). A volume
   * of that name and driver that exists already is returned as it is, as Docker does.
   */
  async create(name: string, driver: string, options: Record<string, string>, labels: Record<string, string>): Promise<VolumeInfo> {
    validateVolumeName(name);
    return this.locked(name, async () => {
      await this.ensure(name, { name: driver, options }, labels, false);
      return this.info(name, volumesInUse(this.taskRecords()));
    });
  }

  /**
   * `volume rm`: refused while a task of this node mounts it. `force` makes a missing volume no
   * error; it never removes one in use.
   */
  async remove(name: string, o: { force: boolean }): Promise<void> {
    validateVolumeName(name);
    return this.locked(name, async () => {
      if (!this.exists(name)) {
        if (o.force) return;
        throw new VolumeNotFoundError(name);
      }
      const users = volumesInUse(this.taskRecords()).get(name) ?? [];
      if (users.length > 0) throw new VolumeInUseError(name, users);
      await this.destroy(name);
    });
  }

  /** `volume prune`: removes the volumes no task mounts (only anonymous ones unless `all`); returns their names. */
  async prune(o: { all: boolean }): Promise<string[]> {
    const removed: string[] = [];
    for (const name of prunable(await this.list(), o.all)) {
      await this.locked(name, async () => {
        // Checked again under the lock: a task may have taken it meanwhile.
        if (!this.exists(name) || (volumesInUse(this.taskRecords()).get(name) ?? []).length > 0) return;
        await this.destroy(name);
        removed.push(name);
      });
    }
    return removed.sort();
  }

  /**
   * A task's volume: made if missing (anonymous ones always), mounted if its filesystem is not,
   * filled if empty and asked to, and recorded as the task's. Returns its mount point.
   */
  async mountForTask(taskId: string, req: VolumeRequest): Promise<string> {
    const anonymous = req.name === null;
    const name = req.name ?? anonymousVolumeName();
    validateVolumeName(name);
    // Claimed before it is made, filled or mounted into anything: from here prune and rm leave it
    // alone. Outside the volume's lock, so the tasks sharing a volume write their records at once.
    const claimed = await this.claim(taskId, name, anonymous);
    try {
      return await this.locked(name, async () => {
        await this.ensure(name, req.driver, req.labels, anonymous);
        const dir = this.mountpoint(name);
        if (req.populate !== null && readdirSync(dir).length === 0) await req.populate(dir);
        return dir;
      });
    } catch (e) {
      // A named volume stays as it was, so does not stay claimed; an anonymous one goes with the task.
      if (claimed && !anonymous) await this.unclaim(taskId, name).catch(() => undefined);
      throw e;
    }
  }

  /** The task is gone: its anonymous volumes are removed, its named ones are free again. */
  async releaseTask(taskId: string): Promise<void> {
    const rec = this.taskRecord(taskId);
    if (rec === null) return;
    for (const name of rec.anonymous) {
      await this.locked(name, async () => {
        // Another task cannot mount a volume made for this one; only this record names it.
        if (this.exists(name)) await this.destroy(name);
      });
    }
    await this.lockedRecord(taskId, async () => rmSync(this.taskFile(taskId), { force: true }));
  }

  /**
   * Unmounts every volume's filesystem, keeping the data and records (the next use mounts it again):
   * for `agent --cleanup` before its data root goes, so nothing removes files through a mount.
   */
  async unmountAll(): Promise<void> {
    for (const name of this.names()) await this.locked(name, () => this.sys.unmount(this.mountpoint(name)));
  }

  /** Tasks that hold volumes here: with the runtime's containers, what the executor reconciles. */
  async taskIds(): Promise<string[]> {
    return this.taskRecords().map((t) => t.taskId).sort();
  }

  // --- below: called with the volume's lock held

  private async ensure(name: string, driver: VolumeRequest['driver'], labels: Record<string, string>, anonymous: boolean): Promise<void> {
    const driverName = driver?.name || LOCAL_DRIVER;
    if (this.exists(name)) {
      const rec = this.record(name);
      if (driver !== null && driver.name !== '' && driverName !== rec.driver) {
        throw new VolumeConflictError(`volume ${name} already exists with driver ${JSON.stringify(rec.driver)}, not ${JSON.stringify(driverName)}`);
      }
      await this.mountIfNeeded(rec);
      return;
    }
    if (driverName !== LOCAL_DRIVER) throw new VolumeDriverNotFoundError(driverName, this.hostname);
    const options = { ...(driver?.options ?? {}) };
    validateLocalOptions(options);
    for (const [k, v] of Object.entries(labels)) if (k === '' || k.includes('\0') || v.includes('\0')) throw new InvalidVolumeError(`invalid label ${JSON.stringify(k)}`);
    const rec: VolumeRecord = { v: 1, name, driver: LOCAL_DRIVER, options, labels: { ...labels }, createdAt: this.now().toISOString(), anonymous };
    const dir = join(this.root, name);
    mkdirSync(this.root, { recursive: true, mode: 0o701 });
    mkdirSync(dir, { mode: 0o701 });
    try {
      mkdirSync(this.mountpoint(name), { mode: 0o755 });
      await this.mountIfNeeded(rec);
      // Written last: a volume whose filesystem could not be mounted does not appear.
      await writeFileAtomic(join(dir, 'volume.json'), JSON.stringify(rec, null, 2) + '\n');
    } catch (e) {
      await this.sys.unmount(this.mountpoint(name)).catch(() => undefined);
      if (!this.sys.isMounted(this.mountpoint(name))) rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Its filesystem, if its options name one, mounted at `_data` (again, after a reboot). */
  private async mountIfNeeded(rec: VolumeRecord): Promise<void> {
    const m = localMountOf(rec.options);
    const dir = this.mountpoint(rec.name);
    if (m === null || this.sys.isMounted(dir)) return;
    await this.sys.mount(m.type, m.device, dir, m.options);
  }

  private async destroy(name: string): Promise<void> {
    const dir = this.mountpoint(name);
    await this.sys.unmount(dir);
    // rm would follow into a mounted filesystem (a bound host directory, an NFS export): never.
    if (this.sys.isMounted(dir)) throw new VolumeMountError(`volume ${name}: ${dir} is still mounted`);
    rmSync(join(this.root, name), { recursive: true, force: true });
  }

  // --- reading the layout

  private exists(name: string): boolean {
    try {
      return statSync(join(this.root, name, '_data')).isDirectory();
    } catch {
      return false;
    }
  }

  private names(): string[] {
    let entries;
    try {
      entries = readdirSync(this.root, { withFileTypes: true });
    } catch (e) {
      if (isErrno(e, ENOENT)) return [];
      throw e;
    }
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && this.exists(e.name)).map((e) => e.name).sort();
  }

  private record(name: string): VolumeRecord {
    let text: string | null = null;
    try {
      text = readFileSync(join(this.root, name, 'volume.json'), 'utf8');
    } catch {
      // a directory left without its record (a crash while it was made): a plain local volume
    }
    const parsed = text === null ? null : parseVolumeRecord(text, name);
    if (parsed !== null) return parsed;
    let createdAt = '';
    try {
      createdAt = statSync(join(this.root, name)).birthtime.toISOString();
    } catch {
      // gone meanwhile
    }
    return { v: 1, name, driver: LOCAL_DRIVER, options: {}, labels: {}, createdAt, anonymous: false };
  }

  private info(name: string, inUse: Map<string, string[]>): VolumeInfo {
    const r = this.record(name);
    return { name, driver: r.driver, options: r.options, labels: r.labels, mountpoint: this.mountpoint(name), createdAt: r.createdAt, anonymous: r.anonymous, inUse: inUse.get(name) ?? [] };
  }

  private taskFile(taskId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(taskId)) throw new InvalidVolumeError(`invalid task id ${JSON.stringify(taskId)}`);
    return join(this.tasksDir, `${taskId}.json`);
  }

  private taskRecord(taskId: string): TaskVolumes | null {
    try {
      return parseTaskVolumes(readFileSync(this.taskFile(taskId), 'utf8'), taskId);
    } catch (e) {
      if (isErrno(e, ENOENT)) return null;
      throw e;
    }
  }

  private taskRecords(): TaskVolumes[] {
    let files: string[];
    try {
      files = readdirSync(this.tasksDir);
    } catch (e) {
      if (isErrno(e, ENOENT)) return [];
      throw e;
    }
    const out: TaskVolumes[] = [];
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      const r = this.taskRecord(f.slice(0, -'.json'.length));
      if (r !== null) out.push(r);
    }
    return out;
  }

  /** Adds the volume to the task's record; false when it named it already. */
  private claim(taskId: string, name: string, anonymous: boolean): Promise<boolean> {
    return this.lockedRecord(taskId, async () => {
      const cur = this.taskRecord(taskId) ?? { v: 1 as const, taskId, volumes: [], anonymous: [] };
      if (cur.volumes.includes(name)) return false;
      await this.writeTaskRecord(withVolume(cur, name, anonymous));
      return true;
    });
  }

  private unclaim(taskId: string, name: string): Promise<void> {
    return this.lockedRecord(taskId, async () => {
      const cur = this.taskRecord(taskId);
      if (cur === null) return;
      const volumes = cur.volumes.filter((v) => v !== name);
      if (volumes.length === 0 && cur.anonymous.length === 0) rmSync(this.taskFile(taskId), { force: true });
      else await this.writeTaskRecord({ ...cur, volumes });
    });
  }

  private async writeTaskRecord(t: TaskVolumes): Promise<void> {
    mkdirSync(this.tasksDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.taskFile(t.taskId), JSON.stringify(t) + '\n');
  }

  private locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.queue(`volume:${name}`, fn);
  }

  private lockedRecord<T>(taskId: string, fn: () => Promise<T>): Promise<T> {
    return this.queue(`task:${taskId}`, fn);
  }

  private queue<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}
