/**
 * What the tests that drive the runtime and the data plane directly (runtime, overlay and ports
 * tests) share: a scratch directory with image layers and a cgroup parent of their own, container
 * configurations, commands and processes inside network namespace files, and the pieces of a
 * clean-up that reports everything it had to remove (each test runs them in its own order).
 */
import { defaultRuntimeSettings } from '../../../shared/types';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { detectCgroupDriver } from '../../../agent/runtime/cgroups';
import { umount } from '../../../agent/runtime/native';
import type { ContainerConfig, Runtime } from '../../../agent/runtime/types';
import type { HostAgent } from './netns-hosts';

/** Throws unless this runs as root with the addon built: `file` needs root to create `what`. */
export function requireRootAndAddon(file: string, what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${file} needs root: it creates ${what}`);
  const addonPath = resolve(__dirname, '..', '..', '..', '..', 'native', 'build', 'Release', 'tsswarm_native.node');
  if (!existsSync(addonPath)) throw new Error(`${addonPath} missing: run npm run build:native first`);
}

export interface Scratch {
  tmp: string;
  cgroupParent: string;
  /** A busybox root filesystem (fill it with makeBusyboxRootfs). */
  layer: string;
  /** A layer for web content on top of it. */
  webLayer: string;
}

/** A new scratch directory `/tmp/tsswarm-<name>-it-*` and a cgroup parent `<cgroupPrefix>-<random>`. */
export function makeScratch(name: string, cgroupPrefix: string): Scratch {
  const tmp = mkdtempSync(`/tmp/tsswarm-${name}-it-`);
  return { tmp, cgroupParent: `${cgroupPrefix}-${randomBytes(4).toString('hex')}`, layer: join(tmp, 'layer-busybox'), webLayer: join(tmp, 'layer-web') };
}

/** A container on the busybox layer, no limits, its log under the scratch dir; `over` changes any field. */
export function containerConfig(s: Scratch, id: string, args: string[], over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    id,
    lowerDirs: [s.layer],
    args,
    env: [],
    cwd: '/',
    user: null,
    hostname: id,
    limits: { memoryBytes: null, nanoCpus: null, pids: null },
    logPath: join(s.tmp, 'logs', `${id}.log`),
    log: { kind: 'file' },
    tty: false,
    openStdin: false,
    netns: null,
    files: [],
    runtime: defaultRuntimeSettings(),
    mounts: [],
    ...over,
  };
}

/** Mount points at or below `dir`, from this process's mount table. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Removes every container of the runtimes; failures go to `problems`. */
export async function removeContainers(runtimes: Runtime[], problems: string[]): Promise<void> {
  for (const r of runtimes) {
    for (const id of await r.list()) await r.remove(id).catch((e: unknown) => problems.push(`remove ${id}: ${String(e)}`));
  }
}

/** Detaches whatever is still mounted under `dir`, reporting each as a problem. */
export function unmountLeftovers(dir: string, problems: string[]): void {
  for (const m of mountsUnder(dir).reverse()) {
    problems.push(`leftover mount ${m}`);
    try {
      umount(m, 2 /* MNT_DETACH */);
    } catch (e) {
      problems.push(String(e));
    }
  }
}

/** The cgroup parent's directories in every hierarchy the runtime's driver uses. */
export function cgroupParentDirs(cgroupParent: string): string[] {
  // Every hierarchy the runtime joins, and every cgroup mount this process sees (the hybrid
  // cgroup2 one the v2 cases use included).
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => join(l.split(' ')[4] ?? '', cgroupParent));
  return [...new Set([...detectCgroupDriver().plan(cgroupParent, 'x').dirs.map((d) => dirname(d)), ...mounts])];
}

/** Removes these (empty) cgroup directories; absent is fine, anything else a problem. */
export function removeCgroupDirs(dirs: string[], problems: string[]): void {
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`rmdir ${dir}: ${String(e)}`);
    }
  }
}

/**
 * The data-plane tests' clean-up, in this order: the processes they started, their containers, the
 * HostNetwork helpers (closing removes the sandboxes they mounted), whatever is still mounted (a
 * problem), the namespaces, the cgroup parent and the scratch directory. Returns the problems.
 */
export async function cleanUpDataPlane(o: { ns: NsRunner; rt: Runtime; helpers: Array<HostAgent | null>; scratch: Scratch; deleteNamespaces: () => string[] }): Promise<string[]> {
  const problems: string[] = [];
  o.ns.stopAll();
  await removeContainers([o.rt], problems);
  for (const x of o.helpers) {
    if (x === null) continue;
    const code = await x.stop();
    if (code !== 0) problems.push(`helper in ${x.host.name} exited ${code}`);
  }
  unmountLeftovers(o.scratch.tmp, problems);
  problems.push(...o.deleteNamespaces());
  removeCgroupDirs(cgroupParentDirs(o.scratch.cgroupParent), problems);
  rmSync(o.scratch.tmp, { recursive: true, force: true });
  return problems;
}

/** Ends a process this test started, by PID, if it still runs. */
export function stop(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
}

/** Interface names inside a named network namespace, sorted. */
export function linksIn(h: { name: string }): string[] {
  const rows = JSON.parse(execFileSync('ip', ['-n', h.name, '-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>;
  return rows.map((r) => r.ifname).sort();
}

/** `nft list tables` inside a network namespace file. */
export function tablesIn(h: { nsPath: string }): string {
  return execFileSync('nsenter', [`--net=${h.nsPath}`, 'nft', 'list', 'tables'], { encoding: 'utf8' }).trim();
}

/**
 * Commands and processes inside network namespace files, and polling that says what last failed.
 * The members are arrow functions, so a test can take them apart: `const { inNs, eventually } = ns`.
 */
export class NsRunner {
  /** Output of the last failed inNs, for timeout messages. */
  private lastOutput = '';
  private readonly started: ChildProcess[] = [];

  constructor(private readonly defaultTimeoutMs: number) {}

  /** Runs a command inside a netns file; never throws, returns status and output. */
  readonly inNs = (nsPath: string, args: string[], timeoutMs = 5000): { ok: boolean; out: string } => {
    const r = spawnSync('nsenter', [`--net=${nsPath}`, ...args], { encoding: 'utf8', timeout: timeoutMs });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) this.lastOutput = `${args.join(' ')}: exit ${r.status}: ${out}`;
    return { ok: r.status === 0, out };
  };

  /** A process inside a netns that stopAll() (or stop()) ends by PID. */
  readonly startIn = (nsPath: string, args: string[]): ChildProcess => {
    const child = spawn('nsenter', [`--net=${nsPath}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.started.push(child);
    return child;
  };

  readonly stopAll = (): void => {
    for (const c of this.started) stop(c);
  };

  readonly eventually = async <T>(what: string, fn: () => T | null, timeoutMs = this.defaultTimeoutMs): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    this.lastOutput = '';
    for (;;) {
      const v = fn();
      if (v !== null) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${this.lastOutput}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
}

/** `key -> value` of every `key=value` line a container printed (the probes' output). */
export function logValues(log: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of log.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[\w-]+$/.test(line.slice(0, eq))) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** Polls `fn` every 50 ms until it gives something other than null (null: not yet). */
export async function eventually<T>(what: string, fn: () => T | null, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the container until it exits and removes it; its exit code. */
export async function runToEnd(rt: Runtime, c: ContainerConfig): Promise<number> {
  await rt.run(c);
  try {
    return (await rt.wait(c.id, AbortSignal.timeout(30_000))).exitCode;
  } finally {
    await rt.remove(c.id);
  }
}

/** A shell command printing `n` lines of exactly 100 bytes with their newline, "line <i>" padded, i from `from`: one awk, buffered as it likes. */
export const awkLines = (from: number, n: number): string => `awk 'BEGIN { for (i = ${from}; i < ${from + n}; i++) printf "%-99s\\n", "line " i }'`;
