import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '../../../cli/client';
import { execStart } from '../../../cli/commands/exec';
import type { CommandContext } from '../../../cli/context';
import { SERVICE_BOOLEANS, SERVICE_REPEATABLE, SERVICE_VALUED, SHORT_ALIASES } from '../../../cli/service-flags';
import type { ExecStart } from '../../../shared/api-types';
import { InvalidArgumentError } from '../../../shared/errors';
import { parseFlags } from '../../../shared/flags';

// The flags cli/main.ts gives `exec` (its lists are not exported: main.ts runs on import), and its
// rule that what follows `exec TASK` is the command's.
const VALUED = SERVICE_VALUED;
const BOOLEANS = [...SERVICE_BOOLEANS, 'interactive', 'i'];

/** `tsswarm exec ARGV...` as main.ts parses it: the context, and the command after the task. */
function parse(argv: string[]): { ctx: CommandContext; task: string | undefined; command: string[] } {
  const p = parseFlags(['exec', ...argv], VALUED, BOOLEANS, SERVICE_REPEATABLE, (pos) => pos.length === 2 && pos[0] === 'exec', SHORT_ALIASES);
  const [, task, ...command] = p.positionals;
  return { ctx: { client: {} as Client, args: { flags: p.flags, positionals: p.positionals.slice(1) }, json: false }, task, command };
}

const SIZE = { rows: 40, cols: 120 };
const start = (argv: string[], size: { rows: number; cols: number } | null = SIZE): ExecStart => {
  const { ctx, command } = parse(argv);
  return execStart(ctx, command, size);
};

describe('execStart', () => {
  const table: { argv: string[]; size?: { rows: number; cols: number } | null; want: ExecStart }[] = [
    { argv: ['web.1', 'sh'], want: { args: ['sh'], env: [], tty: false, stdin: false } },
    { argv: ['-t', 'web.1', 'sh'], want: { args: ['sh'], env: [], tty: true, stdin: false, rows: 40, cols: 120 } },
    { argv: ['--tty', 'web.1', 'sh'], want: { args: ['sh'], env: [], tty: true, stdin: false, rows: 40, cols: 120 } },
    { argv: ['-i', 'web.1', 'sh'], want: { args: ['sh'], env: [], tty: false, stdin: true } },
    { argv: ['--interactive', 'web.1', 'sh'], want: { args: ['sh'], env: [], tty: false, stdin: true } },
    { argv: ['-it', 'web.1', 'sh'], want: { args: ['sh'], env: [], tty: true, stdin: true, rows: 40, cols: 120 } },
    { argv: ['-ti', 'web.1', 'sh'], want: { args: ['sh'], env: [], tty: true, stdin: true, rows: 40, cols: 120 } },
    { argv: ['-i', '-t', 'web.1', 'sh'], want: { args: ['sh'], env: [], tty: true, stdin: true, rows: 40, cols: 120 } },
    // The size only goes with a terminal, and only when there is one to measure.
    { argv: ['web.1', 'sh'], size: SIZE, want: { args: ['sh'], env: [], tty: false, stdin: false } },
    { argv: ['-t', 'web.1', 'sh'], size: null, want: { args: ['sh'], env: [], tty: true, stdin: false } },
    { argv: ['-u', 'nobody', 'web.1', 'id'], want: { args: ['id'], env: [], user: 'nobody', tty: false, stdin: false } },
    { argv: ['--user', '1000:1000', 'web.1', 'id'], want: { args: ['id'], env: [], user: '1000:1000', tty: false, stdin: false } },
    { argv: ['-w', '/app', 'web.1', 'pwd'], want: { args: ['pwd'], env: [], workdir: '/app', tty: false, stdin: false } },
    { argv: ['--workdir=/srv/data', 'web.1', 'pwd'], want: { args: ['pwd'], env: [], workdir: '/srv/data', tty: false, stdin: false } },
    { argv: ['-e', 'A=1', '-e', 'B=two words', '-e', 'C=', 'web.1', 'env'], want: { args: ['env'], env: ['A=1', 'B=two words', 'C='], tty: false, stdin: false } },
    { argv: ['--env', 'A=1', '--env=B=2', 'web.1', 'env'], want: { args: ['env'], env: ['A=1', 'B=2'], tty: false, stdin: false } },
    { argv: ['-e', 'A=b=c', 'web.1', 'env'], want: { args: ['env'], env: ['A=b=c'], tty: false, stdin: false } },
    // What follows the task is the command's, its flags too.
    { argv: ['-i', 'web.1', 'sh', '-c', 'echo -t $X', '-e'], want: { args: ['sh', '-c', 'echo -t $X', '-e'], env: [], tty: false, stdin: true } },
    { argv: ['web.1', '--', 'ls', '-la'], want: { args: ['--', 'ls', '-la'], env: [], tty: false, stdin: false } },
    { argv: ['-t', '--', 'web.1', 'ls', '-la'], want: { args: ['ls', '-la'], env: [], tty: true, stdin: false, rows: 40, cols: 120 } },
  ];
  for (const c of table) {
    it(`exec ${c.argv.join(' ')}${c.size === null ? ' (no terminal)' : ''}`, () => {
      assert.deepEqual(start(c.argv, c.size === undefined ? SIZE : c.size), c.want);
    });
  }

  it('takes the task from the first positional', () => {
    assert.equal(parse(['-it', '-u', 'root', 'web.1', 'sh']).task, 'web.1');
  });

  it('-e and --env given together keep their order: the one given last wins, as in Docker', () => {
    // The shim's exec sets each --env in turn (native/src/exec.cc SetEnv), so the last of a key wins.
    assert.deepEqual(start(['-e', 'A=1', '--env', 'A=2', 'web.1', 'env']).env, ['A=1', 'A=2']);
  });

  const bad: { name: string; argv: string[]; message: RegExp }[] = [
    { name: 'no command', argv: ['web.1'], message: /usage: tsswarm exec/ },
    { name: 'no command, with flags', argv: ['-it', 'web.1'], message: /usage: tsswarm exec/ },
    { name: 'a relative --workdir', argv: ['-w', 'app', 'web.1', 'pwd'], message: /invalid --workdir "app": it must be absolute/ },
    { name: 'a --workdir of .', argv: ['--workdir', '.', 'web.1', 'pwd'], message: /invalid --workdir "\."/ },
    { name: 'an --env without =', argv: ['-e', 'FOO', 'web.1', 'env'], message: /invalid --env "FOO": expected KEY=VALUE/ },
    { name: 'an --env with no key', argv: ['--env', '=x', 'web.1', 'env'], message: /invalid --env "=x"/ },
    { name: 'one bad --env among good ones', argv: ['-e', 'A=1', '-e', 'B', 'web.1', 'env'], message: /invalid --env "B"/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => start(c.argv),
        (e: unknown) => e instanceof InvalidArgumentError && c.message.test(e.message),
      );
    });
  }
});
