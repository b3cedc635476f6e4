/** What a test left behind, found by the temporary directory it used, and its removal. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** PIDs whose command line names `marker` (etcd, manager, agent, supervisor, shims). */
export function processesMentioning(marker: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Lines of this process's mount table that name `marker`. */
export function mountsMentioning(marker: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(marker));
}

/** The directories of a cgroup parent that exist: one on cgroup v2, one per controller hierarchy on v1. */
export function cgroupDirs(parent: string): string[] {
  const root = '/sys/fs/cgroup';
  const dirs = fs.existsSync(path.join(root, 'cgroup.controllers'))
    ? [path.join(root, parent)]
    : fs.readdirSync(root).map((c) => path.join(root, c, parent));
  return dirs.filter((d) => fs.existsSync(d));
}

/**
 * Kills (by PID) every process whose command line names `marker`, lazily unmounts every mount that
 * names it, and removes the cgroup parents with their children. What cannot be removed (still busy)
 * is left for the test's own checks to report.
 */
export function removeLeftovers(marker: string, cgroupParents: string[]): void {
  for (const pid of processesMentioning(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const line of mountsMentioning(marker).reverse()) {
    const mp = line.split(' ')[4];
    if (mp) spawnSync('umount', ['-l', mp]);
  }
  const rmdir = (p: string) => {
    try {
      fs.rmdirSync(p);
    } catch {
      // still busy
    }
  };
  for (const d of cgroupParents.flatMap(cgroupDirs)) {
    for (const sub of fs.readdirSync(d, { withFileTypes: true })) if (sub.isDirectory()) rmdir(path.join(d, sub.name));
    rmdir(d);
  }
}
