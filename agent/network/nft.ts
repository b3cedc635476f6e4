/**
 * Applies nftables rulesets: through libnftables in this process when the
 * addon can load it (no process per write), else by running `nft -f -`
 * (inside a sandbox through `nsenter --net=`, which enters only the network
 * namespace, so /sys stays the host's).
 */
import { NativeError } from '../../shared/errors';
import * as native from '../runtime/native';
import { runCommand } from './command';

const ENOSYS = 38;

/** null until the first call finds out whether the library loads. */
let inProcess: boolean | null = null;

export interface NftResult {
  ok: boolean;
  /** nft's error message when not ok. */
  error: string;
}

/** Applies `script` in the netns at `netns` (null: this process's). Rejects only when nothing could run. */
export async function applyNft(netns: string | null, script: string): Promise<NftResult> {
  if (inProcess !== false) {
    try {
      await native.nftApply(netns, script);
      inProcess = true;
      return { ok: true, error: '' };
    } catch (e) {
      if (!(e instanceof NativeError)) throw e;
      // The addon appends strerror and the errno name; for a rejected ruleset only nft's words matter.
      if (e.errno !== ENOSYS) return { ok: false, error: e.syscall === 'nft' ? e.message.replace(/: [^:]*\(E[A-Z]+\)$/, '') : e.message };
      inProcess = false;
    }
  }
  return spawnNft(netns, script);
}

async function spawnNft(netns: string | null, script: string): Promise<NftResult> {
  const r = await runCommand(netns === null ? ['nft', '-f', '-'] : ['nsenter', `--net=${netns}`, 'nft', '-f', '-'], script);
  return { ok: r.code === 0, error: r.stderr.trim() };
}
