/**
 * `exec [-i] [-t] [-u USER] [-w DIR] [-e K=V]... TASK [--] CMD [ARG...]`: Docker's, on whichever
 * host runs the task, through a manager (manager/api/exec-route.ts, a WebSocket). TASK is a task id
 * (or prefix), `service.slot`, or a service (one of its running tasks). With -t this terminal is
 * put in raw mode and its size is passed on (again on every resize), so Ctrl-C is the container's;
 * without -t a Ctrl-C is sent as SIGINT, and a second one leaves. The command's exit code is ours.
 */
import type { ExecStart } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { flagList, flagString } from '../../shared/flags';
import type { CommandContext } from '../context';

const USAGE = 'usage: tsswarm exec [-i] [-t] [-u USER] [-w DIR] [-e K=V]... TASK [--] CMD [ARG...]';

/** What the flags ask for (`-t`/--tty, `-i`/--interactive, `-u`/--user, `-w`/--workdir, `-e`/--env). */
export function execStart(ctx: CommandContext, command: string[], size: { rows: number; cols: number } | null): ExecStart {
  if (command.length === 0) throw new InvalidArgumentError(USAGE);
  const f = ctx.args.flags;
  const tty = f.get('tty') === true || f.get('t') === true;
  const user = flagString(ctx.args, 'user') ?? flagString(ctx.args, 'u');
  const workdir = flagString(ctx.args, 'workdir') ?? flagString(ctx.args, 'w');
  // -e and --env are one list in the order given (cli/main.ts SHORT_ALIASES); a parse without the aliases has them apart.
  const env = [...flagList(ctx.args, 'env'), ...flagList(ctx.args, 'e')];
  for (const e of env) if (!/^[^=]+=/.test(e)) throw new InvalidArgumentError(`invalid --env ${JSON.stringify(e)}: expected KEY=VALUE`);
  if (workdir !== null && !workdir.startsWith('/')) throw new InvalidArgumentError(`invalid --workdir ${JSON.stringify(workdir)}: it must be absolute`);
  return {
    args: command,
    env,
    ...(user !== null ? { user } : {}),
    ...(workdir !== null ? { workdir } : {}),
    tty,
    stdin: f.get('interactive') === true || f.get('i') === true,
    ...(tty && size !== null ? size : {}),
  };
}

export async function execCommand(ctx: CommandContext): Promise<void> {
  const [task, ...command] = ctx.args.positionals;
  if (task === undefined) throw new InvalidArgumentError(USAGE);
  const stdout = process.stdout;
  const size = stdout.isTTY ? { rows: stdout.rows, cols: stdout.columns } : null;
  const start = execStart(ctx, command, size);
  const ws = await ctx.client.websocket(`/v1/tasks/${encodeURIComponent(task)}/exec`);
  ws.send(JSON.stringify(start));
  const stdin = process.stdin;
  const raw = start.tty === true && stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  const restore = () => {
    if (raw) stdin.setRawMode(false);
  };
  if (start.stdin === true) {
    stdin.on('data', (b: Buffer) => ws.send(b, { binary: true }));
    stdin.on('end', () => ws.send(JSON.stringify({ stdinEnd: true })));
  }
  const onResize = () => ws.send(JSON.stringify({ resize: { rows: stdout.rows, cols: stdout.columns } }));
  if (start.tty === true && stdout.isTTY) stdout.on('resize', onResize);
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) {
      restore();
      process.exit(130);
    }
    ws.send(JSON.stringify({ signal: 'SIGINT' }));
  };
  // With a raw terminal Ctrl-C is a byte for the container; otherwise it is ours to pass on.
  if (!raw) process.on('SIGINT', onSigint);
  const code = await new Promise<number>((resolve, reject) => {
    let exit: number | null = null;
    let error: string | null = null;
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (binary) {
        (data[0] === 2 ? process.stderr : stdout).write(data.subarray(1));
        return;
      }
      const m = JSON.parse(data.toString('utf8')) as { exit?: number; error?: string };
      if (typeof m.exit === 'number') exit = m.exit;
      if (typeof m.error === 'string') error = m.error;
    });
    ws.on('close', () => {
      if (error !== null && exit === null) return reject(new InvalidArgumentError(error));
      if (error !== null) process.stderr.write(`error: ${error}\n`);
      resolve(exit ?? 1);
    });
    ws.on('error', (e) => reject(e));
  }).finally(() => {
    restore();
    process.off('SIGINT', onSigint);
    stdout.off('resize', onResize);
    stdin.pause();
  });
  process.exitCode = code;
}
