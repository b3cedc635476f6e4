/**
 * The single native boundary: every function `native/build/Release/tsswarm_native.node` exports,
 * with its exact types. Native failures come back as `{ errno, syscall, message }` values and become
 * `NativeError`s here and nowhere else.
 */
import { constants as osConstants } from 'node:os';
import { read, close } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { NativeError } from '../../shared/errors';

/** What the addon returns instead of throwing when a syscall fails. */
interface NativeFailure {
  errno: number;
  syscall: string;
  message: string;
}

interface NativeConstants {
  MS_RDONLY: number;
  MS_NOSUID: number;
  MS_NODEV: number;
  MS_NOEXEC: number;
  MS_BIND: number;
  MS_REC: number;
  MS_PRIVATE: number;
  MNT_DETACH: number;
}

/** The raw addon, as loaded. */
interface NativeAddon {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): NativeFailure | null;
  umount(target: string, flags: number): NativeFailure | null;
  spawnRuntime(path: string, args: string[], logPath: string): Promise<NativeFailure | { fd: number }>;
  readFileInRoot(root: string, path: string, maxBytes: number): NativeFailure | { text: string } | null;
  idmapMount(source: string, target: string, uid: number, gid: number, size: number): NativeFailure | null;
  signalProcess(pid: number, startTime: number, signal: number): NativeFailure | null;
  netnsCreate(path: string): NativeFailure | null;
  netnsConfigureIpv4(netnsPath: string, ifname: string, address: string, prefixLen: number, gateway: string | null): NativeFailure | null;
  nftApply(netnsPath: string | null, script: string): Promise<NativeFailure | null>;
  openPty(rows: number, cols: number): NativeFailure | { master: number; slave: number };
  setWindowSize(fd: number, rows: number, cols: number): NativeFailure | null;
  constants: NativeConstants;
}

/** Repository root, whether this runs from the source tree or compiled under dist/. */
function projectRoot(): string {
  const up = resolve(__dirname, '..', '..');
  return basename(up) === 'dist' ? dirname(up) : up;
}

const buildDir = process.env['TSSWARM_NATIVE_DIR'] ?? join(projectRoot(), 'native', 'build', 'Release');

/** The OCI runtime (and per-container shim) next to the addon: native/src/runtime-main.cc. */
export const runtimePath: string = join(buildDir, 'tsswarm-runtime');

/** The ESP data path of encrypted overlays on kernels without ESP: native/src/esp-main.cc. */
export const espHelperPath: string = join(buildDir, 'tsswarm-esp');

let loaded: NativeAddon | null = null;

function addon(): NativeAddon {
  if (loaded === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(join(buildDir, 'tsswarm_native.node')) as NativeAddon;
  }
  return loaded;
}

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, value]): [number, string] => [value, name]),
);

/** `EPERM` for 1, `errno 999` for unknown numbers. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

function isFailure(v: unknown): v is NativeFailure {
  return typeof v === 'object' && v !== null && 'errno' in v && 'syscall' in v;
}

function toError(f: NativeFailure): NativeError {
  return new NativeError(f.errno, f.syscall, `${f.message} (${errnoName(f.errno)})`);
}

export function mountConstants(): NativeConstants {
  return addon().constants;
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  const r = addon().mount(source, target, fstype, flags, data);
  if (r !== null) throw toError(r);
}

export function umount(target: string, flags: number): void {
  const r = addon().umount(target, flags);
  if (r !== null) throw toError(r);
}

/**
 * Runs `tsswarm-runtime ARGS` in its own session with stdout/stderr appended to `logPath` (on a
 * thread of the pool: the event loop never waits for it); it forks the container's shim and
 * returns at once. Resolves with the read end of its report pipe (fd 3); the caller owns the fd.
 */
export async function spawnRuntime(path: string, args: string[], logPath: string): Promise<number> {
  const r = await addon().spawnRuntime(path, args, logPath);
  if (isFailure(r)) throw toError(r);
  return r.fd;
}

/**
 * The text of `path` inside the root filesystem `root`, resolved as if `root` were "/" (so an image's
 * symlinks cannot point it at the host's files); null when there is no such file.
 */
export function readFileInRoot(root: string, path: string, maxBytes = 1 << 20): string | null {
  const r = addon().readFileInRoot(root, path, maxBytes);
  if (r === null) return null;
  if (isFailure(r)) throw toError(r);
  return r.text;
}

/** A pty pair of the host, rows x cols (0 x 0: unsized); the caller owns both fds (CLOEXEC). */
export function openPty(rows: number, cols: number): { master: number; slave: number } {
  const r = addon().openPty(rows, cols);
  if (isFailure(r)) throw toError(r);
  return r;
}

/** Resizes the pty of `fd` (its foreground process group gets SIGWINCH from the kernel). */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const r = addon().setWindowSize(fd, rows, cols);
  if (r !== null) throw toError(r);
}

/**
 * Binds `source` on the existing directory `target` with ids 0..size-1 shown as uid/gid..+size (an
 * idmapped mount). EINVAL / EOPNOTSUPP (errno 22 / 95) when the filesystem cannot be idmapped.
 */
export function idmapMount(source: string, target: string, uid: number, gid: number, size: number): void {
  const r = addon().idmapMount(source, target, uid, gid, size);
  if (r !== null) throw toError(r);
}

/** Signals `pid` only if it is still the process that started at `startTime` (clock ticks). */
export function signalProcess(pid: number, startTime: number, signal: number): void {
  const r = addon().signalProcess(pid, startTime, signal);
  if (r !== null) throw toError(r);
}

/**
 * A new network namespace (lo up) kept alive by a bind mount on `path`, which must not exist yet.
 * Runs on a short-lived thread of this process: no child process, ~0.1 ms. Remove it with
 * umount(path, MNT_DETACH) and unlink.
 */
export function netnsCreate(path: string): void {
  const r = addon().netnsCreate(path);
  if (r !== null) throw toError(r);
}

/** Inside the namespace at `netnsPath`: address/prefixLen on ifname, ifname up, default route via gateway when given. */
export function netnsConfigureIpv4(netnsPath: string, ifname: string, address: string, prefixLen: number, gateway: string | null): void {
  const r = addon().netnsConfigureIpv4(netnsPath, ifname, address, prefixLen, gateway);
  if (r !== null) throw toError(r);
}

/**
 * Runs an nftables script (what `nft -f` reads) through libnftables inside the network namespace
 * at `netnsPath` (null: this process's), on a thread of its own. Without the library it fails with
 * ENOSYS (errno 38); a rejected ruleset fails with syscall "nft" and nft's message.
 */
export async function nftApply(netnsPath: string | null, script: string): Promise<void> {
  const r = await addon().nftApply(netnsPath, script);
  if (r !== null) throw toError(r);
}

/** What the runtime's shim reports on fd 3 once the container has exec'd (or failed to). */
export interface ShimStarted {
  shimPid: number;
  pid: number;
}

/** Reads up to the first newline (the report is one line) or EOF, whichever comes first. */
function readLine(fd: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    const next = (): void => {
      const buf = Buffer.alloc(4096);
      read(fd, buf, 0, buf.length, null, (err, n) => {
        if (err) return reject(err);
        if (n > 0) chunks.push(buf.subarray(0, n));
        if (n === 0 || buf.subarray(0, n).includes(0x0a)) return resolvePromise(Buffer.concat(chunks).toString('utf8'));
        next();
      });
    };
    next();
  });
}

/**
 * Reads the shim's one-line report and closes the fd. Resolves with the pids once PID 1 has exec'd;
 * rejects with a NativeError naming the failed step (`mount /proc`, `exec`, ...) otherwise.
 */
export async function readShimReport(fd: number): Promise<ShimStarted> {
  let text: string;
  try {
    text = await readLine(fd);
  } finally {
    close(fd, () => undefined);
  }
  return parseShimReport(text);
}

/** Exported for unit tests: `ok\t<shimPid>\t<pid>` or `err\t<errno>\t<step>\t<message>`. */
export function parseShimReport(text: string): ShimStarted {
  const fields = text.replace(/\n$/, '').split('\t');
  if (fields[0] === 'ok' && fields.length === 3) {
    const shimPid = Number(fields[1]);
    const pid = Number(fields[2]);
    if (Number.isInteger(shimPid) && Number.isInteger(pid) && shimPid > 0 && pid > 0) return { shimPid, pid };
  }
  if (fields[0] === 'err' && fields.length >= 4) {
    const errno = Number(fields[1]);
    throw stepError(Number.isInteger(errno) ? errno : 0, fields[2] ?? '', fields.slice(3).join(' '));
  }
  throw new NativeError(0, 'shim', `shim exited without a report: ${JSON.stringify(text.slice(0, 200))}`);
}

/** A failure the shim reported for a step inside the container, e.g. `mount /proc: EPERM`. */
export function stepError(errno: number, step: string, message: string): NativeError {
  return new NativeError(errno, step, `${step}: ${errnoName(errno)} (${message})`);
}
