import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRecord } from '../../../../agent/logs/record';

const T = '2026-12-03T08:03:40.123456789Z';
const FALLBACK = '2026-12-03T08:03:39.000000000Z';

const rec = (line: string | Buffer) => {
  const r = parseRecord(Buffer.isBuffer(line) ? line : Buffer.from(line, 'utf8'), FALLBACK);
  return { time: r.time, stream: r.stream, partial: r.partial, text: r.text.toString('utf8') };
};

describe('parseRecord', () => {
  const records: { name: string; line: string; want: ReturnType<typeof rec> }[] = [
    { name: 'a full stdout line', line: `${T} stdout F hello`, want: { time: T, stream: 'stdout', partial: false, text: 'hello' } },
    { name: 'a full stderr line', line: `${T} stderr F oops`, want: { time: T, stream: 'stderr', partial: false, text: 'oops' } },
    { name: 'a partial stdout piece', line: `${T} stdout P abc`, want: { time: T, stream: 'stdout', partial: true, text: 'abc' } },
    { name: 'a partial stderr piece', line: `${T} stderr P abc`, want: { time: T, stream: 'stderr', partial: true, text: 'abc' } },
    { name: 'content keeps its spaces', line: `${T} stdout F  a  b `, want: { time: T, stream: 'stdout', partial: false, text: ' a  b ' } },
    { name: 'content that looks like a record', line: `${T} stdout F ${T} stderr P x`, want: { time: T, stream: 'stdout', partial: false, text: `${T} stderr P x` } },
    { name: 'a terminal’s \\r stays', line: `${T} stdout F line\r`, want: { time: T, stream: 'stdout', partial: false, text: 'line\r' } },
    { name: 'an empty line with its space', line: `${T} stdout F `, want: { time: T, stream: 'stdout', partial: false, text: '' } },
    { name: 'an empty line without its space', line: `${T} stdout F`, want: { time: T, stream: 'stdout', partial: false, text: '' } },
    { name: 'an empty stderr line without its space', line: `${T} stderr F`, want: { time: T, stream: 'stderr', partial: false, text: '' } },
  ];
  for (const c of records) it(`reads ${c.name}`, () => assert.deepEqual(rec(c.line), c.want));

  const notRecords: { name: string; line: string }[] = [
    { name: 'plain text', line: 'hello world' },
    { name: 'an empty line', line: '' },
    { name: 'a time with no more', line: T },
    { name: 'an unknown stream', line: `${T} stdin  F hello` },
    { name: 'a stream name of the wrong length', line: `${T} out F hello` },
    { name: 'an unknown tag', line: `${T} stdout X hello` },
    { name: 'no space after the tag', line: `${T} stdout Fhello` },
    { name: 'a lowercase tag', line: `${T} stdout f hello` },
    { name: 'a time with too few fraction digits', line: '2026-12-03T08:03:40.12345678Z  stdout F hello' },
    { name: 'a time that is not UTC', line: '2026-12-03T08:03:40.123456789+ stdout F hello' },
    { name: 'a Docker json-file line', line: '{"log":"hello\\n","stream":"stdout","time":"2026-12-03T08:03:40.123456789Z"}' },
    { name: 'the start of a record with tabs', line: `${T}\tstdout\tF\thello` },
  ];
  for (const c of notRecords) {
    it(`takes ${c.name} as the whole line on stdout at the fallback time`, () => {
      assert.deepEqual(rec(c.line), { time: FALLBACK, stream: 'stdout', partial: false, text: c.line });
    });
  }

  it('keeps the content’s bytes as they are (not UTF-8)', () => {
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x20]);
    const line = Buffer.concat([Buffer.from(`${T} stderr F `, 'latin1'), bytes]);
    const r = parseRecord(line, FALLBACK);
    assert.equal(r.stream, 'stderr');
    assert.deepEqual(r.text, bytes);
  });

  it('a line that is not a record keeps its bytes too', () => {
    const line = Buffer.from([0xff, 0xfe, 0x41]);
    const r = parseRecord(line, FALLBACK);
    assert.deepEqual([r.time, r.stream, r.partial], [FALLBACK, 'stdout', false]);
    assert.deepEqual(r.text, line);
  });
});
