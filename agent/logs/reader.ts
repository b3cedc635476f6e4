/**
 * Reading a task's log: its files (`<id>.log` and, where it rotates, `<id>.log.1` ... oldest
 * last, native/src/log-relay.h), oldest first, as records (record.ts), from the last `tail` lines
 * or all of them, within `since`/`until`, and with `follow` on as the shim writes more, across its
 * rotations, until the container is gone and the file holds all it wrote.
 *
 * A rotation renames the file under us: the open descriptor keeps reading the renamed file to its
 * end, then the new file is opened from its start. A max-file 1 rotation truncates the file in
 * place instead: a size below what was read means start again from 0.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { parseRecord, type LogRecord } from './record';
import { pathExists } from '../../shared/path-exists';

export interface ReadLogOptions {
  /** The last N records; -1: all. */
  tail: number;
  /** Log-line times (shared/log-time.ts), '' for no bound. */
  since: string;
  until: string;
  follow: boolean;
  /** The container is gone (stopped or removed): what the file holds is all there will be. */
  ended(): boolean | Promise<boolean>;
  signal: AbortSignal;
}

/** What the reader yields: records in file order, and (once, with follow) that the backlog is read. */
export type LogChunk = { records: LogRecord[] } | { caughtUp: true };

const CHUNK = 256 * 1024;
/** With follow, how long to wait for a change before looking anyway (a watch can miss a rename). */
const FOLLOW_POLL_MS = 250;

/** The files of the log at `path`, oldest first (those that exist now). */
export async function logFiles(path: string): Promise<string[]> {
  const older: string[] = [];
  for (let g = 1; ; g++) {
    const name = `${path}.${g}`;
    if (!(await pathExists(name))) break;
    older.push(name);
  }
  return [...older.reverse(), path];
}

/**
 * Where the last `n` lines of `files` start: a file's index and a byte offset in it. Line starts are
 * counted back from the end: after each `\n` but a file's last byte (that ends its last line, or
 * the file is being written), and at each file's start.
 */
export async function tailStart(files: string[], n: number): Promise<{ file: number; offset: number }> {
  if (n < 0) return { file: 0, offset: 0 };
  let wanted = n;
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (let i = files.length - 1; i >= 0; i--) {
    const fh = await open(files[i]!, 'r').catch(() => null);
    if (fh === null) continue;
    try {
      const size = (await fh.stat()).size;
      if (wanted === 0) return i === files.length - 1 ? { file: i, offset: size } : { file: i + 1, offset: 0 };
      if (size === 0) continue;
      for (let end = size; end > 0; ) {
        const start = Math.max(0, end - buf.length);
        const { bytesRead } = await fh.read(buf, 0, end - start, start);
        for (let k = bytesRead - 1; k >= 0; k--) {
          if (buf[k] !== 0x0a || start + k === size - 1) continue;
          if (--wanted === 0) return { file: i, offset: start + k + 1 };
        }
        end = start;
      }
      if (--wanted === 0) return { file: i, offset: 0 };
    } finally {
      await fh.close();
    }
  }
  return { file: 0, offset: 0 };
}

/** Splits chunks of a file into lines (without their `\n`), keeping an unfinished last line for the next chunk. */
class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let from = 0;
    for (let nl = data.indexOf(0x0a, from); nl >= 0; nl = data.indexOf(0x0a, from)) {
      lines.push(data.subarray(from, nl));
      from = nl + 1;
    }
    // A copy: the chunk's buffer is reused by the next read.
    this.rest = Buffer.from(data.subarray(from));
    return lines;
  }
  /** What is left at the very end (a file whose writer is gone and that does not end with \n). */
  flush(): Buffer[] {
    const r = this.rest;
    this.rest = Buffer.alloc(0);
    return r.length ? [r] : [];
  }
  reset(): void {
    this.rest = Buffer.alloc(0);
  }
}

export async function* readLog(path: string, o: ReadLogOptions): AsyncGenerator<LogChunk> {
  const files = await logFiles(path);
  const start = await tailStart(files, o.tail);
  let lastTime = '0000-00-00T00:00:00.000000000Z';
  const buf = Buffer.allocUnsafe(CHUNK);
  const split = new LineSplitter();
  let pastUntil = false;
  const take = (lines: Buffer[]): LogRecord[] => {
    const out: LogRecord[] = [];
    for (const line of lines) {
      const r = parseRecord(line, lastTime);
      lastTime = r.time;
      if (o.until !== '' && r.time > o.until) {
        pastUntil = true;
        break;
      }
      // A copy: the line is a view of the read buffer.
      if (o.since === '' || r.time >= o.since) out.push({ ...r, text: Buffer.from(r.text) });
    }
    return out;
  };
  /** Reads fh from `pos` to its current end; yields what it held. */
  async function* drain(fh: FileHandle, pos: { at: number }): AsyncGenerator<LogChunk> {
    for (;;) {
      if (o.signal.aborted || pastUntil) return;
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos.at);
      if (bytesRead === 0) return;
      pos.at += bytesRead;
      const records = take(split.push(buf.subarray(0, bytesRead)));
      if (records.length) yield { records };
    }
  }
  // The rotated files the tail reaches into, then the current one.
  for (let i = start.file; i < files.length - 1; i++) {
    const fh = await open(files[i]!, 'r').catch(() => null);
    if (fh === null) continue;
    try {
      yield* drain(fh, { at: i === start.file ? start.offset : 0 });
      split.flush();
    } finally {
      await fh.close();
    }
  }
  let fh = await open(path, 'r').catch(() => null);
  const pos = { at: start.file === files.length - 1 ? start.offset : 0 };
  try {
    if (fh === null) return;
    yield* drain(fh, pos);
    if (!o.follow) return;
    yield { caughtUp: true };
    let ino = (await fh.stat()).ino;
    while (!o.signal.aborted && !pastUntil) {
      // Ended is asked before the last read: once the container is gone, one more read gets all.
      const ended = await o.ended();
      yield* drain(fh, pos);
      const now = await stat(path).catch(() => null);
      if (now !== null && now.ino !== ino) {
        // Rotated: what the shim wrote to the old file before it renamed it (it may have, since
        // the read above) is read now, then the new one from its start.
        yield* drain(fh, pos);
        await fh.close();
        fh = await open(path, 'r').catch(() => null);
        if (fh === null) return;
        ino = (await fh.stat()).ino;
        pos.at = 0;
        split.reset();
        continue;
      }
      if (now !== null && now.size < pos.at) {
        pos.at = 0; // truncated in place (max-file 1)
        split.reset();
        continue;
      }
      if (ended) {
        const rest = take(split.flush());
        if (rest.length) yield { records: rest };
        return;
      }
      await changed(path, o.signal);
    }
  } finally {
    await fh?.close();
  }
}

/** Resolves when the file at `path` changes, after FOLLOW_POLL_MS at the latest, or on abort. */
function changed(path: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let w: FSWatcher | null = null;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      w?.close();
      resolve();
    };
    const timer = setTimeout(done, FOLLOW_POLL_MS);
    signal.addEventListener('abort', done, { once: true });
    try {
      w = watch(path, { persistent: false }, done);
      w.on('error', done);
    } catch {
      // gone for a moment (a rotation): the timer looks again
    }
  });
}

/** Removes a log's files (all its generations); nothing to remove is not an error. */
export async function removeLogFiles(path: string): Promise<void> {
  for (const f of await logFiles(path)) await rm(f, { force: true });
}
