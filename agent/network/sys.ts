/**
 * The seam between the data plane's logic and the machine (as agent/runtime/sys.ts is for
 * containers): HostNetwork talks to this, the real one spawns `ip`/`bridge`/`nft` and calls the
 * addon, unit tests pass a fake that records what would have been run.
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { NativeError } from '../../shared/errors';
import * as native from '../runtime/native';
import { runCommand, type ExecResult } from './command';
import { applyNft, type NftResult } from './nft';

export type { ExecResult } from './command';

export interface NetSys {
  /** Runs argv with `input` on stdin; resolves whatever the exit code, rejects only if it could not run. */
  exec(argv: readonly string[], input: string): Promise<ExecResult>;
  /** Applies an nftables script in this process's network namespace (see nft.ts). */
  nft(script: string): Promise<NftResult>;
  /** The same inside the network namespace at `path` (a sandbox). */
  nftIn(path: string, script: string): Promise<NftResult>;
  /** A new netns (lo up) bind-mounted on `path`, which must not exist. Throws NativeError. */
  netnsCreate(path: string): void;
  /** Inside the netns: address/prefixLen on ifname, ifname up, default route when gateway is given. */
  netnsConfigureIpv4(path: string, ifname: string, address: string, prefixLen: number, gateway: string | null): void;
  /** Unmounts and unlinks a netns file; absent is fine. */
  netnsRemove(path: string): void;
  /** Writes a /proc/sys file (they are per network namespace: this process's). */
  writeSysctl(path: string, value: string): void;
}

const EINVAL = 22;
const ENOENT = 2;

export function nativeNetSys(): NetSys {
  return {
    exec: runCommand,
    nft: (script) => applyNft(null, script),
    nftIn: (path, script) => applyNft(path, script),
    netnsCreate: native.netnsCreate,
    netnsConfigureIpv4: native.netnsConfigureIpv4,
    netnsRemove: (path) => {
      try {
        native.umount(path, native.mountConstants().MNT_DETACH);
      } catch (e) {
        // EINVAL: not a mount point (a file left by a crash between create and mount); ENOENT: gone.
        if (!(e instanceof NativeError && (e.errno === EINVAL || e.errno === ENOENT))) throw e;
      }
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    },
    writeSysctl: (path, value) => writeFileSync(path, value),
  };
}
