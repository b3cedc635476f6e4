/**
 * `service logs [-f] [--tail N] [--since T] [--until T] [-t|--timestamps] [--raw] [--no-task-ids]
 * [--no-trunc] [--no-resolve] SERVICE|TASK`: Docker's, from the manager's merged stream. Lines go
 * to stdout or stderr as the container wrote them, each after its task's name and node
 * (`web.1.k3x7q8vz9f0a@host2    | ...`, Docker's prefix), the time first with --timestamps;
 * --raw leaves the prefix out. A notice (a node that went down, a stream that broke off) is a line
 * on stderr.
 */
import type { LogEvent } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { flagString } from '../../shared/flags';
import { parseLogTime } from '../../shared/log-time';
import { ApiError } from '../client';
import type { CommandContext } from '../context';

const USAGE = 'usage: tsswarm service logs [-f] [--tail N] [--since TIME] [--until TIME] [--timestamps] [--raw] [--no-task-ids] [--no-trunc] [--no-resolve] SERVICE|TASK';

/** The query the flags make. `-f` is follow here (elsewhere it is --force), `-t` --timestamps, `-n` --tail. */
export function logsQuery(ctx: CommandContext, now = new Date()): URLSearchParams {
  const q = new URLSearchParams();
  const flags = ctx.args.flags;
  if (flags.get('follow') === true || flags.get('f') === true) q.set('follow', '1');
  const tail = flagString(ctx.args, 'tail') ?? flagString(ctx.args, 'n');
  if (tail !== null && tail !== 'all') {
    if (!/^\d+$/.test(tail)) throw new InvalidArgumentError(`invalid --tail ${JSON.stringify(tail)}: give a number of lines or "all"`);
    q.set('tail', tail);
  }
  for (const name of ['since', 'until'] as const) {
    const v = flagString(ctx.args, name);
    if (v === null) continue;
    const t = parseLogTime(v, now);
    if (t === null) throw new InvalidArgumentError(`invalid --${name} ${JSON.stringify(v)}: give a time (2026-12-01T10:00:00Z), Unix seconds, or a duration ago (10m)`);
    q.set(name, t);
  }
  return q;
}

export interface LogFormat {
  timestamps: boolean;
  raw: boolean;
  taskIds: boolean;
  trunc: boolean;
  resolve: boolean;
}

/** Writes the stream's events as Docker's `service logs` shows them. */
export class LogPrinter {
  private readonly tasks = new Map<string, string>();

  constructor(
    private readonly f: LogFormat,
    private readonly out: (stream: 'stdout' | 'stderr', text: string) => void,
  ) {}

  private prefix(task: string | undefined, node: string | undefined): string {
    if (task === undefined) return node ?? '';
    return this.tasks.get(task) ?? `${task.slice(0, this.f.trunc ? 12 : undefined)}@${node ?? '?'}`;
  }

  event(e: LogEvent): void {
    switch (e.kind) {
      case 'task': {
        const id = this.f.trunc ? e.id.slice(0, 12) : e.id;
        this.tasks.set(e.id, `${e.name}${this.f.taskIds ? `.${id}` : ''}@${this.f.resolve ? e.node : e.nodeId.slice(0, this.f.trunc ? 12 : undefined)}`);
        return;
      }
      case 'line': {
        const time = this.f.timestamps ? `${e.time} ` : '';
        const text = e.text.endsWith('\n') ? e.text : `${e.text}\n`;
        this.out(e.stream, this.f.raw ? `${time}${text}` : `${this.prefix(e.task, undefined)}    | ${time}${text}`);
        return;
      }
      case 'notice':
        this.out('stderr', this.f.raw ? `${e.text}\n` : `${this.prefix(e.task, e.node)}    | ${e.text}\n`);
    }
  }
}

export async function serviceLogs(ctx: CommandContext, args: string[]): Promise<void> {
  if (args.length !== 1) throw new InvalidArgumentError(USAGE);
  const ref = encodeURIComponent(args[0]!);
  const q = logsQuery(ctx);
  const flags = ctx.args.flags;
  const printer = new LogPrinter(
    {
      timestamps: flags.get('timestamps') === true || flags.get('t') === true,
      raw: flags.get('raw') === true,
      taskIds: flags.get('no-task-ids') !== true,
      trunc: flags.get('no-trunc') !== true,
      resolve: flags.get('no-resolve') !== true,
    },
    (stream, text) => void (stream === 'stdout' ? process.stdout : process.stderr).write(text),
  );
  const onEvent = ctx.json ? (e: LogEvent) => void process.stdout.write(`${JSON.stringify(e)}\n`) : (e: LogEvent) => printer.event(e);
  try {
    await ctx.client.stream<LogEvent>(`/v1/services/${ref}/logs?${q}`, onEvent);
  } catch (e) {
    // Docker's `service logs` takes a task too.
    if (!(e instanceof ApiError && e.code === 'SERVICE_NOT_FOUND')) throw e;
    try {
      await ctx.client.stream<LogEvent>(`/v1/tasks/${ref}/logs?${q}`, onEvent);
    } catch (e2) {
      if (e2 instanceof ApiError && e2.status === 404) throw new InvalidArgumentError(`no such service or task: ${args[0]}`);
      throw e2;
    }
  }
}
