/**
 * The native Runtime. Starting a container is one fixed sequence; each step that creates something
 * outside this process pushes its undo, and a failure anywhere runs the undos in reverse:
 *
 *   1. claim `<root>/<id>/` (mkdir fails if the id exists), make upper/ work/ rootfs/
 *   2. mount the overlay rootfs, write the container's files (resolv.conf, hosts) into it
 *   3. resolve the user against the image's /etc/passwd, build config.json (oci/spec.ts)
 *   4. `tsswarm-runtime run --detach`: its shim makes the cgroup, clones PID 1 and reports exec or
 *      the failed step (see native/src/shim.cc and container.cc); on failure it undoes its own part
 *
 * After that the shim owns PID 1 and writes `<root>/.state/<id>/state.json`; every other method reads
 * that file.
 */
import { chownSync, mkdirSync, readdirSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { ConflictError, NativeError, NotFoundError } from '../../shared/errors';
import type { CgroupDriver } from './cgroups';
import { InvalidContainerConfigError } from './errors';
import { containerPaths, mountRootfs, overlayOptions, unmountRootfs, type ContainerPaths } from './rootfs';
import { isFrozen, isSameProcess, parseShimState, readFileOrNull, toContainerInfo, type IsSameProcess, type ShimState } from './state';
import type { RuntimeSys } from './sys';
import type { ContainerConfig, ContainerExec, ContainerInteractiveExec, ContainerInfo, ExitStatus, Runtime, RuntimeOptions } from './types';
import { execInContainer, startExec, type ExecResult, type ExecSession } from './exec';
import { writeContainerFiles } from './container-files';
import { hostFacts } from './oci/host';
import { buildSpec, usernsForContainer, type HostFacts } from './oci/spec';
import { checkTraversable, remappedLayers, unmountRemappedLayers } from './userns-layers';
import { resolveIdentity } from './oci/user';
import { openPty, runtimePath, setWindowSize } from './native';

export interface NativeRuntimeDeps {
  sys: RuntimeSys;
  cgroups: CgroupDriver;
  /** Process identity check; replaced in unit tests. */
  isSameProcess?: IsSameProcess;
  /** Poll interval of wait() besides inotify (covers a shim that dies without writing state). */
  waitPollMs?: number;
  /** What config.json is built from besides the config; replaced in unit tests. */
  host?: HostFacts;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Throws InvalidContainerConfigError for configs that cannot be run; checked before anything is created. */
export function validateConfig(cfg: ContainerConfig): void {
  const bad = (field: string, why: string): never => {
    throw new InvalidContainerConfigError(`container ${cfg.id}: ${why}`, field);
  };
  for (const f of cfg.files) {
    if (!f.path.startsWith('/') || f.path.split('/').some((c) => c === '..' || c === '.')) bad('files', `invalid file path ${JSON.stringify(f.path)}`);
  }
  if (!ID_RE.test(cfg.id)) bad('id', `invalid id ${JSON.stringify(cfg.id)}`);
  if (cfg.args.length === 0 || cfg.args[0] === '') bad('args', 'no command');
  const hasNul = (s: string): boolean => s.includes('\0');
  if (cfg.args.some(hasNul)) bad('args', 'arguments cannot contain NUL');
  for (const e of cfg.env) {
    if (hasNul(e) || e.indexOf('=') <= 0) bad('env', `invalid env entry ${JSON.stringify(e)}`);
  }
  if (!cfg.cwd.startsWith('/') || hasNul(cfg.cwd)) bad('cwd', `working dir ${JSON.stringify(cfg.cwd)} must be absolute`);
  if (cfg.user !== null && (cfg.user === '' || hasNul(cfg.user) || cfg.user.split(':').length > 2)) {
    bad('user', `invalid user ${JSON.stringify(cfg.user)}`);
  }
  if (cfg.hostname.length > 64 || hasNul(cfg.hostname)) bad('hostname', 'hostname longer than 64 bytes');
  if (!cfg.logPath.startsWith('/') || hasNul(cfg.logPath)) bad('logPath', 'log path must be absolute');
  // Absolute: the shim opens it after the agent's cwd is long gone from its view.
  if (cfg.netns !== null && (!cfg.netns.startsWith('/') || hasNul(cfg.netns))) bad('netns', 'netns path must be absolute');
  for (const m of cfg.mounts) {
    if (!m.destination.startsWith('/') || hasNul(m.destination)) bad('mounts', `mount destination ${JSON.stringify(m.destination)} must be absolute`);
    // A relative bind source would be the bundle's (runtime-spec); the executor resolves every one.
    const bind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
    if (bind && (!m.source.startsWith('/') || hasNul(m.source))) bad('mounts', `bind source ${JSON.stringify(m.source)} must be absolute`);
    if (m.options.some((o) => o.includes(',') || hasNul(o))) bad('mounts', `mount ${m.destination}: an option cannot contain ','`);
  }
  const positive = (v: number | null, field: string): void => {
    if (v !== null && (!Number.isSafeInteger(v) || v <= 0)) bad(field, `${field} must be a positive integer`);
  };
  positive(cfg.limits.memoryBytes, 'memoryBytes');
  positive(cfg.limits.nanoCpus, 'nanoCpus');
  positive(cfg.limits.pids, 'pids');
  overlayOptions(cfg.lowerDirs, '/u', '/w');
}

/** tsswarm-runtime's command line for a container start (native/src/runtime-main.cc). */
export function runtimeArgs(paths: ContainerPaths, id: string, cgroupRoot: string | undefined): string[] {
  const global = ['--root', paths.stateRoot, ...(cgroupRoot === undefined ? [] : ['--cgroup-root', cgroupRoot])];
  return [...global, 'run', '--detach', '--bundle', paths.dir, '--report-fd', '3', id];
}

/** Lets timers and I/O callbacks run before the next synchronous step. */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

const ESRCH = 3;

export class NativeRuntime implements Runtime {
  private readonly sys: RuntimeSys;
  private readonly cgroups: CgroupDriver;
  private readonly alive: IsSameProcess;
  private readonly waitPollMs: number;
  private readonly host: HostFacts;
  /** Ids whose run() is in progress in this process (no state.json yet, but not dead either). */
  private readonly starting = new Set<string>();

  constructor(
    private readonly opts: RuntimeOptions,
    deps: NativeRuntimeDeps,
  ) {
    this.sys = deps.sys;
    this.cgroups = deps.cgroups;
    this.alive = deps.isSameProcess ?? isSameProcess;
    this.waitPollMs = deps.waitPollMs ?? 200;
    this.host = deps.host ?? hostFacts(runtimePath);
  }

  async run(cfg: ContainerConfig): Promise<ContainerInfo> {
    validateConfig(cfg);
    void this.cgroups.prewarm?.().catch(() => undefined);
    const paths = containerPaths(this.opts.root, cfg.id);
    const undo: Array<() => Promise<void> | void> = [];
    mkdirSync(this.opts.root, { recursive: true });
    try {
      mkdirSync(paths.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`container ${cfg.id} already exists`);
      throw e;
    }
    this.starting.add(cfg.id);
    undo.push(() => rmSync(paths.dir, { recursive: true, force: true }));
    try {
      mkdirSync(paths.upper);
      mkdirSync(paths.work);
      mkdirSync(paths.rootfs);
      mkdirSync(paths.stateRoot, { recursive: true, mode: 0o700 });
      mkdirSync(dirname(cfg.logPath), { recursive: true });

      const userns = usernsForContainer(this.opts.usernsRemap, cfg.runtime);
      let lowerDirs = cfg.lowerDirs;
      if (userns !== null) {
        checkTraversable(paths.dir);
        lowerDirs = remappedLayers(this.sys, paths.dir, cfg.lowerDirs, userns, undo);
        // The merged root and what the container writes belong to its (remapped) root.
        chownSync(paths.upper, userns.uid, userns.gid);
      }
      // The steps are synchronous (a few syscalls each); between them the event loop gets a turn, so
      // a deploy that starts a hundred containers at once does not hold back the agent's heartbeats.
      await yieldToLoop();
      mountRootfs(this.sys, paths, lowerDirs);
      undo.push(() => unmountRootfs(this.sys, paths.rootfs));
      writeContainerFiles(paths.rootfs, cfg.files);
      await yieldToLoop();

      const identity = resolveIdentity(
        cfg.user,
        this.sys.readFileInRoot(paths.rootfs, '/etc/passwd'),
        this.sys.readFileInRoot(paths.rootfs, '/etc/group'),
      );
      const spec = buildSpec(
        {
          id: cfg.id,
          args: cfg.args,
          env: cfg.env,
          cwd: cfg.cwd,
          hostname: cfg.hostname,
          identity,
          limits: cfg.limits,
          netns: cfg.netns,
          runtime: cfg.runtime,
          cgroupsPath: `${this.opts.cgroupParent}/${cfg.id}`,
          userns,
          mounts: cfg.mounts,
          logPath: cfg.logPath,
          log: cfg.log,
          tty: cfg.tty,
          openStdin: cfg.openStdin,
        },
        this.host,
      );
      writeFileSync(paths.configFile, JSON.stringify(spec));
      await yieldToLoop();

      const started = await this.sys.startRuntime(runtimeArgs(paths, cfg.id, this.opts.cgroupRoot), cfg.logPath);
      return { id: cfg.id, status: 'running', pid: started.pid, shimPid: started.shimPid, exitCode: null, signal: null };
    } catch (e) {
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch {
          // keep undoing; the error that made us undo is the one to report
        }
      }
      throw e;
    } finally {
      this.starting.delete(cfg.id);
    }
  }

  private readState(id: string): ShimState | null {
    const text = readFileOrNull(containerPaths(this.opts.root, id).stateFile);
    return text === null ? null : parseShimState(text);
  }

  private exists(id: string): boolean {
    if (!ID_RE.test(id)) return false;
    try {
      readdirSync(containerPaths(this.opts.root, id).dir);
      return true;
    } catch {
      return false;
    }
  }

  async inspect(id: string): Promise<ContainerInfo | null> {
    return this.inspectSync(id);
  }

  private inspectSync(id: string): ContainerInfo | null {
    if (!this.exists(id)) return null;
    return toContainerInfo(id, this.readState(id), this.starting.has(id), this.alive);
  }

  async list(): Promise<string[]> {
    let entries;
    try {
      entries = readdirSync(this.opts.root, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.filter((e) => e.isDirectory() && ID_RE.test(e.name)).map((e) => e.name).sort();
  }

  wait(id: string, signal?: AbortSignal): Promise<ExitStatus> {
    return new Promise<ExitStatus>((resolve, reject) => {
      let watcher: FSWatcher | null = null;
      let timer: NodeJS.Timeout | null = null;
      let done = false;
      const finish = (): void => {
        done = true;
        watcher?.close();
        if (timer !== null) clearInterval(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        if (done) return;
        finish();
        reject(abortError(signal as AbortSignal));
      };
      const check = (): void => {
        if (done) return;
        const info = this.inspectSync(id);
        if (info === null) {
          finish();
          reject(new NotFoundError(`container ${id} not found`));
        } else if (info.status === 'exited') {
          finish();
          resolve({ exitCode: info.exitCode ?? 255, signal: info.signal });
        }
      };
      if (signal?.aborted) return reject(abortError(signal));
      signal?.addEventListener('abort', onAbort);
      // inotify on the state dir sees the shim's rename of state.json at once; the poll covers
      // filesystems without inotify and a shim that died without writing anything.
      // The container's own state dir (the shim renames state.json inside it); before the runtime
      // has made it, only the poll looks.
      try {
        watcher = watch(containerPaths(this.opts.root, id).stateDir, { persistent: true }, check);
        watcher.on('error', () => undefined);
      } catch {
        watcher = null;
      }
      timer = setInterval(check, this.waitPollMs);
      check();
    });
  }

  async kill(id: string, sig: NodeJS.Signals): Promise<void> {
    // SIGRTMIN+N (a stop_signal) has no Node name; glibc's SIGRTMIN is 34.
    const rt = /^SIGRTMIN\+(\d+)$/.exec(sig);
    const signo = rt !== null ? 34 + Number(rt[1]) : osConstants.signals[sig];
    if (signo === undefined) throw new InvalidContainerConfigError(`unknown signal ${sig}`, 'signal');
    if (!this.exists(id)) throw new NotFoundError(`container ${id} not found`);
    const state = this.readState(id);
    // Only a process the shim recorded as running, and only if it still is that process (the addon
    // checks pid + start time through a pidfd). An exited container is not an error: stop() races
    // with natural exits all the time.
    if (state === null || (state.status !== 'running' && state.status !== 'created')) return;
    try {
      this.sys.signalProcess(state.pid, state.pidStartTime, signo);
    } catch (e) {
      if (e instanceof NativeError && e.errno === ESRCH) return;
      throw e;
    }
  }

  async pause(id: string, paused: boolean): Promise<void> {
    if (!this.exists(id)) throw new NotFoundError(`container ${id} not found`);
    const p = containerPaths(this.opts.root, id);
    const global = ['--root', p.stateRoot, ...(this.opts.cgroupRoot === undefined ? [] : ['--cgroup-root', this.opts.cgroupRoot])];
    await this.sys.runtimeCommand([...global, paused ? 'pause' : 'resume', id]);
  }

  async isPaused(id: string): Promise<boolean> {
    const state = this.readState(id);
    return state !== null && isFrozen(state.cgroupDirs);
  }

  exec(id: string, opts: ContainerExec): Promise<ExecResult> {
    return execInContainer({ ...opts, root: containerPaths(this.opts.root, id).stateRoot, id });
  }

  startExec(id: string, opts: ContainerInteractiveExec): ExecSession {
    const paths = containerPaths(this.opts.root, id);
    if (!this.exists(id)) throw new NotFoundError(`container ${id} not found`);
    return startExec({ ...opts, user: this.execUser(paths.rootfs, opts.user ?? null), root: paths.stateRoot, id }, { open: openPty, resize: setWindowSize });
  }

  /** `-u` as Docker takes it (a name, uid, name:group, uid:gid) in the numbers the runtime takes, from the container's own files. */
  private execUser(rootfs: string, user: string | null): string | null {
    if (user === null || user === '' || /^\d+(:\d+)?$/.test(user)) return user === '' ? null : user;
    const id = resolveIdentity(user, this.sys.readFileInRoot(rootfs, '/etc/passwd'), this.sys.readFileInRoot(rootfs, '/etc/group'));
    return `${id.uid}:${id.gid}`;
  }

  async remove(id: string): Promise<void> {
    if (!this.exists(id)) return;
    const paths = containerPaths(this.opts.root, id);
    const info = this.inspectSync(id);
    if (info !== null && info.status === 'running' && info.pid !== null) {
      // A frozen process acts on SIGKILL only once it is thawed (tsswarm down of a paused service).
      if (await this.isPaused(id)) await this.pause(id, false).catch(() => undefined);
      await this.kill(id, 'SIGKILL');
      await this.waitGone(id);
    }
    unmountRootfs(this.sys, paths.rootfs);
    unmountRemappedLayers(this.sys, paths.dir);
    const state = this.readState(id);
    if (state !== null) await this.cgroups.remove({ version: this.cgroups.version, dirs: state.cgroupDirs });
    // Synchronous: a handful of entries, and the promise version pays a thread-pool hop per entry.
    rmSync(paths.stateDir, { recursive: true, force: true });
    rmSync(paths.dir, { recursive: true, force: true });
  }

  /** After SIGKILL: the shim records the exit; an orphaned PID 1 (shim gone) is polled until it dies. */
  private async waitGone(id: string): Promise<void> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`container ${id} did not exit after SIGKILL`)), 10_000);
    try {
      await this.wait(id, ac.signal);
    } finally {
      clearTimeout(timer);
    }
  }
}
