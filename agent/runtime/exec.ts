/**
 * A process inside a running container (`docker exec`): `tsswarm-runtime --root ROOT exec ...`
 * (native/src/exec.cc) as a plain child process, its output collected. The runtime joins the
 * container's namespaces, cgroup, root, capabilities and seccomp filter itself; this file only maps
 * options onto runc's flags and sorts the outcome:
 *
 *   - the process ran: resolve with its exit status (128+signal if it was killed), whatever it is;
 *   - it could not start (no such container, not running or paused, a command not in PATH, a step of
 *     the runtime failed): the runtime exits 255 with one line `tsswarm-runtime: ...` on stderr,
 *     which becomes an ExecError.
 *
 * Cancelling through `signal` kills the process inside the container (its host pid comes from
 * --pid-file), not only the runtime, which would leave it running; the promise rejects with the
 * signal's reason.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsswarmError } from '../../shared/errors';
import { runtimePath } from './native';

export interface ExecOptions {
  /** The runtime's --root: `<containers dir>/.state` (containerPaths(dir, id).stateRoot). */
  root: string;
  id: string;
  /** The command and its arguments, looked up in the container's PATH. */
  args: string[];
  /** KEY=VALUE, added to (or replacing) the container's environment. */
  env?: string[];
  /** `UID[:GID]`, numeric as runc takes it; null: the container's user. */
  user?: string | null;
  /** Absolute; null: the container's working directory. */
  cwd?: string | null;
  /** A pty from the container's devpts; its output (with \r\n) comes back as stdout. */
  tty?: boolean;
  signal?: AbortSignal;
  /** Output kept per stream; the rest is read and dropped. */
  maxOutputBytes?: number;
  /** The runtime binary; replaced in tests. */
  runtime?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** tsswarm-runtime exits 255 when the process could not be started (as runc does). */
export const EXEC_FAILED_STATUS = 255;
const RUNTIME_PREFIX = 'tsswarm-runtime: ';
const DEFAULT_MAX_OUTPUT = 1 << 20;
/** After SIGTERM to the runtime (it forwards it once the process exists), how long until SIGKILL. */
const ABORT_GRACE_MS = 2000;

/** The process could not be started in the container; `step`/`errno` when the runtime named them. */
export class ExecError extends TsswarmError {
  readonly code = 'EXEC';
  constructor(
    message: string,
    readonly containerId: string,
    readonly step: string | null,
    readonly errno: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The runtime's failure line, or null when `stderr` is the process's own. `step: ERRNO (message)`
 * for a step of the exec sequence, else only a message ("container \"x\" is paused").
 */
export function parseExecFailure(exitCode: number, stderr: string): { message: string; step: string | null; errno: string | null } | null {
  if (exitCode !== EXEC_FAILED_STATUS || !stderr.startsWith(RUNTIME_PREFIX)) return null;
  const line = (stderr.split('\n')[0] ?? '').slice(RUNTIME_PREFIX.length);
  const m = /^(.+?): (E[A-Z0-9]+|errno \d+) \((.*)\)$/.exec(line);
  return m === null ? { message: line, step: null, errno: null } : { message: line, step: m[1] ?? null, errno: m[2] ?? null };
}

/** tsswarm-runtime's command line for `opts` (without the runtime itself). */
export function execArgs(opts: ExecOptions, pidFile: string | null): string[] {
  const args = ['--root', opts.root, 'exec'];
  if (opts.tty === true) args.push('--tty');
  for (const e of opts.env ?? []) args.push('--env', e);
  if (opts.user !== undefined && opts.user !== null) args.push('--user', opts.user);
  if (opts.cwd !== undefined && opts.cwd !== null) args.push('--cwd', opts.cwd);
  if (pidFile !== null) args.push('--pid-file', pidFile);
  args.push(opts.id, '--', ...opts.args);
  return args;
}

/** Collects up to `max` bytes of a stream. */
class Bounded {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  add(b: Buffer): void {
    if (this.size >= this.max) return;
    const part = b.length > this.max - this.size ? b.subarray(0, this.max - this.size) : b;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export function execInContainer(opts: ExecOptions): Promise<ExecResult> {
  const signal = opts.signal;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  if (opts.args.length === 0) return Promise.reject(new ExecError(`exec in ${opts.id}: no command`, opts.id, null, null));
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  // Only for cancelling: the process's host pid, so that it dies and not only the runtime.
  const pidDir = signal === undefined ? null : mkdtempSync(join(tmpdir(), 'tsswarm-exec-'));
  const pidFile = pidDir === null ? null : join(pidDir, 'pid');
  return new Promise<ExecResult>((resolve, reject) => {
    const child = spawn(opts.runtime ?? runtimePath, execArgs(opts, pidFile), { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = new Bounded(max);
    const stderr = new Bounded(max);
    child.stdout.on('data', (b: Buffer) => stdout.add(b));
    child.stderr.on('data', (b: Buffer) => stderr.add(b));
    let graceTimer: NodeJS.Timeout | null = null;
    const processPid = (): number | null => {
      if (pidFile === null) return null;
      try {
        const n = Number(readFileSync(pidFile, 'utf8').trim());
        return Number.isSafeInteger(n) && n > 0 ? n : null;
      } catch {
        return null;
      }
    };
    const kill = (pid: number, sig: NodeJS.Signals): void => {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    };
    const onAbort = (): void => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      // While the runtime lives the process is its child, so its pid cannot have been reused.
      const pid = processPid();
      if (pid !== null) return kill(pid, 'SIGKILL');
      kill(child.pid, 'SIGTERM');
      graceTimer = setTimeout(() => {
        const later = processPid();
        if (later !== null) kill(later, 'SIGKILL');
        if (child.pid !== undefined) kill(child.pid, 'SIGKILL');
      }, ABORT_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      signal?.removeEventListener('abort', onAbort);
      if (graceTimer !== null) clearTimeout(graceTimer);
      if (pidDir !== null) rmSync(pidDir, { recursive: true, force: true });
    };
    child.on('error', (e) => {
      finish();
      reject(new ExecError(`exec in ${opts.id}: cannot run ${opts.runtime ?? runtimePath}: ${e.message}`, opts.id, null, null, { cause: e }));
    });
    child.on('close', (code, sig) => {
      finish();
      if (signal?.aborted === true) return reject(signal.reason);
      if (code === null) return reject(new ExecError(`exec in ${opts.id}: the runtime was killed by ${sig ?? 'a signal'}`, opts.id, null, null));
      const out = { exitCode: code, stdout: stdout.text(), stderr: stderr.text() };
      const failure = parseExecFailure(code, out.stderr);
      if (failure !== null) return reject(new ExecError(`exec in ${opts.id}: ${failure.message}`, opts.id, failure.step, failure.errno));
      resolve(out);
    });
  });
}
