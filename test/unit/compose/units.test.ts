import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBytes, parseDurationMs, parseInteger, parseNanoCpus } from '../../../shared/compose/units';

describe('parseBytes', () => {
  const cases: [string | number, number | null][] = [
    [1024, 1024],
    [0, 0],
    ['100', 100],
    ['100b', 100],
    ['1024k', 1024 * 1024],
    ['1024K', 1024 * 1024],
    ['64m', 64 * 1024 ** 2],
    ['512M', 512 * 1024 ** 2],
    ['512MB', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['512 MiB', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['2t', 2 * 1024 ** 4],
    [-1, null],
    [1.5, null],
    ['', null],
    ['-5m', null],
    ['12x', null],
    ['m', null],
    ['1 g b', null],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseBytes(input), want));
  }
});

describe('parseDurationMs', () => {
  const cases: [string, number | null][] = [
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['1h2m3s4ms', 3_723_004],
    ['2000us', 2],
    ['0', 0],
    ['0s', 0],
    ['10', null],
    ['', null],
    ['-1s', null],
    ['10 s', null],
    ['1d', null],
    ['s', null],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseDurationMs(input), want));
  }
});

describe('parseNanoCpus', () => {
  const cases: [string | number, number | null][] = [
    [0.5, 500_000_000],
    ['0.5', 500_000_000],
    ['1.5', 1_500_000_000],
    [2, 2_000_000_000],
    ['.25', 250_000_000],
    [0.1 + 0.2, 300_000_000],
    [0, null],
    ['0', null],
    [-1, null],
    ['abc', null],
    ['1e3', null],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseNanoCpus(input), want));
  }
});

describe('parseInteger', () => {
  const cases: [string | number, number | null][] = [
    [3, 3],
    ['3', 3],
    [' 3 ', 3],
    ['-1', -1],
    [1.5, null],
    ['1.5', null],
    ['three', null],
    ['', null],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseInteger(input), want));
  }
});
