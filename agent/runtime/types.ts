/**
 * The runtime seam: what the executor needs from the native container runtime.
 * Everything Linux-specific (namespaces, cgroups, overlayfs, the shim) is behind it.
 */
import type { ResourceLimits, RuntimeSettings } from '../../shared/types';
import type { OciMount } from './oci/spec-types';
import type { ExecOptions, ExecResult, ExecSession, InteractiveExecOptions } from './exec';

/** A container's limits are its task's (shared/types.ts): one definition, not a copy. */
export type RuntimeLimits = ResourceLimits;

/**
 * What becomes of a container's stdout and stderr (the task's logging driver, resolved by the
 * executor). `file`: appended to logPath as they come, without limit (no relay: nothing on the start
 * path). `rotate`: the shim relays them to logPath, which rotates before it would pass maxBytes,
 * keeping maxFiles files in all (`logPath`, `logPath.1`, ... oldest last). `none`: /dev/null.
 *
 * `framed` (file and rotate): the shim writes CRI log records instead of the bytes as they came,
 * one line each, `<time> <stream> <tag> <content>\n`: time UTC RFC3339 with 9 fraction digits (when
 * the shim read it), stream `stdout` or `stderr` (apart, two pipes; a tty is all `stdout`), tag `F`
 * for a whole line or the last piece of one and `P` for a piece of a line longer than 16384 bytes
 * (smaller pieces when maxBytes is under 16425, so a record always fits in one file), content the
 * line without its `\n`. A record is never split across rotated files. A framed `file` is relayed
 * by the shim too (one file, never rotated). Details in native/src/log-relay.h.
 */
export type ContainerLog =
  | { kind: 'file'; framed?: boolean }
  | { kind: 'rotate'; maxBytes: number; maxFiles: number; framed?: boolean }
  | { kind: 'none' };

export interface ContainerConfig {
  /** Unique id (the task id); names the state dir and the cgroup. */
  id: string;
  /** Image layer directories, top layer first (overlayfs lowerdir order). */
  lowerDirs: string[];
  /** Full argv of the first process (entrypoint + command already resolved). */
  args: string[];
  /** `KEY=VALUE`. */
  env: string[];
  /** Working directory inside the container; '/' when the image says nothing. */
  cwd: string;
  /** `name`, `uid`, `name:group` or `uid:gid`, resolved against the rootfs' /etc/passwd and /etc/group; null = root. */
  user: string | null;
  hostname: string;
  limits: RuntimeLimits;
  /** File that receives the container's stdout and stderr (it stays empty with `log: none`). */
  logPath: string;
  /** How logPath is written: plain, rotated, or not at all; raw or framed. */
  log: ContainerLog;
  /**
   * compose `tty`: stdin, stdout and stderr are a terminal (a pty of the container's devpts, its
   * controlling terminal). The shim holds the master and relays it into logPath as `log` says, so
   * the log has the terminal's line endings (`\r\n`). Nothing writes to it: stdin never ends.
   */
  tty: boolean;
  /** compose `stdin_open`: stdin is a pipe the shim holds open and never writes, not /dev/null (moot with tty). */
  openStdin: boolean;
  /**
   * Network namespace to join: a path to an nsfs file (e.g. a sandbox the agent's network code
   * prepared, bind-mounted under its netns dir). PID 1 setns()es into it instead of getting a new,
   * empty one, so the veths, addresses and routes set up beforehand are what the container sees.
   * null: a new network namespace with only `lo` (up).
   */
  netns: string | null;
  /**
   * Files written into the container's root filesystem (its upper layer) before it starts:
   * /etc/resolv.conf, /etc/hosts, /etc/hostname. Paths are absolute inside the container.
   */
  files: { path: string; content: string }[];
  /** The service's runtime keys (capabilities, seccomp, devices, ...): oci/spec.ts applies them. */
  runtime: RuntimeSettings;
  /**
   * The task's own mounts (binds, volumes, tmpfs, secrets, configs), already resolved to host paths
   * by the executor (agent/executor/task-mounts.ts), in the runtime-spec's form: they go into
   * config.json as they are, after the standard mounts, ordered parents first.
   */
  mounts: OciMount[];
}

export type ContainerStatus = 'running' | 'exited';

export interface ContainerInfo {
  id: string;
  status: ContainerStatus;
  /** Host PID of the container's first process (null once reaped and unknown). */
  pid: number | null;
  /** PID of the shim that is the container's parent. */
  shimPid: number | null;
  exitCode: number | null;
  /** Signal name when the process was killed by a signal. */
  signal: string | null;
}

export interface ExitStatus {
  exitCode: number;
  signal: string | null;
}

export interface Runtime {
  /** Creates and starts a container; resolves once its first process has exec'd. */
  run(cfg: ContainerConfig): Promise<ContainerInfo>;
  /** Current state from the state dir; survives an agent restart. null if unknown id. */
  inspect(id: string): Promise<ContainerInfo | null>;
  /** Resolves when the container's first process has exited. */
  wait(id: string, signal?: AbortSignal): Promise<ExitStatus>;
  kill(id: string, signal: NodeJS.Signals): Promise<void>;
  /** Kills if running, unmounts the rootfs, removes the cgroup and state dir. Idempotent. */
  remove(id: string): Promise<void>;
  /** Ids of every container this runtime has state for. */
  list(): Promise<string[]>;
  /** Freezes (true) or thaws (false) the container's cgroup; resolves once the kernel says it is done. */
  pause(id: string, paused: boolean): Promise<void>;
  /** Whether the container's cgroup is frozen. */
  isPaused(id: string): Promise<boolean>;
  /** Runs a process in the running container (`docker exec`: its namespaces, cgroup, user and confinement). */
  exec(id: string, opts: ContainerExec): Promise<ExecResult>;
  /** The same with its stdio streamed (`tsswarm exec`), a terminal with tty; the user may be a name of the container's. */
  startExec(id: string, opts: ContainerInteractiveExec): ExecSession;
}

/** An exec's options, the container's runtime root and id aside (exec.ts). */
export type ContainerExec = Omit<ExecOptions, 'root' | 'id' | 'runtime'>;
export type ContainerInteractiveExec = Omit<InteractiveExecOptions, 'root' | 'id' | 'runtime'>;

/** A subordinate id range of the host (from /etc/subuid and /etc/subgid). */
export interface UsernsRemap {
  uid: number;
  gid: number;
  size: number;
}

export interface RuntimeOptions {
  /** Directory for per-container state (upper/work dirs, rootfs mount point, status files). */
  root: string;
  /** Cgroup parent name; containers go in `<parent>/<id>` in each controller (v1) or the unified tree (v2). */
  cgroupParent: string;
  /** Where the cgroup hierarchies are mounted (tests, benchmarks); /sys/fs/cgroup when absent. */
  cgroupRoot?: string;
  /**
   * The node's `--userns-remap`: containers' uid/gid 0..size-1 are the host's uid/gid..+size, so
   * root in a container is an unprivileged user on the host (a service opts out with userns_mode: host).
   */
  usernsRemap?: UsernsRemap;
}
