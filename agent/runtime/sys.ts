/**
 * The syscall seam (as in youki): the runtime's logic talks to these interfaces, the real ones call
 * the addon (native.ts), and unit tests pass fakes so the create/undo sequence runs without root.
 */
import * as native from './native';
import type { ShimStarted } from './native';

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
}

export type { ShimStarted };

export function nativeSys(runtimePath: string = native.runtimePath): RuntimeSys {
  return {
    mount: native.mount,
    umount: native.umount,
    get MNT_DETACH(): number {
      return native.mountConstants().MNT_DETACH;
    },
    startRuntime: (args, logPath) => native.readShimReport(native.spawnRuntime(runtimePath, args, logPath)),
    signalProcess: native.signalProcess,
    readFileInRoot: (root, path) => native.readFileInRoot(root, path),
  };
}
