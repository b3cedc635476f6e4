/**
 * Unpacks one verified layer blob into a directory as root: owners, modes and
 * file capabilities as the image says (GNU tar, which also recognises gzip and
 * zstd by itself; zstd through Debian's `zstd`), then whiteouts converted for overlayfs. The uncompressed stream is
 * hashed at the same time and must match the config's diff id, because the
 * diff id names the directory that other images will share.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DigestTap } from '../../shared/digest-stream';
import type { LayerCompression } from '../../shared/oci';
import { runCommand } from './command';
import { ImagePullError } from '../../shared/registry/errors';
import { convertWhiteouts } from './whiteouts';

export async function unpackLayer(
  blobFile: string,
  compression: LayerCompression,
  diffId: string,
  fsDir: string,
  signal: AbortSignal,
): Promise<void> {
  const extract = runCommand(
    'tar',
    [
      '--extract',
      '--file',
      blobFile,
      '--directory',
      fsDir,
      '--numeric-owner',
      '--same-owner',
      '--same-permissions',
      // File capabilities (ping, etc.) travel as this xattr; no other namespace is
      // taken from an image, so a layer cannot forge trusted.overlay.* marks.
      '--xattrs',
      '--xattrs-include=security.capability',
    ],
    signal,
  );
  const verify = compression === 'gzip' ? gunzipDigest(blobFile, signal) : compression === 'zstd' ? zstdDigest(blobFile, signal) : null;
  const [tarResult, digestResult] = await Promise.allSettled([extract, verify]);
  if (signal.aborted) throw signal.reason;
  if (digestResult.status === 'rejected') {
    throw new ImagePullError(`layer ${diffId}: not valid ${compression} (${(digestResult.reason as Error).message})`, { temporary: false, cause: digestResult.reason });
  }
  if (digestResult.value !== null && digestResult.value !== diffId) {
    throw new ImagePullError(`layer does not match the image config: uncompressed digest ${digestResult.value}, config says ${diffId}`, { temporary: false });
  }
  if (tarResult.status === 'rejected') {
    throw new ImagePullError(`layer ${diffId}: cannot unpack: ${(tarResult.reason as Error).message}`, { temporary: false, cause: tarResult.reason });
  }
  await convertWhiteouts(fsDir, signal);
}

async function gunzipDigest(file: string, signal: AbortSignal): Promise<string> {
  const tap = new DigestTap();
  await pipeline(createReadStream(file), createGunzip(), tap, new Writable({ write: (_c, _e, done) => done() }), { signal });
  return tap.digest();
}

/** Node 20 has no zstd in zlib: the uncompressed stream comes from `zstd -dc`. */
async function zstdDigest(file: string, signal: AbortSignal): Promise<string> {
  const child = spawn('zstd', ['-dc', '--', file], { stdio: ['ignore', 'pipe', 'pipe'], signal });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const tap = new DigestTap();
  await pipeline(child.stdout, tap, new Writable({ write: (_c, _e, done) => done() }), { signal });
  const code = await exited;
  if (code !== 0) throw new Error(stderr.trim().split('\n')[0] || `zstd exited with ${code}`);
  return tap.digest();
}
