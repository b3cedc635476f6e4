/**
 * Cgroup v1 and v2 behind one interface: what the agent does with a container's cgroup itself.
 * A container's cgroup is `<parent>/<id>`: in every mounted hierarchy on v1, in the unified tree on
 * v2. The runtime makes it, with the limits and device rules (native/src/cgroup.cc); the agent finds
 * its directories (plan), reads its figures (stats) and removes them after the container (remove).
 *
 * Plain file I/O under a configurable root, so both drivers are unit-tested on a fake cgroupfs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupError } from './errors';

/** What is persisted in the container's state dir so any later process can remove it. */
export interface CgroupSpec {
  version: 1 | 2;
  /** Every directory of this container's cgroup (one per hierarchy on v1, one on v2). */
  dirs: string[];
}

export interface CgroupStats {
  memoryBytes: number | null;
  pids: number | null;
  cpuNanos: number | null;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** The directories of `<parent>/<id>`, without touching anything. */
  plan(parent: string, id: string): CgroupSpec;
  stats(spec: CgroupSpec): CgroupStats;
  /** Removes the directories, waiting (up to `timeoutMs`) for exiting processes to leave. */
  remove(spec: CgroupSpec, timeoutMs?: number): Promise<void>;
  /** Started when a container start begins, so a slow kernel step overlaps the rest (see v1). */
  prewarm?(): Promise<void>;
}

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
/** v2 when the root is itself a cgroup2 mount (it has `cgroup.controllers`), else v1. */
export function detectCgroupDriver(root: string = DEFAULT_CGROUP_ROOT): CgroupDriver {
  return existsSync(join(root, 'cgroup.controllers')) ? new CgroupV2Driver(root) : new CgroupV1Driver(root);
}

/** Rejects parent / id values that could escape the cgroup tree. */
export function checkCgroupName(parent: string, id: string): void {
  const parts = parent.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..')) {
    throw new CgroupError(`invalid cgroup parent ${JSON.stringify(parent)}`, parent);
  }
  if (id === '' || id === '.' || id === '..' || id.includes('/')) {
    throw new CgroupError(`invalid cgroup name ${JSON.stringify(id)}`, id);
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function numberOrNull(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * rmdir every dir; EBUSY means processes are still leaving (PID 1 is reaped before the rest of its
 * namespace has finished dying), so retry. If they linger past a quarter of the timeout, they are
 * stragglers of this container and get SIGKILL.
 */
async function removeDirs(dirs: string[], timeoutMs: number, killRemaining: (dir: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const killAt = Date.now() + timeoutMs / 4;
  let killed = false;
  let pending = [...dirs];
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const still: string[] = [];
    for (const dir of pending) {
      try {
        rmdirSync(dir);
      } catch (e) {
        const code = errCode(e);
        if (code === 'ENOENT') continue;
        if (code !== 'EBUSY') throw new CgroupError(`rmdir ${dir}: ${(e as Error).message}`, dir, { cause: e });
        still.push(dir);
      }
    }
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new CgroupError(`cgroup ${pending.join(', ')} still busy after ${timeoutMs}ms`, pending[0] ?? '');
    if (!killed && Date.now() > killAt) {
      killed = true;
      for (const dir of pending) killRemaining(dir);
    }
    await sleep(delay);
  }
}

function killProcsIn(dir: string): void {
  const text = readOrNull(join(dir, 'cgroup.procs')) ?? '';
  for (const line of text.split('\n')) {
    const pid = Number(line);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}


export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1 as const;
  constructor(private readonly root: string) {}

  /**
   * Moving a process into a v1 cgroup takes cgroup_threadgroup_rwsem for writing; the first
   * writer after a quiet spell waits a whole RCU grace period (5-10 ms) and writers soon after
   * it do not. The shim's cgroup.procs writes are on the start path, so a start first writes
   * this process's own pid to the cgroup it already is in (a no-op move that takes the same
   * lock) from libuv's thread pool: the grace period passes while the rest of the start runs.
   */
  async prewarm(): Promise<void> {
    const line = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => /^\d+:pids:/.test(l));
    if (!line) return;
    const procs = join(this.root, 'pids', line.slice(line.indexOf(':pids:') + 6), 'cgroup.procs');
    await writeFile(procs, String(process.pid), { flag: 'r+' }); // never create a file in a fake tree
  }

  /**
   * Mounted hierarchies, deduplicated (`cpu` and `cpuacct` are often one `cpu,cpuacct` mount): every
   * directory of the root with a cgroup.procs that is not a cgroup2 mount, as the runtime's shim joins
   * them (native/src/cgroup.cc V1Hierarchies). Keyed by directory name.
   */
  private hierarchies(): Map<string, string> {
    const out = new Map<string, string>();
    const seen = new Set<string>();
    let names: string[] = [];
    try {
      names = readdirSync(this.root).sort();
    } catch {
      return out;
    }
    for (const c of names) {
      const dir = join(this.root, c);
      if (!existsSync(join(dir, 'cgroup.procs')) || existsSync(join(dir, 'cgroup.controllers'))) continue;
      const real = realpathSync(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      out.set(c, dir);
    }
    return out;
  }

  plan(parent: string, id: string): CgroupSpec {
    checkCgroupName(parent, id);
    return { version: 1, dirs: [...this.hierarchies().values()].map((d) => join(d, parent, id)) };
  }

  stats(spec: CgroupSpec): CgroupStats {
    const find = (file: string): string | null => {
      for (const d of spec.dirs) {
        const t = readOrNull(join(d, file));
        if (t !== null) return t;
      }
      return null;
    };
    return {
      memoryBytes: numberOrNull(find('memory.usage_in_bytes')),
      pids: numberOrNull(find('pids.current')),
      cpuNanos: numberOrNull(find('cpuacct.usage')),
    };
  }

  remove(spec: CgroupSpec, timeoutMs = 5000): Promise<void> {
    return removeDirs(spec.dirs, timeoutMs, killProcsIn);
  }
}


export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2 as const;
  constructor(private readonly root: string) {}

  plan(parent: string, id: string): CgroupSpec {
    checkCgroupName(parent, id);
    return { version: 2, dirs: [join(this.root, parent, id)] };
  }

  stats(spec: CgroupSpec): CgroupStats {
    const dir = spec.dirs[0];
    if (dir === undefined) return { memoryBytes: null, pids: null, cpuNanos: null };
    const usage = /^usage_usec (\d+)$/m.exec(readOrNull(join(dir, 'cpu.stat')) ?? '')?.[1];
    return {
      memoryBytes: numberOrNull(readOrNull(join(dir, 'memory.current'))),
      pids: numberOrNull(readOrNull(join(dir, 'pids.current'))),
      cpuNanos: usage === undefined ? null : Number(usage) * 1000,
    };
  }

  remove(spec: CgroupSpec, timeoutMs = 5000): Promise<void> {
    return removeDirs(spec.dirs, timeoutMs, (dir) => {
      // cgroup.kill (5.14+) kills the whole subtree atomically; older kernels: one pid at a time.
      if (existsSync(join(dir, 'cgroup.kill'))) {
        try {
          writeFileSync(join(dir, 'cgroup.kill'), '1');
          return;
        } catch {
          // fall through
        }
      }
      killProcsIn(dir);
    });
  }
}
