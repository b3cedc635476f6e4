/** The host facts the spec builder asks for (spec.ts HostFacts), read off this machine. */
import { lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { HostDevice, HostFacts } from './spec';
import { ALL_CAPABILITIES } from '../../../shared/capabilities';

/** Linux's dev_t split (glibc's gnu_dev_major / gnu_dev_minor). */
export function splitDev(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

function deviceAt(path: string, follow: boolean): HostDevice | null {
  let st;
  try {
    st = follow ? statSync(path) : lstatSync(path);
  } catch {
    return null;
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : null;
  if (type === null) return null;
  return { type, ...splitDev(st.rdev), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** Every device node under /dev, as `privileged` containers get them (not the pts / shm / mqueue mounts). */
function allDevices(dir = '/dev'): { path: string; device: HostDevice }[] {
  const out: { path: string; device: HostDevice }[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!['/dev/pts', '/dev/shm', '/dev/mqueue'].includes(path)) out.push(...allDevices(path));
      continue;
    }
    const d = deviceAt(path, false);
    // /dev/console and /dev/ptmx are the container's own.
    if (d !== null && path !== '/dev/console' && path !== '/dev/ptmx') out.push({ path, device: d });
  }
  return out;
}

const CAP_SYS_RESOURCE = 24;

/**
 * 1048576 (Docker's default on systemd hosts) where this process may raise the limit that far, else
 * its own hard limit: without CAP_SYS_RESOURCE (the agent in a container of its own) a higher
 * default would fail every start.
 */
export function maxOpenFiles(status = readOr('/proc/self/status'), limits = readOr('/proc/self/limits'), nrOpen = readOr('/proc/sys/fs/nr_open')): number {
  const want = Math.min(1048576, Number(nrOpen.trim()) || 1048576);
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (eff !== undefined && (BigInt(`0x${eff}`) >> BigInt(CAP_SYS_RESOURCE)) & 1n) return want;
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
  if (hard === undefined || hard === 'unlimited') return want;
  return Math.min(want, Number(hard));
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** This process's bounding set by name, from /proc/self/status. */
export function boundingCapabilities(status = readOr('/proc/self/status')): string[] {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (hex === undefined) return [...ALL_CAPABILITIES];
  const bits = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_c, i) => (bits >> BigInt(i)) & 1n);
}

export function hostFacts(initBinary: string): HostFacts {
  return {
    arch: process.arch,
    kernel: release(),
    device: (path) => deviceAt(path, true),
    allDevices: () => allDevices(),
    initBinary,
    maxOpenFiles: maxOpenFiles(),
    boundingCapabilities: boundingCapabilities(),
  };
}
