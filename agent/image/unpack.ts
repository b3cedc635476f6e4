/**
 * Unpacks one layer into a directory as root: owners, modes and file
 * capabilities as the image says (GNU tar), then whiteouts converted for
 * overlayfs. The layer comes as a stream (a download as it arrives, or a file):
 * a compressed one is decompressed once, in this process for gzip and by
 * Debian's `zstd` for zstd, and hashed on its way into tar: it must match the
 * config's diff id, because the diff id names the directory that other images
 * will share. The caller unpacks into a staging directory and renames it into
 * place only after this and its own check of the blob's digest agree.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DigestTap } from '../../shared/digest-stream';
import type { LayerCompression } from '../../shared/oci';
import { runCommand } from './command';
import { ImagePullError } from '../../shared/registry/errors';
import { convertWhiteouts } from './whiteouts';

/** A blob already on disk (verified or not: the diff id is checked all the same). */
export function unpackLayer(blobFile: string, compression: LayerCompression, diffId: string, fsDir: string, signal: AbortSignal): Promise<void> {
  return unpackLayerStream(createReadStream(blobFile), compression, diffId, fsDir, signal);
}

export async function unpackLayerStream(
  blob: Readable,
  compression: LayerCompression,
  diffId: string,
  fsDir: string,
  signal: AbortSignal,
): Promise<void> {
  const tarArgs = [
    '--extract',
    '--directory',
    fsDir,
    '--numeric-owner',
    '--same-owner',
    '--same-permissions',
    // File capabilities (ping, etc.) travel as this xattr; no other namespace is
    // taken from an image, so a layer cannot forge trusted.overlay.* marks.
    '--xattrs',
    '--xattrs-include=security.capability',
  ];
  // Decompressed once (an uncompressed layer is its own diff id): the stream is hashed on its way into tar.
  // The staging directory is renamed into place only after both agree, so a mismatch leaves nothing.
  const tap = new DigestTap();
  let feed: ((w: Writable) => void) | undefined;
  const fed = new Promise<void>((resolve, reject) => {
    feed = (tarIn) => {
      pipeline(decompressed(blob, compression, signal), tap, outlive(tarIn), { signal }).then(resolve, reject);
    };
  });
  const extract = runCommand('tar', [...tarArgs, '--file', '-'], signal, (w) => feed!(w));
  const [tarResult, digestResult] = await Promise.allSettled([extract, fed]);
  if (signal.aborted) throw signal.reason;
  if (digestResult.status === 'rejected') {
    throw new ImagePullError(`layer ${diffId}: not valid ${compression} (${(digestResult.reason as Error).message})`, { temporary: false, cause: digestResult.reason });
  }
  if (tap.digest() !== diffId) {
    throw new ImagePullError(`layer does not match the image config: uncompressed digest ${tap.digest()}, config says ${diffId}`, { temporary: false });
  }
  if (tarResult.status === 'rejected') {
    throw new ImagePullError(`layer ${diffId}: cannot unpack: ${(tarResult.reason as Error).message}`, { temporary: false, cause: tarResult.reason });
  }
  await convertWhiteouts(fsDir, signal);
}

/** The blob's uncompressed bytes: zlib for gzip; `zstd -dc` for zstd (Node 20 has none). */
function decompressed(raw: Readable, compression: LayerCompression, signal: AbortSignal): Readable {
  if (compression === 'none') return raw;
  if (compression === 'gzip') {
    const gz = createGunzip();
    raw.once('error', (e) => gz.destroy(e));
    return raw.pipe(gz);
  }
  const child = spawn('zstd', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'], signal });
  const out = new PassThrough();
  raw.once('error', (e) => {
    out.destroy(e);
    child.kill('SIGKILL');
  });
  child.stdin.on('error', () => undefined); // zstd stopped reading: its exit status says why
  raw.pipe(child.stdin);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.pipe(out, { end: false });
  child.once('error', (e) => out.destroy(e));
  child.once('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(stderr.trim().split('\n')[0] || `zstd exited with ${code}`));
  });
  return out;
}

/**
 * A writable into `tarIn` that keeps accepting after tar has stopped reading (GNU tar may close
 * its input at the end-of-archive blocks), so the whole stream is still hashed.
 */
function outlive(tarIn: Writable): Writable {
  let gone = false;
  tarIn.on('error', () => (gone = true));
  tarIn.on('close', () => (gone = true));
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (gone) return done();
      if (tarIn.write(chunk)) return done();
      const go = () => {
        tarIn.off('drain', go);
        tarIn.off('close', go);
        done();
      };
      tarIn.on('drain', go);
      tarIn.on('close', go);
    },
    final(done) {
      if (!gone) tarIn.end();
      done();
    },
  });
}
