import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HealthCheck, LogDriver } from '../../../shared/types';
import { assertFails, load, service } from './helpers';

const web = (key: string, lines: string): string => `services:\n  web:\n    image: busybox\n    ${key}:\n${lines.replace(/^/gm, '      ')}\n`;
const NO_TIMINGS = { intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null };

describe('healthcheck', () => {
  const cases: [string, string, HealthCheck][] = [
    ['a string runs in a shell', 'test: curl -f http://localhost/ || exit 1', { test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], ...NO_TIMINGS }],
    ['a CMD list as it is', 'test: [CMD, wget, -qO-, "http://localhost/"]', { test: ['CMD', 'wget', '-qO-', 'http://localhost/'], ...NO_TIMINGS }],
    ['a CMD-SHELL list as it is', 'test: [CMD-SHELL, "pgrep httpd"]', { test: ['CMD-SHELL', 'pgrep httpd'], ...NO_TIMINGS }],
    ['NONE', 'test: [NONE]', { test: ['NONE'], ...NO_TIMINGS }],
    ['disable: true', 'disable: true', { test: ['NONE'], ...NO_TIMINGS }],
    ['disable: yes (YAML 1.1)', 'disable: yes', { test: ['NONE'], ...NO_TIMINGS }],
    ['disable: false keeps the rest', 'disable: false\ninterval: 5s', { test: [], ...NO_TIMINGS, intervalMs: 5000 }],
    ['timings only: the image\'s test', 'interval: 30s\ntimeout: 10s\nstart_period: 1m\nstart_interval: 2s\nretries: 5', { test: [], intervalMs: 30_000, timeoutMs: 10_000, startPeriodMs: 60_000, startIntervalMs: 2000, retries: 5 }],
    ['an empty list: the image\'s test', 'test: []\nretries: 0', { test: [], ...NO_TIMINGS, retries: 0 }],
  ];
  for (const [title, lines, want] of cases) {
    it(title, () => {
      const stack = load(web('healthcheck', lines));
      assert.deepEqual(stack.warnings, []);
      assert.deepEqual(service(stack, 'test_web').task.container.healthcheck, want);
    });
  }

  it('no healthcheck key: null', () => {
    assert.equal(service(load('services:\n  web: {image: busybox}\n'), 'test_web').task.container.healthcheck, null);
  });

  const errors: [string, string, RegExp, number][] = [
    ['test with disable', 'test: [CMD, "true"]\ndisable: true', /healthcheck\.disable: test and disable can't be set at the same time/, 6],
    ['an unknown first word', 'test: [RUN, "true"]', /healthcheck\.test: must start with CMD, CMD-SHELL or NONE, got "RUN"/, 5],
    ['CMD alone', 'test: [CMD]', /healthcheck\.test: CMD needs the command to run after it/, 5],
    ['CMD-SHELL with two strings', 'test: [CMD-SHELL, a, b]', /CMD-SHELL takes one shell command string/, 5],
    ['NONE with arguments', 'test: [NONE, x]', /NONE takes no arguments/, 5],
    ['a number in the list', 'test: [CMD, sleep, 1]', /healthcheck\.test\[2\]: must be a string, got 1/, 5],
    ['an empty string', 'test: ""', /healthcheck\.test: must not be empty/, 5],
    ['a bad interval', 'interval: 30', /healthcheck\.interval: must be a duration such as 10s/, 5],
    ['bad retries', 'retries: -1', /healthcheck\.retries: must be a non-negative integer, got -1/, 5],
    ['an unknown key', 'intervall: 5s', /healthcheck\.intervall: unknown key/, 5],
  ];
  for (const [title, lines, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(web('healthcheck', lines), pattern, line));
  }
});

describe('logging', () => {
  const cases: [string, string, LogDriver][] = [
    ['json-file with rotation', 'driver: json-file\noptions:\n  max-size: 10m\n  max-file: 3', { name: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } }],
    ['local', 'driver: local\noptions: {max-size: 1g, compress: "true"}', { name: 'local', options: { 'max-size': '1g', compress: 'true' } }],
    ['none', 'driver: none', { name: 'none', options: {} }],
    ['options alone: the default json-file', 'options: {max-file: "2"}', { name: 'json-file', options: { 'max-file': '2' } }],
    ['json-file tag and labels', 'driver: json-file\noptions: {tag: "{{.Name}}", labels: com.example.a}', { name: 'json-file', options: { tag: '{{.Name}}', labels: 'com.example.a' } }],
  ];
  for (const [title, lines, want] of cases) {
    it(title, () => {
      const stack = load(web('logging', lines));
      assert.deepEqual(stack.warnings, []);
      assert.deepEqual(service(stack, 'test_web').task.logDriver, want);
    });
  }

  it('another driver is one warning, and the default logging', () => {
    const stack = load(web('logging', 'driver: syslog\noptions: {syslog-address: "udp://1.2.3.4:514"}'));
    assert.deepEqual(stack.warnings, ['services.web.logging.driver: logging driver syslog is not supported: the service logs to files as with json-file']);
    assert.equal(service(stack, 'test_web').task.logDriver, null);
  });

  const errors: [string, string, RegExp, number][] = [
    ['a bad max-size', 'driver: json-file\noptions:\n  max-size: big', /logging\.options\.max-size: must be a positive size such as 10m, got "big"/, 7],
    ['a zero max-file', 'driver: local\noptions:\n  max-file: 0', /logging\.options\.max-file: must be a positive integer, got "0"/, 7],
    ['a non-integer max-file', 'options:\n  max-file: two', /logging\.options\.max-file: must be a positive integer, got "two"/, 6],
    ['an option of another driver', 'driver: local\noptions:\n  tag: x', /logging\.options\.tag: unknown option for the local driver \(max-size, max-file, compress\)/, 7],
    ['options for none', 'driver: none\noptions:\n  max-size: 1m', /logging\.options\.max-size: the none driver takes no options/, 7],
    ['options not a mapping', 'options: [a]', /logging\.options: must be a mapping/, 5],
  ];
  for (const [title, lines, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(web('logging', lines), pattern, line));
  }
});
