/**
 * The files in a container's state dir, and how their contents become a ContainerInfo. Any process
 * can read them, so inspect / wait / remove work after the agent restarted.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { CgroupSpec } from './cgroups';
import type { ContainerInfo } from './types';

/** runtime.json: written by the runtime before it creates anything outside the state dir. */
export interface RuntimeRecord {
  id: string;
  createdAt: string;
  cgroup: CgroupSpec;
  logPath: string;
}

/** state.json, written by the shim (see native/src/shim.cc, stateJson). */
export interface ShimState {
  status: 'running' | 'exited';
  shimPid: number;
  /** Start times in clock ticks since boot (/proc/<pid>/stat field 22): pid + start time = one process. */
  shimStartTime: number;
  pid: number;
  pidStartTime: number;
  exitCode: number | null;
  /** Signal number, 0 when PID 1 exited normally. */
  signal: number | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function int(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

export function parseShimState(text: string): ShimState | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v) || (v['status'] !== 'running' && v['status'] !== 'exited')) return null;
  const shimPid = int(v['shimPid']);
  const pid = int(v['pid']);
  if (shimPid === null || pid === null) return null;
  return {
    status: v['status'],
    shimPid,
    shimStartTime: int(v['shimStartTime']) ?? 0,
    pid,
    pidStartTime: int(v['pidStartTime']) ?? 0,
    exitCode: int(v['exitCode']),
    signal: int(v['signal']),
  };
}

export function parseRuntimeRecord(text: string): RuntimeRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v) || typeof v['id'] !== 'string' || !isObject(v['cgroup'])) return null;
  const cg = v['cgroup'];
  const dirs = cg['dirs'];
  if ((cg['version'] !== 1 && cg['version'] !== 2) || !Array.isArray(dirs) || !dirs.every((d) => typeof d === 'string')) return null;
  return {
    id: v['id'],
    createdAt: typeof v['createdAt'] === 'string' ? v['createdAt'] : '',
    cgroup: { version: cg['version'], dirs: dirs as string[] },
    logPath: typeof v['logPath'] === 'string' ? v['logPath'] : '',
  };
}

export function readFileOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Start time of a live process in clock ticks, or null when there is no such process. */
export function processStartTime(pid: number): number | null {
  const text = readFileOrNull(`/proc/${pid}/stat`);
  if (text === null) return null;
  // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : null;
}

/** True when `pid` is alive and is the process that started at `startTime`. */
export type IsSameProcess = (pid: number, startTime: number) => boolean;

export const isSameProcess: IsSameProcess = (pid, startTime) => pid > 0 && processStartTime(pid) === startTime;

const signalNames = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, n]): [number, string] => [n, name]),
);

export function signalName(n: number): string {
  return signalNames.get(n) ?? `SIG${n}`;
}

/**
 * What a state dir says. A shim that died without recording an exit (OOM-killed, SIGKILLed)
 * leaves "running" behind: then PID 1 itself decides, and when it is gone too the exit code is
 * unknown (null).
 */
export function toContainerInfo(id: string, state: ShimState | null, starting: boolean, alive: IsSameProcess): ContainerInfo {
  if (state === null) {
    return { id, status: starting ? 'running' : 'exited', pid: null, shimPid: null, exitCode: null, signal: null };
  }
  if (state.status === 'exited') {
    const sig = state.signal !== null && state.signal > 0 ? signalName(state.signal) : null;
    return { id, status: 'exited', pid: null, shimPid: null, exitCode: state.exitCode, signal: sig };
  }
  const shimAlive = alive(state.shimPid, state.shimStartTime);
  if (shimAlive || alive(state.pid, state.pidStartTime)) {
    return { id, status: 'running', pid: state.pid, shimPid: shimAlive ? state.shimPid : null, exitCode: null, signal: null };
  }
  return { id, status: 'exited', pid: null, shimPid: null, exitCode: null, signal: null };
}
