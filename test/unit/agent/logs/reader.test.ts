import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fsp = require('node:fs/promises');
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { logFiles, readLog, removeLogFiles, tailStart, type LogChunk, type ReadLogOptions } from '../../../../agent/logs/reader';

/** The i-th time of a test's log: fixed width, so it orders as a string. */
const time = (i: number) => `2026-12-03T08:00:00.${String(i).padStart(9, '0')}Z`;
/** One framed record, as the shim writes it. */
const rec = (i: number, text = `line ${i}`, stream: 'stdout' | 'stderr' = 'stdout', tag: 'F' | 'P' = 'F') => `${time(i)} ${stream} ${tag} ${text}\n`;
const recs = (...ns: number[]) => ns.map((n) => rec(n)).join('');

interface Seen {
  time: string;
  stream: string;
  partial: boolean;
  text: string;
}
const seen = (c: LogChunk): Seen[] => ('records' in c ? c.records.map((r) => ({ time: r.time, stream: r.stream, partial: r.partial, text: r.text.toString('utf8') })) : []);
const texts = (chunks: LogChunk[]) => chunks.flatMap(seen).map((r) => r.text);

let root: string;
let seq = 0;
/** A fresh log path (its directory exists, the file does not). */
const logPath = () => path.join(root, `t${++seq}`, 'task.log');

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsswarm-log-reader-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

function newLog(files: Record<string, string>): string {
  const p = logPath();
  fs.mkdirSync(path.dirname(p), { recursive: true });
  for (const [suffix, text] of Object.entries(files)) fs.writeFileSync(`${p}${suffix}`, text);
  return p;
}

function options(o: Partial<ReadLogOptions> = {}): ReadLogOptions {
  return { tail: -1, since: '', until: '', follow: false, ended: () => true, signal: new AbortController().signal, ...o };
}

async function readAll(p: string, o: Partial<ReadLogOptions> = {}): Promise<LogChunk[]> {
  const chunks: LogChunk[] = [];
  for await (const c of readLog(p, options(o))) chunks.push(c);
  return chunks;
}

/** The generator's next chunk, or a failure after `ms` (a follow that never delivers must not hang the suite). */
async function next(g: AsyncGenerator<LogChunk>, ms = 5000): Promise<IteratorResult<LogChunk>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no chunk within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([g.next(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Chunks until `done(texts so far)` holds. */
async function until(g: AsyncGenerator<LogChunk>, done: (t: string[]) => boolean, into: LogChunk[] = []): Promise<LogChunk[]> {
  while (!done(texts(into))) {
    const r = await next(g);
    if (r.done) break;
    into.push(r.value);
  }
  return into;
}

/** Chunks up to and with the {caughtUp} one. */
async function toCaughtUp(g: AsyncGenerator<LogChunk>, into: LogChunk[] = []): Promise<LogChunk[]> {
  while (!into.some((c) => 'caughtUp' in c)) {
    const r = await next(g);
    if (r.done) throw new Error(`finished before caughtUp, after ${JSON.stringify(texts(into))}`);
    into.push(r.value);
  }
  return into;
}

/** Everything the generator still yields until it finishes. */
async function rest(g: AsyncGenerator<LogChunk>): Promise<LogChunk[]> {
  const out: LogChunk[] = [];
  for (;;) {
    const r = await next(g);
    if (r.done) return out;
    out.push(r.value);
  }
}

describe('logFiles', () => {
  it('lists rotated generations oldest first, then the current file', async () => {
    const p = newLog({ '.2': '', '.1': '', '': '' });
    assert.deepEqual(await logFiles(p), [`${p}.2`, `${p}.1`, p]);
  });

  it('is the current file alone when it has not rotated', async () => {
    const p = newLog({ '': '' });
    assert.deepEqual(await logFiles(p), [p]);
  });

  it('names the current file even before it exists', async () => {
    const p = newLog({});
    assert.deepEqual(await logFiles(p), [p]);
  });

  it('lists the rotated files while the current one is missing (between a rename and the new file)', async () => {
    const p = newLog({ '.1': '' });
    assert.deepEqual(await logFiles(p), [`${p}.1`, p]);
  });

  it('does not take other files of the directory', async () => {
    const p = newLog({ '': '', '.1': '' });
    fs.writeFileSync(`${p}.bak`, '');
    fs.writeFileSync(path.join(path.dirname(p), 'other.log.1'), '');
    assert.deepEqual(await logFiles(p), [`${p}.1`, p]);
  });
});

describe('tailStart', () => {
  const single: { name: string; text: string; n: number; want: { file: number; offset: number } }[] = [
    { name: 'n = 0 is the end of the current file', text: 'a\nb\nc\n', n: 0, want: { file: 0, offset: 6 } },
    { name: 'n = 1 is the last line', text: 'a\nb\nc\n', n: 1, want: { file: 0, offset: 4 } },
    { name: 'n = 2', text: 'a\nb\nc\n', n: 2, want: { file: 0, offset: 2 } },
    { name: 'n = 3 of three lines is the start', text: 'a\nb\nc\n', n: 3, want: { file: 0, offset: 0 } },
    { name: 'n more than there are is the start', text: 'a\nb\nc\n', n: 10, want: { file: 0, offset: 0 } },
    { name: 'n < 0 is everything', text: 'a\nb\nc\n', n: -1, want: { file: 0, offset: 0 } },
    { name: 'without a trailing newline, n = 1 is the unfinished last line', text: 'a\nb\nc', n: 1, want: { file: 0, offset: 4 } },
    { name: 'without a trailing newline, n = 3', text: 'a\nbb\nccc', n: 3, want: { file: 0, offset: 0 } },
    { name: 'without a trailing newline, n = 0 is the end', text: 'a\nb\nc', n: 0, want: { file: 0, offset: 5 } },
    { name: 'empty lines count', text: 'a\n\n\n', n: 2, want: { file: 0, offset: 2 } },
    { name: 'an empty file', text: '', n: 3, want: { file: 0, offset: 0 } },
  ];
  for (const c of single) {
    it(c.name, async () => {
      const p = newLog({ '': c.text });
      assert.deepEqual(await tailStart(await logFiles(p), c.n), c.want);
    });
  }

  const rotated: { name: string; files: Record<string, string>; n: number; want: { file: number; offset: number } }[] = [
    // files: x.log.1 = "a\nb\n" (index 0), x.log = "c\nd\n" (index 1)
    { name: 'n = 0 is the end of the current file', files: { '.1': 'a\nb\n', '': 'c\nd\n' }, n: 0, want: { file: 1, offset: 4 } },
    { name: 'n = 2 is the current file’s start', files: { '.1': 'a\nb\n', '': 'c\nd\n' }, n: 2, want: { file: 1, offset: 0 } },
    { name: 'n = 3 reaches back across the rotation', files: { '.1': 'a\nb\n', '': 'c\nd\n' }, n: 3, want: { file: 0, offset: 2 } },
    { name: 'n = 4 is the rotated file’s start', files: { '.1': 'a\nb\n', '': 'c\nd\n' }, n: 4, want: { file: 0, offset: 0 } },
    { name: 'n more than there are is the oldest file’s start', files: { '.2': 'x\n', '.1': 'a\nb\n', '': 'c\nd\n' }, n: 99, want: { file: 0, offset: 0 } },
    { name: 'across two rotations', files: { '.2': 'x\ny\n', '.1': 'a\n', '': 'c\n' }, n: 3, want: { file: 0, offset: 2 } },
    { name: 'an empty current file (just rotated): n = 1 is the rotated file’s last line', files: { '.1': 'a\nb\n', '': '' }, n: 1, want: { file: 0, offset: 2 } },
    { name: 'a current file without a trailing newline', files: { '.1': 'a\nb\n', '': 'c\nd' }, n: 3, want: { file: 0, offset: 2 } },
  ];
  for (const c of rotated) {
    it(`rotated: ${c.name}`, async () => {
      const p = newLog(c.files);
      assert.deepEqual(await tailStart(await logFiles(p), c.n), c.want);
    });
  }

  it('a current file that is missing counts as empty', async () => {
    const p = newLog({ '.1': 'a\nb\n' });
    const files = await logFiles(p);
    assert.deepEqual(await tailStart(files, 1), { file: 0, offset: 2 });
    // n = 0: nothing of the rotated file, so from the (missing) current one.
    assert.deepEqual(await tailStart(files, 0), { file: 1, offset: 0 });
  });

  it('finds line starts beyond its 64 KiB read buffer', async () => {
    const long = 'x'.repeat(100_000);
    const p = newLog({ '': `${long}\n${long}\nshort\n` });
    const files = await logFiles(p);
    assert.deepEqual(await tailStart(files, 1), { file: 0, offset: 2 * (long.length + 1) });
    assert.deepEqual(await tailStart(files, 2), { file: 0, offset: long.length + 1 });
    assert.deepEqual(await tailStart(files, 3), { file: 0, offset: 0 });
  });
});

describe('readLog', () => {
  it('reads every record of the rotated files and the current one, oldest first', async () => {
    const p = newLog({ '.2': recs(1, 2), '.1': recs(3), '': recs(4, 5) });
    const got = (await readAll(p)).flatMap(seen);
    assert.deepEqual(
      got.map((r) => [r.time, r.text]),
      [1, 2, 3, 4, 5].map((i) => [time(i), `line ${i}`]),
    );
  });

  it('keeps each record’s stream and partial tag', async () => {
    const p = newLog({ '': rec(1, 'out') + rec(2, 'err', 'stderr') + rec(3, 'piece', 'stdout', 'P') + rec(4, 'rest') });
    assert.deepEqual((await readAll(p)).flatMap(seen), [
      { time: time(1), stream: 'stdout', partial: false, text: 'out' },
      { time: time(2), stream: 'stderr', partial: false, text: 'err' },
      { time: time(3), stream: 'stdout', partial: true, text: 'piece' },
      { time: time(4), stream: 'stdout', partial: false, text: 'rest' },
    ]);
  });

  it('a line that is not a record comes on stdout at the time of the record before it', async () => {
    const p = newLog({ '': `${rec(1)}not framed\n${rec(2, 'e', 'stderr')}` });
    assert.deepEqual((await readAll(p)).flatMap(seen), [
      { time: time(1), stream: 'stdout', partial: false, text: 'line 1' },
      { time: time(1), stream: 'stdout', partial: false, text: 'not framed' },
      { time: time(2), stream: 'stderr', partial: false, text: 'e' },
    ]);
  });

  it('no log file: nothing, and no error', async () => {
    assert.deepEqual(await readAll(newLog({})), []);
  });

  it('only a rotated file (the current one not yet created): its records', async () => {
    const p = newLog({ '.1': recs(1, 2) });
    assert.deepEqual(texts(await readAll(p)), ['line 1', 'line 2']);
  });

  it('reads lines that cross its read chunks whole', async () => {
    const n = 3000;
    const body = Array.from({ length: n }, (_, i) => rec(i + 1, `${String(i + 1).padStart(5, '0')} ${'y'.repeat(200)}`)).join('');
    assert.ok(body.length > 2 * 256 * 1024);
    const p = newLog({ '': body });
    const got = (await readAll(p)).flatMap(seen);
    assert.equal(got.length, n);
    got.forEach((r, i) => {
      assert.equal(r.time, time(i + 1));
      assert.equal(r.text, `${String(i + 1).padStart(5, '0')} ${'y'.repeat(200)}`);
    });
  });

  describe('tail', () => {
    const files = () => newLog({ '.2': recs(1, 2), '.1': recs(3), '': recs(4, 5) });
    const table: [number, number[]][] = [
      [0, []],
      [1, [5]],
      [2, [4, 5]],
      [3, [3, 4, 5]],
      [4, [2, 3, 4, 5]],
      [5, [1, 2, 3, 4, 5]],
      [50, [1, 2, 3, 4, 5]],
      [-1, [1, 2, 3, 4, 5]],
    ];
    for (const [n, want] of table) {
      it(`tail ${n} → ${want.join(',') || 'nothing'}`, async () => {
        assert.deepEqual(texts(await readAll(files(), { tail: n })), want.map((i) => `line ${i}`));
      });
    }
  });

  describe('since and until', () => {
    const files = () => newLog({ '.1': recs(1, 2, 3), '': recs(4, 5, 6) });
    const table: { name: string; since: string; until: string; want: number[] }[] = [
      { name: 'since is inclusive', since: time(3), until: '', want: [3, 4, 5, 6] },
      { name: 'until is inclusive', since: '', until: time(4), want: [1, 2, 3, 4] },
      { name: 'both', since: time(2), until: time(5), want: [2, 3, 4, 5] },
      { name: 'since after everything', since: time(7), until: '', want: [] },
      { name: 'until before everything', since: '', until: time(0), want: [] },
      { name: 'a single instant', since: time(4), until: time(4), want: [4] },
    ];
    for (const c of table) {
      it(c.name, async () => {
        assert.deepEqual(texts(await readAll(files(), { since: c.since, until: c.until })), c.want.map((i) => `line ${i}`));
      });
    }

    it('tail counts lines before since filters them', async () => {
      assert.deepEqual(texts(await readAll(files(), { tail: 3, since: time(5) })), ['line 5', 'line 6']);
    });

    it('stops at the first record past until', async () => {
      // A record out of order after it is not let through either: the file is in time order.
      const p = newLog({ '': recs(1, 2, 9, 3) });
      assert.deepEqual(texts(await readAll(p, { until: time(5) })), ['line 1', 'line 2']);
    });
  });

  describe('follow', () => {
    it('yields the backlog, then {caughtUp} once, then records appended after it', async () => {
      const p = newLog({ '': recs(1, 2) });
      const ac = new AbortController();
      const g = readLog(p, options({ follow: true, ended: () => false, signal: ac.signal }));
      try {
        const chunks = await toCaughtUp(g);
        fs.appendFileSync(p, rec(3));
        await until(g, (t) => t.includes('line 3'), chunks);
        fs.appendFileSync(p, recs(4, 5));
        await until(g, (t) => t.includes('line 5'), chunks);
        assert.deepEqual(texts(chunks), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
        const kinds = chunks.map((c) => ('caughtUp' in c ? 'caughtUp' : seen(c).map((r) => r.text).join('+')));
        assert.equal(kinds.filter((k) => k === 'caughtUp').length, 1, kinds.join(' | '));
        const at = kinds.indexOf('caughtUp');
        assert.deepEqual(texts(chunks.slice(0, at)), ['line 1', 'line 2'], kinds.join(' | '));
        assert.deepEqual(texts(chunks.slice(at + 1)), ['line 3', 'line 4', 'line 5'], kinds.join(' | '));
      } finally {
        ac.abort();
        await g.return(undefined);
      }
    });

    it('with tail 0, only what is written after it started', async () => {
      const p = newLog({ '': recs(1, 2) });
      const ac = new AbortController();
      const g = readLog(p, options({ follow: true, tail: 0, ended: () => false, signal: ac.signal }));
      try {
        const first = await next(g);
        assert.deepEqual(first.value, { caughtUp: true });
        fs.appendFileSync(p, rec(3));
        assert.deepEqual(texts(await until(g, (t) => t.includes('line 3'))), ['line 3']);
      } finally {
        ac.abort();
        await g.return(undefined);
      }
    });

    it('waits for a log file that has no records yet', async () => {
      const p = newLog({ '': '' });
      const ac = new AbortController();
      const g = readLog(p, options({ follow: true, ended: () => false, signal: ac.signal }));
      try {
        assert.deepEqual((await next(g)).value, { caughtUp: true });
        fs.appendFileSync(p, rec(1));
        assert.deepEqual(texts(await until(g, (t) => t.length > 0)), ['line 1']);
      } finally {
        ac.abort();
        await g.return(undefined);
      }
    });

    it('records appended while the backlog is read come once each, in order', async () => {
      const p = newLog({ '': recs(1, 2) });
      const ac = new AbortController();
      let ended = false;
      const g = readLog(p, options({ follow: true, ended: () => ended, signal: ac.signal }));
      try {
        const chunks = await until(g, (t) => t.includes('line 2'));
        fs.appendFileSync(p, recs(3, 4));
        await until(g, (t) => t.includes('line 4'), chunks);
        ended = true;
        chunks.push(...(await rest(g)));
        assert.deepEqual(texts(chunks), ['line 1', 'line 2', 'line 3', 'line 4']);
        assert.equal(chunks.filter((c) => 'caughtUp' in c).length, 1);
      } finally {
        ac.abort();
      }
    });

    it('follows the log across rotations, losing and repeating nothing', async () => {
      const p = newLog({ '': recs(1, 2) });
      const ac = new AbortController();
      let ended = false;
      const g = readLog(p, options({ follow: true, ended: () => ended, signal: ac.signal }));
      try {
        const chunks = await toCaughtUp(g);
        assert.deepEqual(texts(chunks), ['line 1', 'line 2']);
        // The shim's rotation: the last record into the old file, rename, a new file.
        fs.appendFileSync(p, rec(3));
        fs.renameSync(p, `${p}.1`);
        fs.writeFileSync(p, rec(4));
        await until(g, (t) => t.includes('line 4'), chunks);
        fs.appendFileSync(p, rec(5));
        await until(g, (t) => t.includes('line 5'), chunks);
        // A second rotation while the reader waits for a change.
        fs.appendFileSync(p, rec(6));
        fs.renameSync(`${p}.1`, `${p}.2`);
        fs.renameSync(p, `${p}.1`);
        fs.writeFileSync(p, rec(7));
        await until(g, (t) => t.includes('line 7'), chunks);
        fs.appendFileSync(p, rec(8));
        ended = true;
        chunks.push(...(await rest(g)));
        assert.deepEqual(texts(chunks), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `line ${i}`));
      } finally {
        ac.abort();
      }
    });

    it('a rotation right after its last read of the old file loses nothing (the shim writes, then renames)', async () => {
      // The reader reads the old file to its end, then stats the path to see whether it rotated.
      // If the shim appends to the old file and then rotates in between, what it appended is still
      // only in the old file. This test runs the shim's two steps exactly in that gap.
      const p = newLog({ '': recs(1, 2) });
      const ac = new AbortController();
      let ended = false;
      const realStat = fsp.stat;
      let armed = false;
      fsp.stat = (async (...args: Parameters<typeof fsp.stat>) => {
        if (armed && args[0] === p) {
          armed = false;
          fs.appendFileSync(p, rec(3));
          fs.renameSync(p, `${p}.1`);
          fs.writeFileSync(p, rec(4));
        }
        return realStat(...args);
      }) as typeof fsp.stat;
      const g = readLog(p, options({ follow: true, ended: () => ended, signal: ac.signal }));
      try {
        const chunks = await toCaughtUp(g);
        armed = true;
        await until(g, (t) => t.includes('line 4'), chunks);
        ended = true;
        chunks.push(...(await rest(g)));
        assert.equal(armed, false, 'the reader did not stat the log path while following');
        assert.deepEqual(texts(chunks), ['line 1', 'line 2', 'line 3', 'line 4']);
      } finally {
        fsp.stat = realStat;
        ac.abort();
      }
    });

    it('a truncation in place (max-file 1) starts the file again from 0', async () => {
      const p = newLog({ '': recs(1, 2, 3) });
      const ac = new AbortController();
      let ended = false;
      const g = readLog(p, options({ follow: true, ended: () => ended, signal: ac.signal }));
      try {
        const chunks = await toCaughtUp(g);
        fs.truncateSync(p, 0);
        fs.appendFileSync(p, rec(4));
        await until(g, (t) => t.includes('line 4'), chunks);
        ended = true;
        chunks.push(...(await rest(g)));
        assert.deepEqual(texts(chunks), ['line 1', 'line 2', 'line 3', 'line 4']);
      } finally {
        ac.abort();
      }
    });

    it('once ended() is true, yields what remains (an unfinished last line too) and finishes', async () => {
      const p = newLog({ '': recs(1) });
      const ac = new AbortController();
      let ended = false;
      let asked = 0;
      const g = readLog(
        p,
        options({
          follow: true,
          ended: () => {
            asked++;
            return ended;
          },
          signal: ac.signal,
        }),
      );
      try {
        const chunks = await toCaughtUp(g);
        fs.appendFileSync(p, `${rec(2)}${time(3)} stdout F no newline`);
        ended = true;
        chunks.push(...(await rest(g)));
        assert.deepEqual(texts(chunks), ['line 1', 'line 2', 'no newline']);
        assert.ok(asked >= 1);
        // Finished: nothing more, even when more is written.
        fs.appendFileSync(p, rec(4));
        assert.equal((await next(g)).done, true);
      } finally {
        ac.abort();
      }
    });

    it('an ended() that is a promise is awaited', async () => {
      const p = newLog({ '': recs(1) });
      const ac = new AbortController();
      let ended = false;
      const g = readLog(p, options({ follow: true, ended: async () => ended, signal: ac.signal }));
      try {
        const chunks = await toCaughtUp(g);
        fs.appendFileSync(p, rec(2));
        ended = true;
        chunks.push(...(await rest(g)));
        assert.deepEqual(texts(chunks), ['line 1', 'line 2']);
      } finally {
        ac.abort();
      }
    });

    it('until ends a follow at the first record past it', async () => {
      const p = newLog({ '': recs(1) });
      const ac = new AbortController();
      const g = readLog(p, options({ follow: true, until: time(2), ended: () => false, signal: ac.signal }));
      try {
        const chunks = await toCaughtUp(g);
        fs.appendFileSync(p, recs(2, 3, 4));
        chunks.push(...(await rest(g)));
        assert.deepEqual(texts(chunks), ['line 1', 'line 2']);
      } finally {
        ac.abort();
      }
    });

    it('aborting the signal ends it', async () => {
      const p = newLog({ '': recs(1) });
      const ac = new AbortController();
      const g = readLog(p, options({ follow: true, ended: () => false, signal: ac.signal }));
      assert.deepEqual(texts(await toCaughtUp(g)), ['line 1']);
      const pending = next(g); // waiting for a change that never comes
      setTimeout(() => ac.abort(), 20);
      const r = await pending;
      assert.equal(r.done, true);
    });

    it('an already aborted signal reads nothing more', async () => {
      const p = newLog({ '': recs(1, 2) });
      const ac = new AbortController();
      ac.abort();
      const chunks = await rest(readLog(p, options({ follow: true, ended: () => false, signal: ac.signal })));
      assert.deepEqual(texts(chunks), []);
    });
  });
});

describe('removeLogFiles', () => {
  it('removes the current file and every rotated generation, nothing else', async () => {
    const p = newLog({ '.2': 'x', '.1': 'y', '': 'z' });
    const other = path.join(path.dirname(p), 'other.log');
    fs.writeFileSync(other, '');
    await removeLogFiles(p);
    assert.deepEqual(fs.readdirSync(path.dirname(p)), ['other.log']);
  });

  it('removes rotated files when the current one is gone', async () => {
    const p = newLog({ '.1': 'y' });
    await removeLogFiles(p);
    assert.deepEqual(fs.readdirSync(path.dirname(p)), []);
  });

  it('nothing to remove is not an error', async () => {
    const p = newLog({});
    await removeLogFiles(p);
    await removeLogFiles(p);
    assert.deepEqual(fs.readdirSync(path.dirname(p)), []);
  });
});
