/**
 * Cgroup v1 and v2 behind one interface. A container's cgroup is `<parent>/<id>`: in every
 * controller hierarchy we use on v1 (memory, cpu, cpuacct, pids, freezer), in the unified tree on v2.
 *
 * Everything here is plain file I/O under a configurable root, so both drivers are unit-tested on a
 * fake cgroupfs in a temp dir. Synchronous calls on purpose: they are a handful of tiny writes on the
 * container start path, where a thread-pool round trip each would cost more than the write.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeLimits } from './types';
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
  /** The directories `create` would make, without touching anything (recorded before creating). */
  plan(parent: string, id: string): CgroupSpec;
  /** Creates `<parent>/<id>` and applies the limits; on failure removes what it created. */
  create(parent: string, id: string, limits: RuntimeLimits): CgroupSpec;
  /** The `cgroup.procs` files a pid must be written to (the shim does it for PID 1). */
  procsFiles(spec: CgroupSpec): string[];
  addProcess(spec: CgroupSpec, pid: number): void;
  stats(spec: CgroupSpec): CgroupStats;
  /** Removes the directories, waiting (up to `timeoutMs`) for exiting processes to leave. */
  remove(spec: CgroupSpec, timeoutMs?: number): Promise<void>;
  /** Started when a container start begins, so a slow kernel step overlaps the rest (see v1). */
  prewarm?(): Promise<void>;
}

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
/** CFS period used for CPU limits on both versions (Docker's default). */
export const CPU_PERIOD_US = 100_000;

/** v2 when the root is itself a cgroup2 mount (it has `cgroup.controllers`), else v1. */
export function detectCgroupDriver(root: string = DEFAULT_CGROUP_ROOT): CgroupDriver {
  return existsSync(join(root, 'cgroup.controllers')) ? new CgroupV2Driver(root) : new CgroupV1Driver(root);
}

/** CFS quota for a nanoCpus limit: 1.5 CPUs = 150000us per 100000us. Never below the kernel's 1ms. */
export function cpuQuotaUs(nanoCpus: number): number {
  return Math.max(1000, Math.round((nanoCpus * CPU_PERIOD_US) / 1e9));
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

function write(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (e) {
    throw new CgroupError(`write ${JSON.stringify(value)} to ${file}: ${(e as Error).message}`, file, { cause: e });
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

/** Hierarchies joined on v1. cpuset is left out: it needs cpus/mems copied before anyone can join. */
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

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

  create(parent: string, id: string, limits: RuntimeLimits): CgroupSpec {
    checkCgroupName(parent, id);
    const h = this.hierarchies();
    const need = (c: V1Controller, why: string): string => {
      // A controller deduplicated away shares its directory with one that was kept.
      const alias = existsSync(join(this.root, c)) ? realpathSync(join(this.root, c)) : null;
      const dir = h.get(c) ?? [...h.values()].find((d) => alias !== null && realpathSync(d) === alias);
      if (dir === undefined) throw new CgroupError(`${why} needs the ${c} cgroup controller, which is not mounted`, join(this.root, c));
      return join(dir, parent, id);
    };
    const spec: CgroupSpec = { version: 1, dirs: [] };
    try {
      for (const dir of h.values()) {
        const cg = join(dir, parent, id);
        mkdirSync(join(dir, parent), { recursive: true });
        try {
          mkdirSync(cg);
        } catch (e) {
          throw new CgroupError(`mkdir ${cg}: ${(e as Error).message}`, cg, { cause: e });
        }
        spec.dirs.push(cg);
      }
      if (limits.memoryBytes !== null) write(join(need('memory', 'a memory limit'), 'memory.limit_in_bytes'), String(limits.memoryBytes));
      if (limits.nanoCpus !== null) {
        const cpu = need('cpu', 'a CPU limit');
        write(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
        write(join(cpu, 'cpu.cfs_quota_us'), String(cpuQuotaUs(limits.nanoCpus)));
      }
      if (limits.pids !== null) write(join(need('pids', 'a pids limit'), 'pids.max'), String(limits.pids));
    } catch (e) {
      for (const dir of spec.dirs.reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          // best effort: the original error is what matters
        }
      }
      throw e;
    }
    return spec;
  }

  procsFiles(spec: CgroupSpec): string[] {
    return spec.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  addProcess(spec: CgroupSpec, pid: number): void {
    for (const f of this.procsFiles(spec)) write(f, String(pid));
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

/** Controllers enabled for containers on v2 (those the root offers). */
const V2_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2 as const;
  constructor(private readonly root: string) {}

  private available(): Set<string> {
    const text = readOrNull(join(this.root, 'cgroup.controllers')) ?? '';
    return new Set(text.split(/\s+/).filter((c) => c !== ''));
  }

  /**
   * Creates `<parent>`, and makes limits in `<parent>/<id>` possible: they need the controllers enabled in the subtree_control of the root and
   * of every ancestor down to `<parent>`. Only missing ones are written: rewriting an enabled one is
   * harmless, but the write is skipped to keep the start path short.
   */
  private enableControllers(parent: string): void {
    const avail = this.available();
    const wanted = V2_CONTROLLERS.filter((c) => avail.has(c));
    let dir = this.root;
    const parts = parent.split('/').filter((p) => p !== '');
    for (let i = 0; i <= parts.length; i++) {
      if (wanted.length > 0) {
        const file = join(dir, 'cgroup.subtree_control');
        const enabled = new Set((readOrNull(file) ?? '').split(/\s+/));
        const missing = wanted.filter((c) => !enabled.has(c));
        if (missing.length > 0) write(file, missing.map((c) => `+${c}`).join(' '));
      }
      const next = parts[i];
      if (next === undefined) break;
      dir = join(dir, next);
      mkdirSync(dir, { recursive: true });
    }
  }

  plan(parent: string, id: string): CgroupSpec {
    checkCgroupName(parent, id);
    return { version: 2, dirs: [join(this.root, parent, id)] };
  }

  create(parent: string, id: string, limits: RuntimeLimits): CgroupSpec {
    checkCgroupName(parent, id);
    const avail = this.available();
    const need = (c: string, why: string): void => {
      if (!avail.has(c)) throw new CgroupError(`${why} needs the ${c} controller, which ${this.root} does not offer`, this.root);
    };
    if (limits.memoryBytes !== null) need('memory', 'a memory limit');
    if (limits.nanoCpus !== null) need('cpu', 'a CPU limit');
    if (limits.pids !== null) need('pids', 'a pids limit');
    this.enableControllers(parent);
    const cg = join(this.root, parent, id);
    try {
      mkdirSync(cg);
    } catch (e) {
      throw new CgroupError(`mkdir ${cg}: ${(e as Error).message}`, cg, { cause: e });
    }
    try {
      if (limits.memoryBytes !== null) write(join(cg, 'memory.max'), String(limits.memoryBytes));
      if (limits.nanoCpus !== null) write(join(cg, 'cpu.max'), `${cpuQuotaUs(limits.nanoCpus)} ${CPU_PERIOD_US}`);
      if (limits.pids !== null) write(join(cg, 'pids.max'), String(limits.pids));
    } catch (e) {
      try {
        rmdirSync(cg);
      } catch {
        // best effort: the original error is what matters
      }
      throw e;
    }
    return { version: 2, dirs: [cg] };
  }

  procsFiles(spec: CgroupSpec): string[] {
    return spec.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  addProcess(spec: CgroupSpec, pid: number): void {
    for (const f of this.procsFiles(spec)) write(f, String(pid));
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
