import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, type Client } from '../../../cli/client';
import { LogPrinter, logsQuery, serviceLogs, type LogFormat } from '../../../cli/commands/logs';
import type { CommandContext } from '../../../cli/context';
import { SERVICE_BOOLEANS, SERVICE_REPEATABLE, SERVICE_VALUED } from '../../../cli/service-flags';
import type { LogEvent } from '../../../shared/api-types';
import { InvalidArgumentError } from '../../../shared/errors';
import { parseFlags } from '../../../shared/flags';

// The flags cli/main.ts gives `service logs` (its lists are not exported: main.ts runs on import).
const VALUED = [...SERVICE_VALUED, 'since', 'until', 'tail', 'n'];
const BOOLEANS = [...SERVICE_BOOLEANS, 'no-trunc', 'force', 'f', 'follow', 'timestamps', 'raw', 'no-task-ids', 'no-resolve'];

function ctxOf(argv: string[], client: Partial<Client> = {}): CommandContext {
  const p = parseFlags(argv, VALUED, BOOLEANS, SERVICE_REPEATABLE);
  return { client: client as Client, args: { flags: p.flags, positionals: p.positionals }, json: false };
}

const NOW = new Date(Date.UTC(2026, 11, 3, 12, 0, 0)); // 2026-12-03T12:00:00Z
const query = (argv: string[]) => Object.fromEntries(logsQuery(ctxOf(argv), NOW));

describe('logsQuery', () => {
  const table: { argv: string[]; want: Record<string, string> }[] = [
    { argv: [], want: {} },
    { argv: ['-f'], want: { follow: '1' } },
    { argv: ['--follow'], want: { follow: '1' } },
    { argv: ['--follow=false'], want: {} },
    { argv: ['-ft'], want: { follow: '1' } }, // -t is --timestamps, not the query's
    { argv: ['--tail', '5'], want: { tail: '5' } },
    { argv: ['--tail=0'], want: { tail: '0' } },
    { argv: ['-n', '20'], want: { tail: '20' } },
    { argv: ['--tail', 'all'], want: {} },
    { argv: ['-n', 'all'], want: {} },
    { argv: ['--tail', '3', '-n', '7'], want: { tail: '3' } }, // --tail is asked first
    { argv: ['--since', '10m'], want: { since: '2026-12-03T11:50:00.000000000Z' } },
    { argv: ['--since', '1h30m', '--until', '90s'], want: { since: '2026-12-03T10:30:00.000000000Z', until: '2026-12-03T11:58:30.000000000Z' } },
    { argv: ['--since=2026-12-03'], want: { since: '2026-12-03T00:00:00.000000000Z' } },
    { argv: ['--since', '2026-12-03T10:00:00+02:00'], want: { since: '2026-12-03T08:00:00.000000000Z' } },
    { argv: ['--until', '1764748800.5'], want: { until: '2025-12-03T08:00:00.500000000Z' } },
    {
      argv: ['-f', '--tail', '10', '--since', '500ms', 'web'],
      want: { follow: '1', tail: '10', since: '2026-12-03T11:59:59.500000000Z' },
    },
  ];
  for (const c of table) it(`${c.argv.join(' ') || '(no flags)'} → ${JSON.stringify(c.want)}`, () => assert.deepEqual(query(c.argv), c.want));

  it('encodes the times in the URL', () => {
    assert.equal(logsQuery(ctxOf(['--since', '10m']), NOW).toString(), 'since=2026-12-03T11%3A50%3A00.000000000Z');
  });

  const bad: { argv: string[]; message: RegExp }[] = [
    { argv: ['--tail', 'abc'], message: /invalid --tail "abc"/ },
    { argv: ['--tail', '-1'], message: /invalid --tail "-1"/ },
    { argv: ['--tail', '1.5'], message: /invalid --tail "1.5"/ },
    { argv: ['--tail='], message: /invalid --tail ""/ },
    { argv: ['-n', 'ALL'], message: /invalid --tail "ALL"/ },
    { argv: ['--since', 'yesterday'], message: /invalid --since "yesterday"/ },
    { argv: ['--until', '10x'], message: /invalid --until "10x"/ },
    { argv: ['--since', '2026-12-03T08:00:00'], message: /invalid --since/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.argv.join(' ')}`, () => {
      assert.throws(
        () => logsQuery(ctxOf(c.argv), NOW),
        (e: unknown) => e instanceof InvalidArgumentError && c.message.test(e.message),
      );
    });
  }
});

const TASK_ID = 'k3x7q8vz9f0a1b2c3d4e5f6g7'; // 25 characters, as a task id
const NODE_ID = 'n0d31d0123456789abcdefghi';
const TIME = '2026-12-03T08:03:40.123456789Z';

const FORMAT: LogFormat = { timestamps: false, raw: false, taskIds: true, trunc: true, resolve: true };

function printer(f: Partial<LogFormat> = {}) {
  const out: [string, string][] = [];
  const p = new LogPrinter({ ...FORMAT, ...f }, (stream, text) => out.push([stream, text]));
  p.event({ kind: 'task', id: TASK_ID, name: 'web.1', node: 'host2', nodeId: NODE_ID });
  return { p, out };
}

const line = (text: string, stream: 'stdout' | 'stderr' = 'stdout', task = TASK_ID): LogEvent => ({ kind: 'line', task, time: TIME, stream, text });

describe('LogPrinter', () => {
  it('a task event prints nothing', () => {
    assert.deepEqual(printer().out, []);
  });

  const formats: { name: string; f: Partial<LogFormat>; want: string }[] = [
    { name: 'Docker’s prefix: name.slot.<12-character id>@host', f: {}, want: 'web.1.k3x7q8vz9f0a@host2    | hello\n' },
    { name: '--no-task-ids', f: { taskIds: false }, want: 'web.1@host2    | hello\n' },
    { name: '--no-trunc', f: { trunc: false }, want: `web.1.${TASK_ID}@host2    | hello\n` },
    { name: '--no-resolve: the node’s id (12 characters)', f: { resolve: false }, want: 'web.1.k3x7q8vz9f0a@n0d31d012345    | hello\n' },
    { name: '--no-resolve --no-trunc', f: { resolve: false, trunc: false }, want: `web.1.${TASK_ID}@${NODE_ID}    | hello\n` },
    { name: '--no-task-ids --no-resolve', f: { taskIds: false, resolve: false }, want: 'web.1@n0d31d012345    | hello\n' },
    { name: '--timestamps: the time after the bar', f: { timestamps: true }, want: `web.1.k3x7q8vz9f0a@host2    | ${TIME} hello\n` },
    { name: '--raw: no prefix', f: { raw: true }, want: 'hello\n' },
    { name: '--raw --timestamps', f: { raw: true, timestamps: true }, want: `${TIME} hello\n` },
  ];
  for (const c of formats) {
    it(c.name, () => {
      const { p, out } = printer(c.f);
      p.event(line('hello'));
      assert.deepEqual(out, [['stdout', c.want]]);
    });
  }

  it('routes each line to the stream the container wrote it on', () => {
    const { p, out } = printer();
    p.event(line('to out'));
    p.event(line('to err', 'stderr'));
    p.event(line('out again'));
    assert.deepEqual(out, [
      ['stdout', 'web.1.k3x7q8vz9f0a@host2    | to out\n'],
      ['stderr', 'web.1.k3x7q8vz9f0a@host2    | to err\n'],
      ['stdout', 'web.1.k3x7q8vz9f0a@host2    | out again\n'],
    ]);
  });

  it('ends a line without its newline with one, and does not double one', () => {
    const { p, out } = printer({ raw: true });
    p.event(line('no newline'));
    p.event(line('has one\n'));
    p.event(line(''));
    p.event(line('crlf\r\n'));
    assert.deepEqual(
      out.map(([, t]) => t),
      ['no newline\n', 'has one\n', '\n', 'crlf\r\n'],
    );
  });

  it('a line of a task it was not told of: the task id and an unknown node', () => {
    const { p, out } = printer();
    p.event(line('x', 'stdout', 'zzzzzzzzzzzzzzzzzzzzzzzzz'));
    assert.deepEqual(out, [['stdout', 'zzzzzzzzzzzz@?    | x\n']]);
  });

  it('keeps each task’s prefix apart', () => {
    const { p, out } = printer();
    p.event({ kind: 'task', id: 'aaaaaaaaaaaaaaaaaaaaaaaaa', name: 'web.2', node: 'host1', nodeId: NODE_ID });
    p.event(line('one'));
    p.event(line('two', 'stdout', 'aaaaaaaaaaaaaaaaaaaaaaaaa'));
    assert.deepEqual(
      out.map(([, t]) => t),
      ['web.1.k3x7q8vz9f0a@host2    | one\n', 'web.2.aaaaaaaaaaaa@host1    | two\n'],
    );
  });

  describe('notices', () => {
    it('go to stderr after the task’s prefix', () => {
      const { p, out } = printer();
      p.event({ kind: 'notice', time: TIME, text: 'node host2 is down', task: TASK_ID, node: 'host2' });
      assert.deepEqual(out, [['stderr', 'web.1.k3x7q8vz9f0a@host2    | node host2 is down\n']]);
    });

    it('of a node alone: the node as the prefix', () => {
      const { p, out } = printer();
      p.event({ kind: 'notice', time: TIME, text: 'stream broke off', node: 'host3' });
      assert.deepEqual(out, [['stderr', 'host3    | stream broke off\n']]);
    });

    it('of an unknown task: its id and node', () => {
      const { p, out } = printer();
      p.event({ kind: 'notice', time: TIME, text: 'gone', task: 'zzzzzzzzzzzzzzzzzzzzzzzzz', node: 'host3' });
      assert.deepEqual(out, [['stderr', 'zzzzzzzzzzzz@host3    | gone\n']]);
    });

    it('--raw: the text alone, still on stderr', () => {
      const { p, out } = printer({ raw: true });
      p.event({ kind: 'notice', time: TIME, text: 'node host2 is down', task: TASK_ID, node: 'host2' });
      assert.deepEqual(out, [['stderr', 'node host2 is down\n']]);
    });

    it('a notice is on stderr even with --timestamps (and without a time)', () => {
      const { p, out } = printer({ timestamps: true });
      p.event({ kind: 'notice', time: TIME, text: 'x', task: TASK_ID });
      assert.deepEqual(out, [['stderr', 'web.1.k3x7q8vz9f0a@host2    | x\n']]);
    });
  });
});

describe('serviceLogs', () => {
  it('asks for the service’s logs with the query of the flags', async () => {
    const paths: string[] = [];
    const client: Partial<Client> = {
      stream: (async (p: string) => {
        paths.push(p);
      }) as Client['stream'],
    };
    await serviceLogs(ctxOf(['-f', '--tail', '5'], client), ['web/x']);
    assert.deepEqual(paths, ['/v1/services/web%2Fx/logs?follow=1&tail=5']);
  });

  it('takes a task when there is no such service', async () => {
    const paths: string[] = [];
    const client: Partial<Client> = {
      stream: (async (p: string) => {
        paths.push(p);
        if (p.startsWith('/v1/services/')) throw new ApiError('SERVICE_NOT_FOUND', 'no such service', 404);
      }) as Client['stream'],
    };
    await serviceLogs(ctxOf(['--tail', 'all'], client), ['web.1']);
    assert.deepEqual(paths, ['/v1/services/web.1/logs?', '/v1/tasks/web.1/logs?']);
  });

  it('neither a service nor a task: a user error naming it', async () => {
    const client: Partial<Client> = {
      stream: (async (p: string) => {
        throw p.startsWith('/v1/services/') ? new ApiError('SERVICE_NOT_FOUND', 'no such service', 404) : new ApiError('TASK_NOT_FOUND', 'no such task', 404);
      }) as Client['stream'],
    };
    await assert.rejects(serviceLogs(ctxOf([], client), ['nope']), (e: unknown) => e instanceof InvalidArgumentError && /no such service or task: nope/.test(e.message));
  });

  it('another error of the service route is not retried as a task', async () => {
    const paths: string[] = [];
    const client: Partial<Client> = {
      stream: (async (p: string) => {
        paths.push(p);
        throw new ApiError('INTERNAL', 'boom', 500);
      }) as Client['stream'],
    };
    await assert.rejects(serviceLogs(ctxOf([], client), ['web']), (e: unknown) => e instanceof ApiError && e.code === 'INTERNAL');
    assert.equal(paths.length, 1);
  });

  it('wants exactly one SERVICE|TASK', async () => {
    for (const args of [[], ['a', 'b']]) {
      await assert.rejects(serviceLogs(ctxOf([]), args), (e: unknown) => e instanceof InvalidArgumentError && /usage: tsswarm service logs/.test(e.message));
    }
  });
});
