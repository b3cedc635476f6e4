/**
 * Writes planned layer entries as a POSIX (ustar + PAX) tar stream. The tar
 * encoding is tar-stream's (npm `tar-stream`): headers, long names through PAX,
 * padding and the end-of-archive blocks are not ours to get wrong. Two things it
 * does not do are handled here:
 *
 * - a binary PAX value. tar-stream writes PAX values as UTF-8 text, but GNU tar
 *   (the unpacker, agent/image/unpack.ts), Go's archive/tar and containerd read
 *   `SCHILY.xattr.*` values as raw bytes, and a capability set holds bytes such
 *   as 0x80 (cap_setuid). The value goes in as an ASCII placeholder of the same
 *   byte length, which keeps every length tar-stream computes right, and the one
 *   chunk carrying the PAX records is patched as tar-stream pushes it; a guard
 *   fails the layer if that chunk never came, so a tar-stream change cannot make
 *   a silently wrong layer.
 * - numbers its 6-digit octal fields cannot hold: a uid or gid above 262143 goes
 *   in PAX `uid`/`gid` (which GNU tar reads); a device number that large is
 *   refused.
 */
import { createReadStream } from 'node:fs';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import { LayerEntryError } from './layer-errors';
import type { LayerEntry } from './upper-entries';

const CAPABILITY_KEY = 'SCHILY.xattr.security.capability';
/** The largest number a tar-stream ustar id or device field holds (six octal digits). */
const MAX_OCTAL6 = 0o777777;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** A tar stream of `entries`; an entry that cannot be read or encoded destroys it with the reason. */
export function layerTar(entries: readonly LayerEntry[], signal?: AbortSignal): Pack {
  const pack = tarPack();
  const patcher = new PaxValuePatcher(pack);
  void (async () => {
    for (const entry of entries) {
      signal?.throwIfAborted();
      await writeEntry(pack, patcher, entry);
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))));
  return pack;
}

async function writeEntry(pack: Pack, patcher: PaxValuePatcher, e: LayerEntry): Promise<void> {
  if (e.devmajor > MAX_OCTAL6 || e.devminor > MAX_OCTAL6) {
    throw new LayerEntryError(e.name, `${e.name}: device ${e.devmajor}:${e.devminor} is too large for a tar header`);
  }
  const pax: Record<string, string> = {};
  if (e.uid > MAX_OCTAL6) pax['uid'] = String(e.uid);
  if (e.gid > MAX_OCTAL6) pax['gid'] = String(e.gid);
  // Last, so that its record is the last one in the chunk (see PaxValuePatcher).
  if (e.capability !== null) pax[CAPABILITY_KEY] = patcher.expect(CAPABILITY_KEY, e.capability);
  const header: Header = {
    name: e.name,
    type: e.type,
    // With its file-type bits: tar-stream replaces a mode of 0 (a real `chmod 000`) with a
    // default, and keeps only the low 12 bits when it encodes.
    mode: e.mode | (e.type === 'directory' ? S_IFDIR : S_IFREG),
    uid: Math.min(e.uid, MAX_OCTAL6),
    gid: Math.min(e.gid, MAX_OCTAL6),
    mtime: new Date(e.mtime * 1000),
    size: e.size,
    linkname: e.linkname ?? '',
    uname: '',
    gname: '',
    devmajor: e.devmajor,
    devminor: e.devminor,
    pax: Object.keys(pax).length > 0 ? pax : null,
  };
  const done = new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(wrap(e, err)) : resolve()));
    // The entry's failure arrives through the callback above; the sink's 'error' event repeats it.
    sink.on('error', () => {});
    if (e.type !== 'file') return;
    feed(sink, e).catch((err: unknown) => {
      sink.destroy(err instanceof Error ? err : new Error(String(err)));
      reject(wrap(e, err));
    });
  });
  await done;
  patcher.check(e.name);
}

type Sink = ReturnType<Pack['entry']>;

/** Streams a file's content (none for a whiteout or opaque marker) into its entry. */
async function feed(sink: Sink, e: LayerEntry): Promise<void> {
  if (e.source !== null) {
    for await (const chunk of createReadStream(e.source)) {
      if (!sink.write(chunk as Buffer)) await drained(sink);
    }
  }
  sink.end(undefined); // streamx types want an argument; none means "no more data"
}

/** Rejects when the entry is destroyed instead (the pack failed or was aborted), so the file gets closed. */
function drained(sink: Sink): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      sink.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      sink.off('drain', onDrain);
      reject(new Error('the tar stream was closed'));
    };
    sink.once('drain', onDrain);
    sink.once('close', onClose);
  });
}

function wrap(e: LayerEntry, err: unknown): Error {
  if (err instanceof LayerEntryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // tar-stream says "Size mismatch" when a file changed while it was read.
  return new LayerEntryError(e.name, `${e.name}: cannot be written to the layer: ${message}`, { cause: err });
}

/** See the file comment: swaps a same-length placeholder for the raw bytes as tar-stream pushes them. */
class PaxValuePatcher {
  private pending: { record: Buffer; value: Buffer } | null = null;

  constructor(pack: Pack) {
    const push = pack.push.bind(pack);
    pack.push = (chunk: unknown): boolean => {
      if (this.pending !== null && Buffer.isBuffer(chunk)) {
        const { record, value } = this.pending;
        const at = chunk.lastIndexOf(record);
        if (at >= 0) {
          const patched = Buffer.from(chunk);
          // The record is " <key>=<placeholder>\n"; the value sits between '=' and the newline.
          value.copy(patched, at + record.length - 1 - value.length);
          this.pending = null;
          return push(patched);
        }
      }
      return push(chunk);
    };
  }

  /** The placeholder to put in the header's PAX values for `value`. */
  expect(key: string, value: Buffer): string {
    const placeholder = '?'.repeat(value.length);
    this.pending = { record: Buffer.from(` ${key}=${placeholder}\n`), value };
    return placeholder;
  }

  check(name: string): void {
    if (this.pending === null) return;
    this.pending = null;
    throw new LayerEntryError(name, `${name}: tar-stream did not write its PAX records as this writer expects; the capability would be lost`);
  }
}
