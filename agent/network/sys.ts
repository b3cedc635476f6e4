/**
 * The seam between the data plane's logic and the machine (as agent/runtime/sys.ts is for
 * containers): HostNetwork talks to this, the real one spawns `ip`/`bridge`/`nft` and calls the
 * addon, unit tests pass a fake that records what would have been run.
 */
import { spawn } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { NativeError } from '../../shared/errors';
import * as native from '../runtime/native';
import { applyNft, type NftResult } from './nft';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NetSys {
  /** Runs argv with `input` on stdin; resolves whatever the exit code, rejects only if it could not run. */
  exec(argv: readonly string[], input: string): Promise<ExecResult>;
  /** Applies an nftables script in this process's network namespace (see nft.ts). */
  nft(script: string): Promise<NftResult>;
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
    exec: (argv, input) =>
      new Promise((resolve, reject) => {
        const [cmd, ...args] = argv;
        if (cmd === undefined) return reject(new Error('exec: empty argv'));
        const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        child.on('error', reject);
        // EPIPE when the tool exits before reading all of stdin: its exit status says why.
        child.stdin.on('error', () => undefined);
        child.on('close', (code, signal) =>
          resolve({
            code: code ?? (signal === null ? 1 : 128),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          }),
        );
        child.stdin.end(input);
      }),
    nft: (script) => applyNft(null, script),
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
