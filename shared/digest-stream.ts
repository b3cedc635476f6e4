/**
 * A pass-through stream that hashes and counts what flows through it, so a blob
 * can be verified while it is copied, unpacked or served, never read twice.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

export class DigestTap extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** Valid once the stream has finished. */
  digest(): string {
    return 'sha256:' + this.hash.copy().digest('hex');
  }

  get size(): number {
    return this.bytes;
  }
}

/** A file's sha256 so far and its size; the hash can go on taking bytes (a download resumed after it). */
export async function hashFile(file: string): Promise<{ hash: Hash; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash, size };
}
