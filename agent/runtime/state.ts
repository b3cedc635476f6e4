/**
 * The files in a container's state dir, and how their contents become a ContainerInfo. Any process
 * can read them, so inspect / wait / remove work after the agent restarted.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { ContainerInfo } from './types';

/**
 * state.json, written by the runtime's shim (native/src/state.h): the runtime-spec's state plus the
 * shim's pid, start times that pin the pids, the cgroup it made and the exit status.
 */
export interface ShimState {
  status: 'creating' | 'created' | 'running' | 'stopped';
  shimPid: number;
  /** Start times in clock ticks since boot (/proc/<pid>/stat field 22): pid + start time = one process. */
  shimStartTime: number;
  pid: number;
  pidStartTime: number;
  exitCode: number | null;
  /** Signal number, 0 when PID 1 exited normally. */
  signal: number | null;
  /** The container's cgroup directories (every v1 hierarchy, or the one v2 directory). */
  cgroupDirs: string[];
}

const STATUSES = ['creating', 'created', 'running', 'stopped'] as const;

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
  if (!isObject(v)) return null;
  const status = STATUSES.find((x) => x === v['status']);
  const shimPid = int(v['shimPid']);
  const pid = int(v['pid']);
  if (status === undefined || shimPid === null || pid === null) return null;
  const cg = isObject(v['cgroup']) ? v['cgroup'] : {};
  const dirs = Array.isArray(cg['dirs']) ? cg['dirs'].filter((d): d is string => typeof d === 'string') : [];
  return {
    status,
    shimPid,
    shimStartTime: int(v['shimStartTime']) ?? 0,
    pid,
    pidStartTime: int(v['pidStartTime']) ?? 0,
    exitCode: int(v['exitCode']),
    signal: int(v['signal']),
    cgroupDirs: dirs,
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
 * unknown (null). "creating" and "created" are moments of a start (the agent starts at once).
 */
export function toContainerInfo(id: string, state: ShimState | null, starting: boolean, alive: IsSameProcess): ContainerInfo {
  const gone: ContainerInfo = { id, status: 'exited', pid: null, shimPid: null, exitCode: null, signal: null };
  if (state === null || state.status === 'creating') {
    const shimAlive = state !== null && alive(state.shimPid, state.shimStartTime);
    return starting || shimAlive ? { ...gone, status: 'running' } : gone;
  }
  if (state.status === 'stopped') {
    const sig = state.signal !== null && state.signal > 0 ? signalName(state.signal) : null;
    return { ...gone, exitCode: state.exitCode, signal: sig };
  }
  const shimAlive = alive(state.shimPid, state.shimStartTime);
  if (shimAlive || alive(state.pid, state.pidStartTime)) {
    return { id, status: 'running', pid: state.pid, shimPid: shimAlive ? state.shimPid : null, exitCode: null, signal: null };
  }
  return gone;
}

/** Whether the cgroup is frozen: v1 freezer.state FROZEN, v2 cgroup.events `frozen 1` (native/src/cgroup.cc CgroupFrozen). */
export function isFrozen(cgroupDirs: readonly string[]): boolean {
  for (const d of cgroupDirs) {
    const v1 = readFileOrNull(`${d}/freezer.state`);
    if (v1 !== null) return v1.trim() === 'FROZEN';
    const v2 = readFileOrNull(`${d}/cgroup.events`);
    if (v2 !== null) return /^frozen 1$/m.test(v2);
  }
  return false;
}
