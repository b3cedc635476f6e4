/**
 * `GET /services/{id}/logs` and `GET /tasks/{id}/logs`: the same merged stream as tsswarm's own
 * log routes (manager/logs/service-logs.ts), written as dockerd writes swarm logs so that
 * `docker service logs` reads it unchanged (moby api/server/router/swarm/helpers.go swarmLogs,
 * api/server/httputils/write_log_stream.go, daemon/cluster/services.go ServiceLogs):
 *
 * - a non-TTY service's messages are multiplexed (stdcopy framing: an 8-byte header of stream
 *   type, three zero bytes and the big-endian payload length), a TTY service's raw;
 * - each payload is `[<time> ][<details> ]<line>\n`: the time with nine fraction digits when
 *   `timestamps` is asked, the details when `details` is: `key=value` pairs joined by commas,
 *   here the three swarm context keys the CLI parses to print `web.1.<task>@<node>    | ...`
 *   (docker/cli cli/command/service/logs.go; tsswarm's log records have no other attributes);
 * - the Content-Type is raw-stream up to API 1.41 whatever the framing (dockerd names the
 *   multiplexed type only from 1.42), multiplexed-stream for a non-TTY service from 1.42.
 *
 * Query: stdout, stderr (at least one), follow, timestamps, details (Go's boolean form values),
 * tail (`all` or a count per task), since (the Unix `seconds[.nanos]` the CLI sends; RFC 3339 and
 * durations too, as tsswarm's own route takes them) and until (dockerd ignores it for swarm logs;
 * tsswarm's streams can honour it, so it is honoured).
 */
import type * as http from 'node:http';
import type { LogEvent } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { logQuery } from '../api/log-routes';
import { findService } from '../api/service-ops';
import { findTask } from '../api/find-task';
import { streamLogs, type LogQuery, type LogTarget } from '../logs/service-logs';
import { dockerHeaders, STREAMED } from './reply';
import type { DockerContext, DockerRoute } from './server';
import { unversioned } from './system';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** stdcopy's stream types; `systemErr` is an error of the daemon's own, which ends a Docker client's read. */
export const StreamType = { stdout: 1, stderr: 2, systemErr: 3 } as const;
export type StreamTypeCode = (typeof StreamType)[keyof typeof StreamType];

export interface DockerLogOptions {
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  details: boolean;
  query: LogQuery;
}

/** Go's form boolean as dockerd reads it (httputils.BoolValue): anything but empty, 0, no, false, none. */
export function formBool(v: string | null): boolean {
  const s = (v ?? '').trim().toLowerCase();
  return !['', '0', 'no', 'false', 'none'].includes(s);
}

/** dockerd's tail: `all` or empty for everything, else a count that is not negative. */
function tailParam(v: string | null): number {
  if (v === null || v === '' || v === 'all') return -1;
  if (!/^[+-]?\d+$/.test(v)) throw new InvalidArgumentError('tail value must be a positive integer or "all"');
  const n = Number(v);
  if (n < 0) throw new InvalidArgumentError('negative tail values not supported');
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('tail value must be a positive integer or "all"');
  return n;
}

/** The request's query, checked as dockerd checks it before answering 200 (after that, errors cannot be told). */
export function dockerLogOptions(q: URLSearchParams, now = new Date()): DockerLogOptions {
  const stdout = formBool(q.get('stdout'));
  const stderr = formBool(q.get('stderr'));
  if (!stdout && !stderr) throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
  const tail = tailParam(q.get('tail'));
  // since / until mean what they mean on tsswarm's own route: one parser for both APIs.
  const times = new URLSearchParams();
  for (const name of ['since', 'until']) {
    const v = q.get(name);
    if (v !== null && v !== '') times.set(name, v);
  }
  const { since, until } = logQuery(times, now);
  return { stdout, stderr, timestamps: formBool(q.get('timestamps')), details: formBool(q.get('details')), query: { follow: formBool(q.get('follow')), tail, since, until } };
}

/** The Content-Type dockerd gives a log stream at the API version asked. */
export function logContentType(apiVersion: string, tty: boolean): string {
  const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
  const atLeast142 = major > 1 || (major === 1 && minor >= 42);
  return !tty && atLeast142 ? MULTIPLEXED_STREAM : RAW_STREAM;
}

/** One stdcopy frame. */
export function frame(stream: StreamTypeCode, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Go's url.QueryEscape, which dockerd applies to each detail's key and value. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

export interface LogContext {
  nodeId: string;
  serviceId: string;
  taskId: string;
}

/** The details of a swarm log message: dockerd sorts the pairs by key, which puts node, service, task in that order. */
export function detailContext(c: LogContext): string {
  const pairs: Array<[string, string]> = [
    ['com.docker.swarm.node.id', c.nodeId],
    ['com.docker.swarm.service.id', c.serviceId],
    ['com.docker.swarm.task.id', c.taskId],
  ];
  return pairs.map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`).join(',');
}

/** A message's payload: `[time ][details ]text`, the text ending in one newline as dockerd's lines do. */
export function logPayload(o: { timestamps: boolean; details: boolean }, time: string, context: LogContext, text: string): Buffer {
  const head = `${o.timestamps ? `${time} ` : ''}${o.details ? `${detailContext(context)} ` : ''}`;
  return Buffer.concat([Buffer.from(head), Buffer.from(text.endsWith('\n') ? text : `${text}\n`)]);
}

/**
 * Turns the merged stream's events into Docker's messages. A line needs its task's node, which
 * the stream names before the task's first line. A notice (a node down, a stream broken off) is
 * not a line of the container's: it goes as a stderr message of its task, so a Docker client
 * prints it in place with the task's prefix and reads on. dockerd would end the whole stream
 * with a system-error frame instead, and every client stops reading at one, which would cut off
 * the other tasks' logs; only a notice that names no known task goes that way.
 */
export class DockerLogWriter {
  private readonly nodes = new Map<string, string>();

  constructor(
    private readonly o: Omit<DockerLogOptions, 'query'>,
    private readonly serviceId: string,
    private readonly multiplexed: boolean,
    private readonly write: (b: Buffer) => void,
  ) {}

  event(e: LogEvent): void {
    switch (e.kind) {
      case 'task':
        this.nodes.set(e.id, e.nodeId);
        return;
      case 'line':
        if (e.stream === 'stdout' ? this.o.stdout : this.o.stderr) this.message(e.stream === 'stdout' ? StreamType.stdout : StreamType.stderr, e.time, e.task, e.text);
        return;
      case 'notice': {
        const known = e.task !== undefined && this.nodes.has(e.task);
        if (known && this.o.stderr) this.message(StreamType.stderr, e.time, e.task!, e.text);
        else if (!known) this.send(StreamType.systemErr, Buffer.from(`Error grabbing logs: ${e.text}\n`));
        return;
      }
    }
  }

  private message(stream: StreamTypeCode, time: string, task: string, text: string): void {
    this.send(stream, logPayload(this.o, time, { nodeId: this.nodes.get(task) ?? '', serviceId: this.serviceId, taskId: task }, text));
  }

  private send(stream: StreamTypeCode, payload: Buffer): void {
    this.write(this.multiplexed ? frame(stream, payload) : payload);
  }
}

interface LogSource {
  target: LogTarget;
  serviceId: string;
  tty: boolean;
}

async function serve(ctx: DockerContext, req: http.IncomingMessage, res: http.ServerResponse, q: URLSearchParams, find: () => Promise<LogSource>): Promise<typeof STREAMED> {
  // Docker's order: the streams asked, then the object, then the options; all before the 200.
  const opts = dockerLogOptions(q);
  const src = await find();
  const v = unversioned(new URL(req.url ?? '/', 'http://docker').pathname);
  const version = 'version' in v ? v.version : '';
  res.writeHead(200, { ...dockerHeaders(), 'Content-Type': logContentType(version, src.tty) });
  res.flushHeaders();
  const writer = new DockerLogWriter(opts, src.serviceId, !src.tty, (b) => void res.write(b));
  const ac = new AbortController();
  const gone = () => ac.abort();
  req.on('close', gone);
  res.on('close', gone);
  try {
    await streamLogs({ view: ctx.view, streams: ctx.streams, log: ctx.log }, src.target, opts.query, (e) => writer.event(e), ac.signal);
  } finally {
    req.off('close', gone);
    res.off('close', gone);
  }
  res.end();
  return STREAMED;
}

export const dockerLogRoutes: DockerRoute[] = [
  {
    method: 'GET',
    pattern: /^\/services\/([^/]+)\/logs$/,
    handler: (ctx, req, [ref], q, res) =>
      serve(ctx, req, res, q, async () => {
        const s = (await findService(ctx.store, ref!)).value;
        return { target: { serviceId: s.id }, serviceId: s.id, tty: s.spec.task.container.tty === true };
      }),
  },
  {
    method: 'GET',
    pattern: /^\/tasks\/([^/]+)\/logs$/,
    handler: (ctx, req, [ref], q, res) =>
      serve(ctx, req, res, q, async () => {
        const t = (await findTask(ctx.store, ref!)).value;
        return { target: { taskId: t.id }, serviceId: t.serviceId, tty: t.spec.container.tty === true };
      }),
  },
];
