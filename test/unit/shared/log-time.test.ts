import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNanoTime, nanoTime, parseLogTime, toNanoTime } from '../../../shared/log-time';

describe('isNanoTime', () => {
  const table: [string, boolean][] = [
    ['2026-12-03T08:03:40.123456789Z', true],
    ['1970-01-01T00:00:00.000000000Z', true],
    ['2026-12-03T08:03:40.12345678Z', false], // 8 digits
    ['2026-12-03T08:03:40.1234567890Z', false], // 10 digits
    ['2026-12-03T08:03:40Z', false],
    ['2026-12-03T08:03:40.123456789+00:00', false],
    ['2026-12-03 08:03:40.123456789Z', false],
    [' 2026-12-03T08:03:40.123456789Z', false],
    ['', false],
  ];
  for (const [s, want] of table) it(`${JSON.stringify(s)} → ${want}`, () => assert.equal(isNanoTime(s), want));
});

describe('nanoTime', () => {
  it('pads a Date’s milliseconds to nine digits, in UTC', () => {
    assert.equal(nanoTime(new Date(Date.UTC(2026, 11, 3, 8, 3, 40, 123))), '2026-12-03T08:03:40.123000000Z');
    assert.equal(nanoTime(new Date(0)), '1970-01-01T00:00:00.000000000Z');
  });

  it('is a nano time', () => assert.ok(isNanoTime(nanoTime(new Date()))));
});

describe('toNanoTime', () => {
  const table: [string, string | null][] = [
    ['2026-12-03T08:03:40Z', '2026-12-03T08:03:40.000000000Z'],
    ['2026-12-03T08:03:40.1Z', '2026-12-03T08:03:40.100000000Z'],
    ['2026-12-03T08:03:40.123Z', '2026-12-03T08:03:40.123000000Z'],
    ['2026-12-03T08:03:40.123456Z', '2026-12-03T08:03:40.123456000Z'],
    ['2026-12-03T08:03:40.123456789Z', '2026-12-03T08:03:40.123456789Z'],
    // Offsets are converted to UTC; the fraction is kept as given.
    ['2026-12-03T10:03:40+02:00', '2026-12-03T08:03:40.000000000Z'],
    ['2026-12-03T10:03:40.5+02:00', '2026-12-03T08:03:40.500000000Z'],
    ['2026-12-03T03:03:40.987654321-05:00', '2026-12-03T08:03:40.987654321Z'],
    ['2026-12-03T01:00:00+02:00', '2026-12-02T23:00:00.000000000Z'],
    ['2026-12-31T22:30:00-01:30', '2027-01-01T00:00:00.000000000Z'],
    ['2026-12-03T08:03:40+00:00', '2026-12-03T08:03:40.000000000Z'],
    ['  2026-12-03T08:03:40Z  ', '2026-12-03T08:03:40.000000000Z'],
    // Not RFC 3339 times.
    ['2026-12-03T08:03:40.1234567890Z', null], // 10 fraction digits
    ['2026-12-03T08:03:40.Z', null],
    ['2026-12-03T08:03:40', null], // no zone
    ['2026-12-03 08:03:40Z', null],
    ['2026-12-03', null],
    ['2026-13-03T08:03:40Z', null],
    ['2026-12-32T08:03:40Z', null],
    ['2026-12-03T25:00:00Z', null],
    ['2026-12-03T08:60:00Z', null],
    ['2026-12-03T08:03:40+0200', null],
    ['2026-12-03T08:03:40+25:00', null],
    ['1764748800', null],
    ['10m', null],
    ['yesterday', null],
    ['', null],
  ];
  for (const [s, want] of table) it(`${JSON.stringify(s)} → ${String(want)}`, () => assert.equal(toNanoTime(s), want));

  // RFC 3339 5.7: the day is limited by the month and year, the hour is 00-23 (Go's time.Parse,
  // which Docker uses, rejects these too).
  const impossible = ['2026-02-30T00:00:00Z', '2026-04-31T00:00:00Z', '2026-02-29T00:00:00Z', '2026-12-03T24:00:00Z'];
  for (const s of impossible) it(`${s} is not a time → null`, () => assert.equal(toNanoTime(s), null));

  it('a leap day is a time', () => assert.equal(toNanoTime('2028-02-29T12:00:00Z'), '2028-02-29T12:00:00.000000000Z'));

  it('its results compare as strings in time order', () => {
    const inputs = [
      '2026-12-03T10:00:00.5+02:00', // 08:00:00.5Z
      '2026-12-03T08:00:00.000000001Z',
      '2026-12-03T07:59:59.999999999Z',
      '2026-12-03T03:00:00.25-05:00', // 08:00:00.25Z
      '2026-12-03T08:00:00Z',
      '2026-12-02T23:00:00-10:00', // 09:00Z on the 3rd
      '2026-12-03T08:00:00.1Z',
    ];
    const times = inputs.map((s) => toNanoTime(s)!);
    assert.deepEqual([...times].sort(), [
      '2026-12-03T07:59:59.999999999Z',
      '2026-12-03T08:00:00.000000000Z',
      '2026-12-03T08:00:00.000000001Z',
      '2026-12-03T08:00:00.100000000Z',
      '2026-12-03T08:00:00.250000000Z',
      '2026-12-03T08:00:00.500000000Z',
      '2026-12-03T09:00:00.000000000Z',
    ]);
  });
});

describe('parseLogTime', () => {
  const now = new Date(Date.UTC(2026, 11, 3, 12, 0, 0, 0)); // 2026-12-03T12:00:00Z
  const table: [string, string | null][] = [
    // RFC 3339
    ['2026-12-03T08:03:40Z', '2026-12-03T08:03:40.000000000Z'],
    ['2026-12-03T08:03:40.123456789Z', '2026-12-03T08:03:40.123456789Z'],
    ['2026-12-03T10:03:40.5+02:00', '2026-12-03T08:03:40.500000000Z'],
    // a date: its midnight, UTC
    ['2026-12-03', '2026-12-03T00:00:00.000000000Z'],
    ['2026-01-31', '2026-01-31T00:00:00.000000000Z'],
    // Unix seconds
    ['1764748800', '2025-12-03T08:00:00.000000000Z'],
    ['1764748800.5', '2025-12-03T08:00:00.500000000Z'],
    ['1764748800.123456789', '2025-12-03T08:00:00.123456789Z'],
    ['0', '1970-01-01T00:00:00.000000000Z'],
    // Go durations back from now
    ['10m', '2026-12-03T11:50:00.000000000Z'],
    ['1h30m', '2026-12-03T10:30:00.000000000Z'],
    ['90s', '2026-12-03T11:58:30.000000000Z'],
    ['500ms', '2026-12-03T11:59:59.500000000Z'],
    ['1.5h', '2026-12-03T10:30:00.000000000Z'],
    ['2h45m30s', '2026-12-03T09:14:30.000000000Z'],
    ['24h', '2026-12-02T12:00:00.000000000Z'],
    ['0s', '2026-12-03T12:00:00.000000000Z'],
    ['  10m ', '2026-12-03T11:50:00.000000000Z'],
    // none of these
    ['', null],
    ['   ', null],
    ['garbage', null],
    ['10x', null],
    ['10 m', null],
    ['m', null],
    ['-10m', null],
    ['1h30', null],
    ['2026-12-03T08:03:40', null],
    ['2026-12', null],
    ['1764748800.', null],
    ['1764748800.1234567890', null],
    ['99999999999999999999', null], // out of Date's range
  ];
  for (const [s, want] of table) it(`${JSON.stringify(s)} → ${String(want)}`, () => assert.equal(parseLogTime(s, now), want));

  it('a duration is measured back from the real now by default', () => {
    const before = Date.now();
    const t = parseLogTime('1h')!;
    const after = Date.now();
    assert.ok(isNanoTime(t), t);
    const ms = Date.parse(t);
    assert.ok(ms >= before - 3_600_000 && ms <= after - 3_600_000, t);
  });

  it('every kind of input gives a nano time that compares with the others as a string', () => {
    const inputs = ['1h', '2026-12-03', '1796299200', '2026-12-03T12:00:00.000000001Z', '500ms', '2026-12-03T13:00:00+02:00'];
    const times = inputs.map((s) => parseLogTime(s, now)!);
    for (const t of times) assert.ok(isNanoTime(t), t);
    assert.deepEqual(
      [...times].sort(),
      [
        '2026-12-03T00:00:00.000000000Z', // 2026-12-03
        '2026-12-03T11:00:00.000000000Z', // 1h and 13:00+02:00
        '2026-12-03T11:00:00.000000000Z',
        '2026-12-03T11:59:59.500000000Z', // 500ms
        '2026-12-03T12:00:00.000000000Z', // 1796299200
        '2026-12-03T12:00:00.000000001Z',
      ],
    );
  });
});
