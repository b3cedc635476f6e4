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
  /** Starts a detached shim and resolves once PID 1 has exec'd; rejects with the failed step. */
  startShim(args: string[]): Promise<ShimStarted>;
  /** Signals pid only if it is still the process with this start time; throws NativeError (ESRCH). */
  signalProcess(pid: number, startTime: number, signal: number): void;
}

export type { ShimStarted };

export function nativeSys(shimPath: string = native.shimPath): RuntimeSys {
  return {
    mount: native.mount,
    umount: native.umount,
    get MNT_DETACH(): number {
      return native.mountConstants().MNT_DETACH;
    },
    startShim: (args) => native.readShimReport(native.spawnShim(shimPath, args)),
    signalProcess: native.signalProcess,
  };
}
