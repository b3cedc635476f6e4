/**
 * The shim's framed log (ContainerLog.framed, annotation tsswarm.log.format "cri":
 * native/src/log-relay.h), on the real runtime with real containers: one record per line,
 * `<time> <stream> <tag> <content>\n`, stdout and stderr apart with their own tags and valid,
 * non-decreasing timestamps; a line left without its newline at exit written as F; a long line as
 * 16384-byte P pieces and a final F; records whole across rotated files and within max-size (smaller
 * pieces under a small one); the plain framed file (no max-size) relayed in full before the exit is
 * recorded; a tty's output framed as stdout; interleaved stdout and stderr each in whole records;
 * and the shim's checks of the format annotation.
 *
 * Needs root and the built addon. Everything it creates lives under one temp dir and one cgroup
 * parent, and is removed in `after` even when assertions fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../../agent/runtime';
import { runtimePath } from '../../agent/runtime/native';
import { containerPaths } from '../../agent/runtime/rootfs';
import type { ContainerConfig, ContainerLog, Runtime } from '../../agent/runtime/types';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { awkLines, cgroupParentDirs, containerConfig, makeScratch, removeCgroupDirs, removeContainers, requireRootAndAddon, runToEnd, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/log-framing.test.ts', 'namespaces, mounts and cgroups');

const scratch = makeScratch('log-framing', 'tsswarm-log-framing-it');
const { tmp, cgroupParent, layer } = scratch;
const root = join(tmp, 'state');
const rt: Runtime = createRuntime({ root, cgroupParent });
const logsDir = join(tmp, 'logs');
/** A framed task's config.json, kept by one test for the shim's own checks. */
const framedSpec = join(tmp, 'framed-config.json');

const FRAMED: ContainerLog = { kind: 'file', framed: true };
const sh = (id: string, script: string, log: ContainerLog = FRAMED, over: Partial<ContainerConfig> = {}): ContainerConfig =>
  containerConfig(scratch, id, ['sh', '-c', script], { log, ...over });
const read = (f: string): string => readFileSync(join(logsDir, f), 'utf8');
/** The log's files, newest first: `<id>.log`, `<id>.log.1`, ... */
const filesOf = (id: string): string[] =>
  readdirSync(logsDir)
    .filter((f) => f === `${id}.log` || f.startsWith(`${id}.log.`))
    .sort((a, b) => generation(a) - generation(b));
const generation = (f: string): number => Number(/\.log\.(\d+)$/.exec(f)?.[1] ?? 0);

interface LogRecord {
  /** Nanoseconds since the epoch. */
  ns: bigint;
  stream: 'stdout' | 'stderr';
  tag: 'P' | 'F';
  content: string;
}

// `.` would stop at a \r, which a terminal's content keeps: [^\n] takes it.
const RECORD = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{9})Z (stdout|stderr) ([PF]) ([^\n]*)$/;

/** Every record of a log file's text, which must be whole records only; each time a real instant. */
function parseRecords(text: string, what: string): LogRecord[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${what} ends with a whole record`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      const m = RECORD.exec(line);
      assert.ok(m, `${what} record ${i} is not <time> <stream> <tag> <content>: ${JSON.stringify(line.slice(0, 200))}`);
      const [, seconds = '', fraction = '', stream, tag, content = ''] = m;
      const ms = Date.parse(`${seconds}Z`);
      assert.ok(Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 19) === seconds, `${what} record ${i}: ${seconds} is a real UTC time`);
      return { ns: BigInt(ms) * 1_000_000n + BigInt(fraction), stream: stream as LogRecord['stream'], tag: tag as LogRecord['tag'], content };
    });
}

/** The records of all of a container's files, oldest first. */
const recordsOf = (id: string): LogRecord[] => [...filesOf(id)].reverse().flatMap((f) => parseRecords(read(f), f));

/** A stream's lines, its P pieces joined to the F that ends them. */
function linesOf(records: LogRecord[], stream: LogRecord['stream']): string[] {
  const lines: string[] = [];
  let piece = '';
  for (const r of records.filter((x) => x.stream === stream)) {
    piece += r.content;
    if (r.tag === 'F') {
      lines.push(piece);
      piece = '';
    }
  }
  assert.equal(piece, '', `${stream} ends with an F record`);
  return lines;
}

/** Times never go back, and all lie between `from` and `to` (ms, the test's own clock, with a second to spare). */
function assertTimes(records: LogRecord[], from: number, to: number): void {
  let last = 0n;
  for (const [i, r] of records.entries()) {
    assert.ok(r.ns >= last, `record ${i} is not before record ${i - 1}`);
    last = r.ns;
  }
  const lo = BigInt(from - 1000) * 1_000_000n;
  const hi = BigInt(to + 1000) * 1_000_000n;
  for (const r of records) assert.ok(r.ns >= lo && r.ns <= hi, `${r.ns} lies within the container's life`);
}

const numbered = (prefix: string, from: number, n: number): string[] => Array.from({ length: n }, (_, k) => `${prefix}${from + k}`);
/** awkLines' lines, without their newline. */
const awkExpected = (from: number, n: number): string[] => numbered('line ', from, n).map((l) => l.padEnd(99));
/** A shell command printing one line of `n` bytes a, b, ... z, a, ... and its newline. */
const alphabetLine = (n: number): string => `awk 'BEGIN { for (i = 0; i < ${n}; i++) printf "%c", 97 + i % 26; printf "\\n" }'`;
const alphabet = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

before(() => {
  makeBusyboxRootfs(layer);
  mkdirSync(logsDir, { recursive: true });
});

after(async () => {
  const problems: string[] = [];
  await removeContainers([rt], problems);
  unmountLeftovers(tmp, problems);
  removeCgroupDirs(cgroupParentDirs(cgroupParent), problems);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('framed logs: CRI records, stdout and stderr apart (root)', () => {
  it('stdout and stderr lines land with their stream, F, and valid non-decreasing times; the bundle has the path and the format', async () => {
    const from = Date.now();
    await rt.run(sh('tags', 'echo out1; echo err1 >&2; echo out2; sleep 0.05; echo err2 >&2; echo "  spaced  out  "'));
    try {
      const text = readFileSync(containerPaths(root, 'tags').configFile, 'utf8');
      const spec = JSON.parse(text) as { annotations?: Record<string, string> };
      assert.deepEqual(spec.annotations, { 'tsswarm.log.path': join(logsDir, 'tags.log'), 'tsswarm.log.format': 'cri' });
      writeFileSync(framedSpec, text);
      assert.equal((await rt.wait('tags', AbortSignal.timeout(30_000))).exitCode, 0);
    } finally {
      await rt.remove('tags');
    }
    const records = recordsOf('tags');
    assert.deepEqual(linesOf(records, 'stdout'), ['out1', 'out2', '  spaced  out  ']);
    assert.deepEqual(linesOf(records, 'stderr'), ['err1', 'err2']);
    assert.ok(records.every((r) => r.tag === 'F'));
    assertTimes(records, from, Date.now());
    assert.match(read('tags.log'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out1\n/);
  });

  it('a line without its newline at exit is an F record, on either stream; one held across reads is one line', async () => {
    const script = "printf 'part1'; sleep 0.2; printf 'part2\\n'; printf 'err-tail' >&2; printf 'tail'; exit 4";
    assert.equal(await runToEnd(rt, sh('tail', script)), 4);
    const records = recordsOf('tail');
    assert.deepEqual(records.map((r) => [r.stream, r.tag, r.content]).sort(), [
      ['stderr', 'F', 'err-tail'],
      ['stdout', 'F', 'part1part2'],
      ['stdout', 'F', 'tail'],
    ]);
    assert.equal(records[0]?.content, 'part1part2', 'the held lines come after the one whose newline came');
  });

  it('a 40 000-byte line is P, P, F of 16384, 16384 and 7232 bytes; 16384 bytes is one F; 32768 is P and F', async () => {
    const script = `${alphabetLine(40_000)}; echo next; ${alphabetLine(16_384)}; ${alphabetLine(32_768)}; ${alphabetLine(40_000)} >&2`;
    assert.equal(await runToEnd(rt, sh('long', script)), 0);
    const records = recordsOf('long');
    const out = records.filter((r) => r.stream === 'stdout');
    assert.deepEqual(out.map((r) => [r.tag, r.content.length]), [['P', 16_384], ['P', 16_384], ['F', 7232], ['F', 4], ['F', 16_384], ['P', 16_384], ['F', 16_384]]);
    assert.deepEqual(linesOf(records, 'stdout'), [alphabet(40_000), 'next', alphabet(16_384), alphabet(32_768)]);
    const err = records.filter((r) => r.stream === 'stderr');
    assert.deepEqual(err.map((r) => r.tag), ['P', 'P', 'F']);
    assert.deepEqual(linesOf(records, 'stderr'), [alphabet(40_000)]);
  });

  it('framed and rotated: records whole in every file, each file within max-size, nothing lost or doubled between the kept ones', async () => {
    const log: ContainerLog = { kind: 'rotate', maxBytes: 20_000, maxFiles: 3, framed: true };
    const code = await runToEnd(rt, sh('rot', `${awkLines(0, 1000)}; ${awkLines(0, 200)} >&2; echo done`, log));
    assert.equal(code, 0);
    const files = filesOf('rot');
    assert.deepEqual(files, ['rot.log', 'rot.log.1', 'rot.log.2']);
    for (const f of files) {
      assert.ok(statSync(join(logsDir, f)).size <= 20_000, `${f}: ${statSync(join(logsDir, f)).size} bytes`);
      parseRecords(read(f), f);
    }
    const records = recordsOf('rot');
    assert.ok(records.every((r) => r.tag === 'F'));
    assertTimes(records, 0, Date.now());
    // What is kept is the newest output of each stream, in order.
    const out = linesOf(records, 'stdout');
    assert.deepEqual(out, [...awkExpected(0, 1000), 'done'].slice(-out.length));
    const err = linesOf(records, 'stderr');
    assert.deepEqual(err, awkExpected(0, 200).slice(-err.length));
    assert.ok(out.length + err.length > 300, `${out.length + err.length} lines kept`);
  });

  it('a max-size smaller than a 16384-byte record: pieces of max-size - 41 bytes, each record whole in its own file', async () => {
    const log: ContainerLog = { kind: 'rotate', maxBytes: 5000, maxFiles: 10, framed: true };
    assert.equal(await runToEnd(rt, sh('small', alphabetLine(12_000), log)), 0);
    const files = filesOf('small');
    for (const f of files) assert.ok(statSync(join(logsDir, f)).size <= 5000, `${f}: ${statSync(join(logsDir, f)).size} bytes`);
    const records = recordsOf('small');
    assert.deepEqual(records.map((r) => [r.tag, r.content.length]), [['P', 4959], ['P', 4959], ['F', 2082]]);
    assert.equal(files.length, 3, 'one record to a file: two do not fit in 5000 bytes');
    assert.deepEqual(linesOf(records, 'stdout'), [alphabet(12_000)]);
  });

  it('framed plain file (no max-size): relayed without limit, never rotated, all of it there once the exit is recorded', async () => {
    // More than both pipes hold, then exit at once: what is still in them is drained first.
    const script = `${awkLines(0, 3000)}; ${awkLines(0, 1500)} >&2; echo last; exit 3`;
    assert.equal(await runToEnd(rt, sh('plain', script)), 3);
    assert.deepEqual(filesOf('plain'), ['plain.log']);
    const records = recordsOf('plain');
    assert.deepEqual(linesOf(records, 'stdout'), [...awkExpected(0, 3000), 'last']);
    assert.deepEqual(linesOf(records, 'stderr'), awkExpected(0, 1500));
    assertTimes(records, 0, Date.now());
  });

  it('a tty\'s output is framed as stdout, stderr too, its \\r kept, a last line without newline an F', async () => {
    const script = 'echo hi; echo to-stderr >&2; printf no-newline';
    assert.equal(await runToEnd(rt, sh('tty', script, FRAMED, { tty: true })), 0);
    const records = recordsOf('tty');
    assert.deepEqual(records.map((r) => [r.stream, r.tag, r.content]), [
      ['stdout', 'F', 'hi\r'],
      ['stdout', 'F', 'to-stderr\r'],
      ['stdout', 'F', 'no-newline'],
    ]);
  });

  it('a tty with a framed rotated log: records whole, stdout only', async () => {
    const log: ContainerLog = { kind: 'rotate', maxBytes: 20_000, maxFiles: 2, framed: true };
    assert.equal(await runToEnd(rt, sh('ttyrot', `${awkLines(0, 500)}; echo done`, log, { tty: true })), 0);
    for (const f of filesOf('ttyrot')) assert.ok(statSync(join(logsDir, f)).size <= 20_000);
    const records = recordsOf('ttyrot');
    assert.ok(records.every((r) => r.stream === 'stdout' && r.tag === 'F'));
    const lines = linesOf(records, 'stdout');
    assert.deepEqual(lines, [...awkExpected(0, 500), 'done'].map((l) => `${l}\r`).slice(-lines.length));
  });

  it('echo a; echo b >&2: each a whole record, in the order written; interleaved many times, each stream whole and in order', async () => {
    assert.equal(await runToEnd(rt, sh('ab', 'echo a; echo b >&2')), 0);
    assert.deepEqual(recordsOf('ab').map((r) => [r.stream, r.tag, r.content]), [
      ['stdout', 'F', 'a'],
      ['stderr', 'F', 'b'],
    ]);

    const from = Date.now();
    const script = 'i=0; while [ $i -lt 2000 ]; do echo "a $i"; echo "b $i" >&2; printf "c $i"; printf "d $i\\n" >&2; echo; i=$((i+1)); done';
    assert.equal(await runToEnd(rt, sh('many', script)), 0);
    const records = recordsOf('many');
    assert.ok(records.every((r) => r.tag === 'F'));
    const out: string[] = [];
    const err: string[] = [];
    for (let i = 0; i < 2000; i++) {
      out.push(`a ${i}`, `c ${i}`);
      err.push(`b ${i}`, `d ${i}`);
    }
    assert.deepEqual(linesOf(records, 'stdout'), out);
    assert.deepEqual(linesOf(records, 'stderr'), err);
    assertTimes(records, from, Date.now());
  });
});

describe('the shim\'s checks of tsswarm.log.format (root)', () => {
  /** Runs the framed task's config.json (saved above) with these annotations through tsswarm-runtime (in the foreground unless detach). */
  function runWith(id: string, annotations: Record<string, string>, detach: boolean): SpawnSyncReturns<string> {
    const bundle = join(tmp, `bundle-${id}`);
    mkdirSync(bundle);
    const spec = JSON.parse(readFileSync(framedSpec, 'utf8')) as { root: { path: string }; process: { args: string[] }; annotations?: Record<string, string> };
    spec.root.path = layer;
    spec.process.args = ['sh', '-c', 'echo out; echo err >&2'];
    spec.annotations = annotations;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const args = ['--root', join(tmp, 'oci-root'), 'run', ...(detach ? ['--detach'] : []), '--bundle', bundle, id];
    return spawnSync(runtimePath, args, { encoding: 'utf8', timeout: 30_000 });
  }

  it('a format other than cri fails the create, naming the annotation, and leaves nothing', () => {
    const r = runWith('bad-format', { 'tsswarm.log.path': join(logsDir, 'bad-format.log'), 'tsswarm.log.format': 'json' }, true);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /annotations\.tsswarm\.log\.format: unknown log format "json" \(cri\)/);
    assert.equal(existsSync(join(tmp, 'oci-root', 'bad-format')), false, 'nothing was created');
    assert.equal(existsSync(join(logsDir, 'bad-format.log')), false);
  });

  it('a format without a path fails the create', () => {
    const r = runWith('no-path', { 'tsswarm.log.format': 'cri' }, true);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /annotations\.tsswarm\.log\.path: an absolute path is required with tsswarm\.log\.format/);
    assert.equal(existsSync(join(tmp, 'oci-root', 'no-path')), false, 'nothing was created');
  });

  it('driver none with a format is fine: nothing is written', () => {
    const r = runWith('none-format', { 'tsswarm.log.driver': 'none', 'tsswarm.log.format': 'cri' }, false);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
  });

  it('a path without max-size or format: the raw bytes, relayed into that file without limit', () => {
    const file = join(logsDir, 'raw-path.log');
    const r = runWith('raw-path', { 'tsswarm.log.path': file }, false);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '', 'not the runtime\'s own stdout');
    assert.equal(readFileSync(file, 'utf8'), 'out\nerr\n');
  });
});
