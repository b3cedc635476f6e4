/** Digests of a layer file: the blob digest (as stored) and the diff id (of the uncompressed tar). */
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DigestTap } from '../../shared/digest-stream';
import type { LayerCompression } from '../../shared/oci';

export interface LayerDigests {
  digest: string;
  size: number;
  diffId: string;
  compression: LayerCompression;
}

/** Layers are recognised by content, not by name: docker save writes both plain and gzip tars as `layer.tar`. */
export async function isGzipFile(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

function sink(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

/**
 * Hashes `file` (optionally copying it to `copyTo` in the same pass). For a gzip
 * layer the uncompressed stream is hashed too, which also proves it inflates.
 */
export async function digestLayerFile(file: string, copyTo: string | null = null): Promise<LayerDigests> {
  const gzip = await isGzipFile(file);
  const raw = new DigestTap();
  await pipeline(createReadStream(file), raw, copyTo === null ? sink() : createWriteStream(copyTo, { flags: 'wx' }));
  if (!gzip) return { digest: raw.digest(), size: raw.size, diffId: raw.digest(), compression: 'none' };
  const plain = new DigestTap();
  await pipeline(createReadStream(copyTo ?? file), createGunzip(), plain, sink());
  return { digest: raw.digest(), size: raw.size, diffId: plain.digest(), compression: 'gzip' };
}
