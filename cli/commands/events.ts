/** `events [--since T] [--until T] [--filter K=V]...`: Docker's, from the manager's event stream. */
import type { ClusterEvent } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { parseLogTime } from '../../shared/log-time';
import { flagList, flagString } from '../../shared/flags';
import type { CommandContext } from '../context';

/**
 * Docker's times: RFC 3339, Unix seconds (`1700000000.5`), or a duration ago (`10m`), read as
 * `service logs` reads them (shared/log-time.ts); in ms since the epoch.
 */
export function parseTime(flag: string, v: string, now = Date.now()): number {
  const t = parseLogTime(v, new Date(now));
  if (t === null) throw new InvalidArgumentError(`invalid --${flag} ${JSON.stringify(v)}: give a time (2026-12-01T10:00:00Z), Unix seconds, or a duration ago (10m)`);
  return Date.parse(t);
}

/** Docker's line: `TIME TYPE ACTION ID (k=v, ...)`. */
export function eventLine(e: ClusterEvent): string {
  // timeNano is past a double's integer precision: the manager's clock is in ms anyway.
  const ms = Math.round(e.timeNano / 1e6);
  const time = `${new Date(ms).toISOString().slice(0, 19)}.${String(ms % 1000).padStart(3, '0')}000000Z`;
  const attrs = Object.entries(e.actor.attributes).filter(([, v]) => v !== '').sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  return `${time} ${e.type} ${e.action} ${e.actor.id}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

export async function events(ctx: CommandContext): Promise<void> {
  if (ctx.args.positionals.length > 0) throw new InvalidArgumentError('usage: tsswarm events [--since T] [--until T] [--filter K=V]...');
  const q = new URLSearchParams();
  const since = flagString(ctx.args, 'since');
  const until = flagString(ctx.args, 'until');
  if (since !== null) q.set('since', String(parseTime('since', since)));
  if (until !== null) q.set('until', String(parseTime('until', until)));
  for (const f of flagList(ctx.args, 'filter')) q.append('filter', f);
  await ctx.client.stream<ClusterEvent>(`/v1/events?${q}`, (e) => process.stdout.write(ctx.json ? `${JSON.stringify(e)}\n` : `${eventLine(e)}\n`));
}
