/**
 * A task's mounts as the runtime takes them (OCI mounts of host paths), from its container spec
 * (templates already expanded) and its image:
 *
 *   bind     the host path, checked (or made, with create_host_path) here, so a missing one fails
 *            the task with Docker's words rather than the runtime's
 *   volume   a named volume of this node (made on first use), or an anonymous one made for the task;
 *            a new, empty one gets the image's files at its target unless `nocopy`
 *   tmpfs    through the same builder as the service's `tmpfs:` key (oci/spec.ts tmpfsMount)
 *   image    each VOLUME of the image nothing else is mounted at: an anonymous volume, filled
 *   files    secrets and configs, bound read-only from the task's tmpfs (task-files.ts)
 *
 * Everything made here is found again by task id alone (releaseTaskMounts), so a task removed after
 * an agent restart, or one whose prepare failed half way, leaves nothing behind.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerSpec, Mount } from '../../shared/types';
import type { PreparedImage } from '../image/types';
import { tmpfsMount } from '../runtime/oci/spec';
import type { OciMount } from '../runtime/oci/spec-types';
import { cleanPath as clean, ImagePaths, ImageView } from '../volumes/copy-up';
import type { VolumeStore } from '../volumes/store';
import type { VolumeSys } from '../volumes/sys';
import { InvalidMountError, TaskError } from './errors';
import type { TaskBlobs } from './task-blobs';
import { taskFileLayout, type TaskFiles } from './task-files';

/** What a node gives its tasks' mounts; null in a controller that runs only self-contained tasks. */
export interface TaskStorage {
  volumes: VolumeStore;
  files: TaskFiles;
  blobs: TaskBlobs;
  sys: VolumeSys;
}

/** Docker's default propagation of binds and volumes on Linux. */
const DEFAULT_PROPAGATION = 'rprivate';

function invalid(type: string, why: string): InvalidMountError {
  return new InvalidMountError(`invalid mount config for type ${JSON.stringify(type)}: ${why}`);
}

/** A target Docker would take: absolute, not `/`. */
export function checkTarget(m: Pick<Mount, 'type' | 'target'>): void {
  if (!m.target.startsWith('/') || m.target.includes('\0')) throw invalid(m.type, `invalid mount path: '${m.target}' mount path must be absolute`);
  if (clean(m.target) === '/') throw invalid(m.type, 'invalid specification: destination can\'t be \'/\'');
}

/** The runtime-spec form of a bind (also of a volume, which is a bind of its directory). */
export function bindOptions(readOnly: boolean, propagation: string = DEFAULT_PROPAGATION): string[] {
  return ['rbind', ...(readOnly ? ['ro'] : []), propagation];
}

/** A bind's mount; its source must exist (or is made, with create_host_path). */
export function bindMount(m: Mount, exists: (p: string) => boolean = pathExists, mkdirp: (p: string) => void = mkdirAll): OciMount {
  checkTarget(m);
  if (!m.source.startsWith('/') || m.source.includes('\0')) throw invalid('bind', `invalid mount path: '${m.source}' mount path must be absolute`);
  if (!exists(m.source)) {
    if (m.bind?.createHostPath !== true) throw invalid('bind', `bind source path does not exist: ${m.source}`);
    mkdirp(m.source);
  }
  return { destination: m.target, type: 'bind', source: m.source, options: bindOptions(m.readOnly, m.bind?.propagation) };
}

/** A tmpfs entry of `mounts`, as the runtime's builder makes the service's `tmpfs:` ones. */
export function tmpfsOf(m: Mount): OciMount {
  checkTarget(m);
  return tmpfsMount({ target: m.target, sizeBytes: m.tmpfs?.sizeBytes ?? null, mode: m.tmpfs?.mode ?? null, options: m.readOnly ? ['ro'] : [] });
}

/**
 * The image's VOLUME paths that get an anonymous volume: those no mount, tmpfs, secret or config
 * of the task is at already (moby: a declared volume yields to a mount at its destination).
 */
export function imageVolumePaths(declared: readonly string[], c: Pick<ContainerSpec, 'mounts' | 'runtime'>, fileTargets: readonly string[]): string[] {
  const taken = new Set([...c.mounts.map((m) => m.target), ...c.runtime.tmpfs.map((t) => t.target), ...fileTargets].map(clean));
  const out: string[] = [];
  for (const p of declared) {
    const d = clean(p);
    if (!d.startsWith('/') || d === '/' || taken.has(d)) continue;
    taken.add(d);
    out.push(d);
  }
  return out;
}

function pathExists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function mkdirAll(p: string): void {
  mkdirSync(p, { recursive: true, mode: 0o755 });
}

/** What this node's images have at the paths volumes were filled from (one agent process per node). */
const knownImagePaths = new ImagePaths();

function needStorage(s: TaskStorage | null, what: string): TaskStorage {
  if (s === null) throw new TaskError(`${what}: this node has no volume store`);
  return s;
}

/** Makes what the task's mounts need and returns them, in spec order (buildSpec orders them by depth). */
export async function prepareTaskMounts(taskId: string, c: ContainerSpec, image: PreparedImage, storage: TaskStorage | null, signal: AbortSignal): Promise<OciMount[]> {
  const files = taskFileLayout(c);
  const imagePaths = imageVolumePaths(image.config.volumes ?? [], c, files.map((f) => f.target));
  let view: ImageView | null = null;
  const fill = (target: string) => async (dir: string): Promise<void> => {
    const s = needStorage(storage, 'copy-up');
    view ??= new ImageView(s.sys, image.layers, join(s.volumes.root, '.copyup', taskId), knownImagePaths);
    await view.copyInto(target, dir);
  };
  const out: OciMount[] = [];
  try {
    for (const m of c.mounts) {
      signal.throwIfAborted();
      if (m.type === 'bind') out.push(bindMount(m));
      else if (m.type === 'tmpfs') out.push(tmpfsOf(m));
      else {
        checkTarget(m);
        const s = needStorage(storage, `volume ${m.source || m.target}`);
        const dir = await s.volumes.mountForTask(taskId, {
          name: m.source === '' ? null : m.source,
          driver: m.volume?.driver ?? null,
          labels: m.volume?.labels ?? {},
          populate: m.volume?.noCopy === true ? null : fill(m.target),
        });
        out.push({ destination: m.target, type: 'bind', source: dir, options: bindOptions(m.readOnly) });
      }
    }
    for (const p of imagePaths) {
      signal.throwIfAborted();
      const s = needStorage(storage, `the image's volume ${p}`);
      const dir = await s.volumes.mountForTask(taskId, { name: null, driver: null, labels: {}, populate: fill(p) });
      out.push({ destination: p, type: 'bind', source: dir, options: bindOptions(false) });
    }
    if (files.length > 0) {
      const s = needStorage(storage, 'secrets and configs');
      out.push(...(await s.files.prepare(taskId, files, s.blobs)));
    }
  } finally {
    await (view as ImageView | null)?.close();
  }
  return out;
}

/** Releases what prepareTaskMounts made for the task: its tmpfs of files, its anonymous volumes, its claim on named ones. */
export async function releaseTaskMounts(taskId: string, storage: TaskStorage | null): Promise<void> {
  if (storage === null) return;
  let failure: unknown = null;
  await storage.files.release(taskId).catch((e: unknown) => (failure ??= e));
  await storage.volumes.releaseTask(taskId).catch((e: unknown) => (failure ??= e));
  if (failure !== null) throw failure;
}

/** Tasks that hold files or volumes on this node (with the runtime's containers: what may need removing). */
export async function tasksWithMounts(storage: TaskStorage): Promise<string[]> {
  return [...new Set([...storage.files.taskIds(), ...(await storage.volumes.taskIds())])].sort();
}
