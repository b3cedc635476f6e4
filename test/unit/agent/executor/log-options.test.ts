import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerLog, InvalidLogOptionError, parseLogSize } from '../../../../agent/executor/log-options';
import type { ContainerLog } from '../../../../agent/runtime/types';
import type { LogDriver } from '../../../../shared/types';

describe('parseLogSize: as Docker\'s log drivers read max-size (decimal units)', () => {
  const cases: Array<[string, number | null]> = [
    ['10m', 10_000_000],
    ['1g', 1_000_000_000],
    ['500k', 500_000],
    ['100k', 100_000],
    ['4096', 4096],
    ['1.5MB', 1_500_000],
    ['64MiB', 64_000_000],
    ['2 kb', 2000],
    ['10M', 10_000_000],
    [' 7b ', 7],
    ['0', 0],
    ['big', null],
    ['-1m', null],
    ['10x', null],
    ['', null],
    ['1e3', null],
  ];
  for (const [text, want] of cases) it(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(parseLogSize(text), want));
});

describe('containerLog: a task\'s logging driver as the runtime writes it', () => {
  const d = (name: string, options: Record<string, string> = {}): LogDriver => ({ name, options });
  const cases: Array<[string, LogDriver | null, ContainerLog]> = [
    ['no logging: the plain file, framed', null, { kind: 'file', framed: true }],
    ['json-file without max-size: the plain file', d('json-file'), { kind: 'file', framed: true }],
    ['json-file with max-file alone: still no rotation', d('json-file', { 'max-file': '3' }), { kind: 'file', framed: true }],
    ['json-file max-size: one file', d('json-file', { 'max-size': '10m' }), { kind: 'rotate', maxBytes: 10_000_000, maxFiles: 1, framed: true }],
    ['json-file max-size and max-file', d('json-file', { 'max-size': '100k', 'max-file': '3' }), { kind: 'rotate', maxBytes: 100_000, maxFiles: 3, framed: true }],
    ['json-file ignores what it need not honour', d('json-file', { 'max-size': '1k', tag: '{{.Name}}', compress: 'true' }), { kind: 'rotate', maxBytes: 1000, maxFiles: 1, framed: true }],
    ['local by default: 20 MiB x 5', d('local'), { kind: 'rotate', maxBytes: 20 * 1024 * 1024, maxFiles: 5, framed: true }],
    ['local max-size keeps 5 files', d('local', { 'max-size': '1m' }), { kind: 'rotate', maxBytes: 1_000_000, maxFiles: 5, framed: true }],
    ['local max-file keeps 20 MiB', d('local', { 'max-file': '2' }), { kind: 'rotate', maxBytes: 20 * 1024 * 1024, maxFiles: 2, framed: true }],
    ['none', d('none'), { kind: 'none' }],
    ['another driver: the plain file', d('syslog', { 'syslog-address': 'udp://1.2.3.4:514' }), { kind: 'file', framed: true }],
  ];
  for (const [title, driver, want] of cases) it(title, () => assert.deepEqual(containerLog(driver), want));

  const bad: Array<[string, LogDriver, RegExp]> = [
    ['a max-size that is no size', d('json-file', { 'max-size': 'big' }), /^invalid value for max-size: big$/],
    ['a zero max-size', d('local', { 'max-size': '0' }), /^max-size must be a positive number$/],
    ['a max-file that is no number', d('json-file', { 'max-size': '1m', 'max-file': 'two' }), /^invalid value for max-file: two$/],
    ['a zero max-file', d('local', { 'max-file': '0' }), /^max-file cannot be less than 1$/],
  ];
  for (const [title, driver, message] of bad) {
    it(`refuses ${title} (the task fails, not the agent)`, () => {
      assert.throws(() => containerLog(driver), (e: unknown) => e instanceof InvalidLogOptionError && e.code === 'INVALID_LOG_OPTION' && message.test(e.message));
    });
  }
});
