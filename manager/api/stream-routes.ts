/**
 * The API's streamed answers, JSON lines on a chunked response: `GET /v1/events` (`since`, `until`
 * in ms since the epoch, `filter` repeated as Docker's). Without `until` the stream follows until
 * the client goes; with an `until` in the past it ends after what the buffer holds.
 */
import type * as http from 'node:http';
import { InvalidArgumentError } from '../../shared/errors';
import type { ClusterEvent } from '../../shared/api-types';
import { matches, parseEventFilters } from './events';
import type { StreamRoute } from './server';

function msParam(q: URLSearchParams, name: string): number | null {
  const v = q.get(name);
  if (v === null || v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a time in ms since the epoch, got ${JSON.stringify(v)}`);
  return n;
}

/** Starts a stream of JSON lines; returns the writer. */
export function jsonLines(res: http.ServerResponse): (x: unknown) => void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
  res.flushHeaders();
  return (x) => void res.write(`${JSON.stringify(x)}\n`);
}

export const streamRoutes: StreamRoute[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/events$/,
    stream: async (ctx, req, res, _p, q) => {
      const filter = parseEventFilters(q.getAll('filter'));
      if (typeof filter === 'string') throw new InvalidArgumentError(filter);
      const since = msParam(q, 'since');
      const until = msParam(q, 'until');
      if (since !== null && until !== null && until < since) throw new InvalidArgumentError('until is before since');
      const send = jsonLines(res);
      const ok = (e: ClusterEvent) => matches(e, filter) && (until === null || e.timeNano / 1e6 <= until);
      // Follow first, so nothing falls between the buffer and the live events.
      const live: ClusterEvent[] = [];
      let replaying = true;
      const stop = ctx.events.follow((e) => {
        if (replaying) live.push(e);
        else if (ok(e)) send(e);
      });
      const past = since === null ? [] : ctx.events.since(since);
      const seen = new Set(past);
      for (const e of past) if (ok(e)) send(e);
      for (const e of live) if (!seen.has(e) && ok(e)) send(e);
      replaying = false;
      await new Promise<void>((resolve) => {
        const end = () => {
          stop();
          resolve();
        };
        req.on('close', end);
        res.on('close', end);
        if (until !== null) {
          const wait = until - Date.now();
          if (wait <= 0) return end();
          setTimeout(end, wait).unref();
        }
      });
      res.end();
    },
  },
];
