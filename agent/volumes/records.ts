/**
 * What the volume store keeps on disk besides the data, and the pure rules read from it:
 *
 *   <root>/<name>/volume.json   VolumeRecord: driver, options, labels, created, anonymous
 *   <root>/<name>/_data         the volume's contents (or the mount point of its filesystem)
 *   <root>/.tasks/<task>.json   TaskVolumes: the volumes a task of this node mounts
 *
 * "In use" is the task files: written before a task's container can start, removed when the task is
 * released, so an agent that restarts (its containers live on) still knows which volumes are taken.
 */
import { randomBytes } from 'node:crypto';
import { InvalidVolumeError } from './errors';

export interface VolumeRecord {
  v: 1;
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  createdAt: string;
  /** Made for one task (a volume mount without a source, an image's VOLUME) and removed with it. */
  anonymous: boolean;
}

export interface TaskVolumes {
  v: 1;
  taskId: string;
  /** Every volume the task mounts, anonymous ones included. */
  volumes: string[];
  /** The anonymous volumes made for it: removed when it is released. */
  anonymous: string[];
}

/** What `volume ls` / `volume inspect` show: the one shape the manager records and the CLI prints. */
export type { VolumeInfo } from '../../shared/types';
import type { VolumeInfo } from '../../shared/types';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

/** Docker's local volume names: two or more of [A-Za-z0-9_.-], not starting with a punctuation mark. */
export function validateVolumeName(name: string): void {
  if (name.length < 2) throw new InvalidVolumeError(`volume name ${JSON.stringify(name)} is too short, names should be at least two alphanumeric characters`);
  if (!NAME_RE.test(name)) {
    throw new InvalidVolumeError(`${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/** An anonymous volume's name: 64 hex digits, as Docker names them. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A volume.json; null when it is not one (the volume then reads as a plain local directory). */
export function parseVolumeRecord(text: string, name: string): VolumeRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v) || v['name'] !== name) return null;
  return {
    v: 1,
    name,
    driver: typeof v['driver'] === 'string' ? v['driver'] : 'local',
    options: stringMap(v['options']),
    labels: stringMap(v['labels']),
    createdAt: typeof v['createdAt'] === 'string' ? v['createdAt'] : '',
    anonymous: v['anonymous'] === true,
  };
}

export function parseTaskVolumes(text: string, taskId: string): TaskVolumes | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v) || v['taskId'] !== taskId) return null;
  return { v: 1, taskId, volumes: strings(v['volumes']), anonymous: strings(v['anonymous']) };
}

/** Volume name → the tasks that mount it (sorted), from every task's record. */
export function volumesInUse(tasks: readonly TaskVolumes[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of tasks) {
    for (const name of new Set(t.volumes)) {
      const ids = out.get(name) ?? [];
      ids.push(t.taskId);
      out.set(name, ids);
    }
  }
  for (const ids of out.values()) ids.sort();
  return out;
}

/**
 * What `volume prune` removes: volumes no task mounts; with `all` false only anonymous ones
 * (Docker 23 and later: named volumes need `--all`).
 */
export function prunable(volumes: readonly VolumeInfo[], all: boolean): string[] {
  return volumes.filter((v) => v.inUse.length === 0 && (all || v.anonymous)).map((v) => v.name);
}

/** A task's record with one more volume (and, for one made for it, one more anonymous volume). */
export function withVolume(t: TaskVolumes, name: string, anonymous: boolean): TaskVolumes {
  return {
    ...t,
    volumes: t.volumes.includes(name) ? [...t.volumes] : [...t.volumes, name],
    anonymous: anonymous && !t.anonymous.includes(name) ? [...t.anonymous, name] : [...t.anonymous],
  };
}
