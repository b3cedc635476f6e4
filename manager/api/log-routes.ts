/**
 * `GET /v1/services/:ref/logs` and `GET /v1/tasks/:ref/logs`: the tasks' logs from the nodes that
 * ran them, merged in time order (manager/logs/service-logs.ts), as JSON lines (LogEvent). Query:
 * `follow=1`, `tail=N` (per task; `all` or absent: everything), `since` and `until` (an RFC 3339
 * time, a Unix time or a duration back from now, as Docker's). Ends when every task's log has been
 * sent, or, with follow, when the client goes.
 */
import { InvalidArgumentError } from '../../shared/errors';
import { parseLogTime } from '../../shared/log-time';
import { streamLogs, type LogQuery, type LogTarget } from '../logs/service-logs';
import { findService } from './service-routes';
import { findTask } from './find-task';
import { jsonLines } from './stream-routes';
import type { StreamRoute, ApiContext } from './server';
import type * as http from 'node:http';

export function logQuery(q: URLSearchParams, now = new Date()): LogQuery {
  const follow = ['1', 'true'].includes(q.get('follow') ?? '');
  const tailText = q.get('tail') ?? 'all';
  const tail = tailText === 'all' || tailText === '' || tailText === '-1' ? -1 : /^\d+$/.test(tailText) ? Number(tailText) : NaN;
  if (!Number.isSafeInteger(tail)) throw new InvalidArgumentError(`tail must be a number of lines or "all", got ${JSON.stringify(tailText)}`);
  const time = (name: string): string => {
    const v = q.get(name);
    if (v === null || v === '') return '';
    const t = parseLogTime(v, now);
    if (t === null) throw new InvalidArgumentError(`${name}: ${JSON.stringify(v)} is not a time (RFC 3339, a Unix time, or a duration such as 10m)`);
    return t;
  };
  const since = time('since');
  const until = time('until');
  if (since !== '' && until !== '' && until < since) throw new InvalidArgumentError('until is before since');
  return { follow, tail, since, until };
}

async function serve(ctx: ApiContext, req: http.IncomingMessage, res: http.ServerResponse, target: LogTarget, q: URLSearchParams): Promise<void> {
  const query = logQuery(q);
  const send = jsonLines(res);
  const ac = new AbortController();
  const gone = () => ac.abort();
  req.on('close', gone);
  res.on('close', gone);
  try {
    await streamLogs({ view: ctx.view, streams: ctx.streams, log: ctx.log }, target, query, send, ac.signal);
  } finally {
    req.off('close', gone);
    res.off('close', gone);
  }
  res.end();
}

export const logRoutes: StreamRoute[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/services\/([^/]+)\/logs$/,
    stream: async (ctx, req, res, [ref], q) => {
      const s = await findService(ctx.store, ref!);
      await serve(ctx, req, res, { serviceId: s.value.id }, q);
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/tasks\/([^/]+)\/logs$/,
    stream: async (ctx, req, res, [ref], q) => {
      const t = await findTask(ctx.store, ref!);
      await serve(ctx, req, res, { taskId: t.value.id }, q);
    },
  },
];
