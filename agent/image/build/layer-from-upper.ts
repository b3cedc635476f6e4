/**
 * Turns what one build step changed (its overlayfs upper directory) into one
 * OCI image layer: a gzip-compressed POSIX tar whose digests are computed on the
 * way out, never by reading the blob again.
 *
 * The layer is reproducible: entries come in byte-wise path order with their own
 * mtimes (upper-entries.ts), the gzip level is fixed and node:zlib writes no time
 * or name into the gzip header, so the same upper always gives the same digest
 * and the build cache can trust it.
 *
 * The build must mount the step's overlay with `redirect_dir=off,metacopy=off`
 * (the kernel's defaults here): with either on, the upper only makes sense
 * together with its lower layers, and this refuses it (UpperNotSupportedError).
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DigestTap } from '../../../shared/digest-stream';
import { layerTar } from './layer-tar';
import { planLayer } from './upper-entries';
import { readUpperXattrs } from './upper-xattrs';

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Fixed so that the same tar always compresses to the same bytes. */
const GZIP_LEVEL = 6;

export interface BuiltLayer {
  /** sha256 of the compressed blob (the manifest's layer digest). */
  digest: string;
  /** sha256 of the uncompressed tar (the config's diff id). */
  diffId: string;
  /** Bytes of the compressed blob. */
  size: number;
  mediaType: string;
  /**
   * The upper held nothing to write: no file was written (an existing `outFile` is left alone)
   * and the image records an `empty_layer` history entry instead. The digests and size are then
   * those of the empty tar the layer would have been.
   */
  empty: boolean;
  /** Entries written, whiteouts and opaque markers included. */
  entries: number;
}

export interface LayerFromUpperOptions {
  /**
   * Paths relative to the root filesystem (`etc/resolv.conf`, `etc/hosts`, `etc/hostname`) that
   * the build put in the upper for the step's own use. Exact paths only, with anything below.
   */
  exclude?: readonly string[];
  signal?: AbortSignal;
}

export async function layerFromUpper(upperDir: string, outFile: string, options: LayerFromUpperOptions = {}): Promise<BuiltLayer> {
  const { exclude = [], signal } = options;
  const xattrs = await readUpperXattrs(upperDir, signal);
  const entries = await planLayer(upperDir, xattrs, exclude);
  signal?.throwIfAborted();

  const tarTap = new DigestTap();
  const blobTap = new DigestTap();
  const empty = entries.length === 0;
  const out = empty ? discard() : createWriteStream(outFile);
  try {
    await pipeline(layerTar(entries, signal), tarTap, createGzip({ level: GZIP_LEVEL }), blobTap, out, { signal });
  } catch (e) {
    if (!empty) await rm(outFile, { force: true });
    throw e;
  }
  return { digest: blobTap.digest(), diffId: tarTap.digest(), size: blobTap.size, mediaType: LAYER_MEDIA_TYPE, empty, entries: entries.length };
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}
