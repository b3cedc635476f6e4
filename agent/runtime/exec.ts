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
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { ReadStream } from 'node:tty';
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

/** The host pid the runtime wrote to --pid-file, or null (not written yet, or gone). */
function pidFrom(file: string | null): number | null {
  if (file === null) return null;
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** The runtime child has not exited: while it lives, the process it started is its child, so that pid cannot have been reused. */
function alive(child: ChildProcess): child is ChildProcess & { pid: number } {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
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
    const onAbort = (): void => {
      if (!alive(child)) return;
      const pid = pidFrom(pidFile);
      if (pid !== null) return signalPid(pid, 'SIGKILL');
      signalPid(child.pid, 'SIGTERM');
      graceTimer = setTimeout(() => {
        const later = pidFrom(pidFile);
        if (later !== null) signalPid(later, 'SIGKILL');
        if (child.pid !== undefined) signalPid(child.pid, 'SIGKILL');
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

/** An interactive exec's options (`tsswarm exec`): the process's stdio is the client's. */
export interface InteractiveExecOptions extends Omit<ExecOptions, 'signal' | 'maxOutputBytes'> {
  /** The client sends stdin (-i); without it the process's stdin is empty (/dev/null). */
  stdin: boolean;
  /** With tty: the terminal's size to start with. */
  rows: number;
  cols: number;
}

/** A process started in a container whose stdio is streamed (startExec). */
export interface ExecSession {
  /** Bytes for the process's stdin (its terminal's input with tty); null without stdin. */
  write(b: Buffer): void;
  /** No more stdin (not with tty: a terminal's input ends only with the session). */
  endInput(): void;
  resize(rows: number, cols: number): void;
  /** A signal to the process (the runtime forwards it). */
  signal(sig: NodeJS.Signals): void;
  /** Ends the process (SIGKILL inside the container), as when the client is gone. */
  kill(): void;
  /** Output as it comes; with tty everything is stdout (the terminal's). */
  onOutput(listener: (stream: 'stdout' | 'stderr', b: Buffer) => void): void;
  /** The process's exit status (128+signal), or the ExecError of a process that could not start. */
  done: Promise<number>;
}

/**
 * Starts `tsswarm-runtime exec` with its stdio streamed. With tty the runtime gets a pty of the host
 * as its terminal (native openPty): it puts it in raw mode and relays it to the container's own pty,
 * passing on its size (again on SIGWINCH, which resize sends after sizing it); its own failure line
 * comes on a separate stderr pipe. Without tty stdin, stdout and stderr are pipes, and a failure
 * line, which comes before the process exists, is told apart by the runtime's exit status 255.
 */
export function startExec(opts: InteractiveExecOptions, pty: { open(rows: number, cols: number): { master: number; slave: number }; resize(fd: number, rows: number, cols: number): void }): ExecSession {
  if (opts.args.length === 0) throw new ExecError(`exec in ${opts.id}: no command`, opts.id, null, null);
  const pidDir = mkdtempSync(join(tmpdir(), 'tsswarm-exec-'));
  const pidFile = join(pidDir, 'pid');
  const term = opts.tty === true ? pty.open(opts.rows, opts.cols) : null;
  const listeners: ((stream: 'stdout' | 'stderr', b: Buffer) => void)[] = [];
  const emit = (stream: 'stdout' | 'stderr', b: Buffer) => {
    for (const l of listeners) l(stream, b);
  };
  let child: ChildProcess;
  try {
    child = spawn(opts.runtime ?? runtimePath, execArgs(opts, pidFile), {
      stdio: term !== null ? [term.slave, term.slave, 'pipe'] : [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    if (term !== null) {
      closeSync(term.master);
      closeSync(term.slave);
    }
    rmSync(pidDir, { recursive: true, force: true });
    throw e;
  }
  let master: ReadStream | null = null;
  if (term !== null) {
    closeSync(term.slave);
    // A pty master is a TTY to libuv: a tty stream reads and writes it (net.Socket refuses the fd type).
    master = new ReadStream(term.master);
    master.on('data', (b: Buffer) => emit('stdout', b));
    // EIO once the runtime, the slave's last holder, has exited: the terminal's end.
    master.on('error', () => undefined);
  } else {
    child.stdout!.on('data', (b: Buffer) => emit('stdout', b));
  }
  // The runtime's own failure line comes first on stderr, before the process exists: what may be it
  // is held until the exit says which it is. With tty stderr is the runtime's alone (the process
  // has the terminal), so it is always held, and what is not a failure is dropped.
  let held: Buffer[] | null = [];
  const release = () => {
    const h = held ?? [];
    held = null;
    if (term === null) for (const b of h) emit('stderr', b);
  };
  child.stderr!.on('data', (b: Buffer) => {
    if (held === null) return emit('stderr', b);
    held.push(b);
    const text = Buffer.concat(held).toString('latin1');
    if (term === null && !text.startsWith(RUNTIME_PREFIX) && !RUNTIME_PREFIX.startsWith(text)) release();
  });
  if (term === null) child.stdout!.once('data', release);
  const signalChild = (sig: NodeJS.Signals) => {
    if (alive(child)) signalPid(child.pid, sig);
  };
  const done = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new ExecError(`exec in ${opts.id}: cannot run ${opts.runtime ?? runtimePath}: ${e.message}`, opts.id, null, null, { cause: e })));
    child.on('close', (code, sig) => {
      rmSync(pidDir, { recursive: true, force: true });
      const finish = () => {
        if (code === null) return reject(new ExecError(`exec in ${opts.id}: the runtime was killed by ${sig ?? 'a signal'}`, opts.id, null, null));
        const failure = held === null ? null : parseExecFailure(code, Buffer.concat(held).toString('utf8'));
        if (failure !== null) return reject(new ExecError(`exec in ${opts.id}: ${failure.message}`, opts.id, failure.step, failure.errno));
        release();
        resolve(code);
      };
      // The terminal's last output is read before the exit is told.
      if (master === null || master.destroyed) return finish();
      master.once('close', finish);
      setTimeout(() => master?.destroy(), 200).unref();
    });
  });
  return {
    write: (b) => {
      if (master !== null) master.write(b);
      else child.stdin?.write(b);
    },
    endInput: () => {
      if (master === null) child.stdin?.end();
    },
    resize: (rows, cols) => {
      if (term === null || master === null || master.destroyed) return;
      pty.resize(term.master, rows, cols);
      // The runtime has no controlling terminal to be told by the kernel: it reads the size again on SIGWINCH.
      signalChild('SIGWINCH');
    },
    signal: signalChild,
    kill: () => {
      if (!alive(child)) return;
      const pid = pidFrom(pidFile);
      signalPid(pid ?? child.pid, 'SIGKILL');
    },
    onOutput: (l) => {
      listeners.push(l);
    },
    done,
  };
}
