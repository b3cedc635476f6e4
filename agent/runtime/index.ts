/** The native container runtime: see runtime.ts for the start sequence, native/src/shim.cc for the rest. */
import { detectCgroupDriver } from './cgroups';
import { NativeRuntime } from './runtime';
import { nativeSys } from './sys';
import type { Runtime, RuntimeOptions } from './types';

export type { Runtime, RuntimeOptions, ContainerConfig, ContainerInfo, ExitStatus, RuntimeLimits, UsernsRemap } from './types';
export { NativeRuntime, validateConfig, runtimeArgs } from './runtime';
export { CgroupError, InvalidContainerConfigError } from './errors';

/** A Runtime on the real kernel. `cgroupRoot` defaults to /sys/fs/cgroup (v2 if it is a cgroup2 mount, else v1). */
export function createRuntime(opts: RuntimeOptions & { cgroupRoot?: string }): Runtime {
  return new NativeRuntime(
    {
      root: opts.root,
      cgroupParent: opts.cgroupParent,
      ...(opts.cgroupRoot === undefined ? {} : { cgroupRoot: opts.cgroupRoot }),
      ...(opts.usernsRemap === undefined ? {} : { usernsRemap: opts.usernsRemap }),
    },
    { sys: nativeSys(), cgroups: detectCgroupDriver(opts.cgroupRoot) },
  );
}
