/**
 * The syscall seam (as in youki): the runtime's logic talks to these interfaces, the real ones call
 * the addon (native.ts), and unit tests pass fakes so the create/undo sequence runs without root.
 */
import * as native from './native';
import type { ShimStarted } from './native';
import { execFile } from 'node:child_process';
import { RuntimeCommandError } from './errors';

export interface MountOps {
  /** Throws NativeError. */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** Throws NativeError. */
  umount(target: string, flags: number): void;
  readonly MNT_DETACH: number;
}

export interface RuntimeSys extends MountOps {
  /**
   * Runs `tsswarm-runtime ARGS` (stdout/stderr appended to logPath) and resolves once the
   * container's process has exec'd; rejects with the failed step.
   */
  startRuntime(args: string[], logPath: string): Promise<ShimStarted>;
  /** Signals pid only if it is still the process with this start time; throws NativeError (ESRCH). */
  signalProcess(pid: number, startTime: number, signal: number): void;
  /** A file inside a root filesystem, resolved inside it; null when absent. */
  readFileInRoot(root: string, path: string): string | null;
  /** Runs `tsswarm-runtime ARGS` to its end; rejects with its one-line error. */
  runtimeCommand(args: string[]): Promise<void>;
  /** An idmapped bind mount (native.ts idmapMount). Throws NativeError. */
  idmapMount(source: string, target: string, uid: number, gid: number, size: number): void;
}

export type { ShimStarted };

export function nativeSys(runtimePath: string = native.runtimePath): RuntimeSys {
  return {
    mount: native.mount,
    umount: native.umount,
    get MNT_DETACH(): number {
      return native.mountConstants().MNT_DETACH;
    },
    startRuntime: async (args, logPath) => native.readShimReport(await native.spawnRuntime(runtimePath, args, logPath)),
    signalProcess: native.signalProcess,
    readFileInRoot: (root, path) => native.readFileInRoot(root, path),
    idmapMount: native.idmapMount,
    runtimeCommand: (args) =>
      new Promise((resolve, reject) => {
        execFile(runtimePath, args, { encoding: 'utf8', timeout: 30_000 }, (err, _out, stderr) => {
          if (err === null) return resolve();
          const line = stderr.trim().split('\n')[0]?.replace(/^tsswarm-runtime: /, '') || err.message;
          reject(new RuntimeCommandError(`${args.slice(-2).join(' ')}: ${line}`));
        });
      }),
  };
}
