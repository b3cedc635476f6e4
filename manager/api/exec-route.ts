/**
 * `tsswarm exec`: `GET /v1/tasks/:ref/exec` upgraded to a WebSocket (`ws`), on the unix socket and
 * on the TCP API (behind its client-certificate check). The client's first message is the exec
 * (ExecStart, JSON); the manager asks the task's node for it (manager/dispatcher/task-streams.ts)
 * and relays both ways:
 *
 *   client -> manager: binary = stdin bytes; text = {"resize":{"rows":R,"cols":C}} | {"signal":"SIGINT"} | {"stdinEnd":true}
 *   manager -> client: binary = one byte (1 stdout, 2 stderr) then the bytes; text = {"exit":N} | {"error":"..."}
 *
 * `ref` is a task id (or an unambiguous prefix), a task name `service.slot`, or a service, which
 * means one of its running tasks.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { InvalidArgumentError, NotFoundError, TsswarmError, UnavailableError } from '../../shared/errors';
import { Keys } from '../../shared/keys';
import type { Task } from '../../shared/types';
import type { ExecStart } from '../../shared/api-types';
import type { WireExecRequest } from '../../shared/proto/task-streams';
import { findTask } from './find-task';
import { findService } from './service-routes';
import type { ApiContext } from './server';

const EXEC_PATH = /^\/v1\/tasks\/([^/]+)\/exec$/;

/** The running task `ref` names. */
export async function execTarget(ctx: ApiContext, ref: string): Promise<Task> {
  const task = await findTask(ctx.store, ref).then((t) => t.value).catch(() => null);
  if (task !== null) {
    if (task.status.state !== 'running' || task.nodeId === null) throw new InvalidArgumentError(`task ${task.id.slice(0, 12)} is not running (it is ${task.status.state})`);
    return task;
  }
  const m = /^(.+)\.(\d+)$/.exec(ref);
  const service = await findService(ctx.store, m ? m[1]! : ref).catch(() => null);
  if (service === null) throw new NotFoundError(`no such task or service: ${ref}`);
  const running = ctx.view
    .list<Task>(Keys.tasks)
    .map((v) => v.value)
    .filter((t) => t.serviceId === service.value.id && t.status.state === 'running' && t.nodeId !== null && (m === null || t.slot === Number(m[2])))
    .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
  if (running.length === 0) throw new InvalidArgumentError(`${ref} has no running task`);
  return running[0]!;
}

function execRequest(task: Task, start: unknown): WireExecRequest {
  const s = (start ?? {}) as Partial<ExecStart>;
  if (!Array.isArray(s.args) || s.args.length === 0 || !s.args.every((a) => typeof a === 'string')) throw new InvalidArgumentError('exec: a command is required');
  const strings = (v: unknown, name: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new InvalidArgumentError(`exec: ${name} must be a list of strings`);
    return v as string[];
  };
  const env = strings(s.env, 'env');
  for (const e of env) if (!/^[^=]+=/.test(e)) throw new InvalidArgumentError(`exec: invalid environment variable ${JSON.stringify(e)} (KEY=VALUE)`);
  if (s.workdir !== undefined && s.workdir !== '' && !s.workdir.startsWith('/')) throw new InvalidArgumentError(`exec: the working directory must be absolute, got ${JSON.stringify(s.workdir)}`);
  const size = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536 ? n : 0);
  return {
    task_id: task.id,
    args: s.args,
    env,
    user: typeof s.user === 'string' ? s.user : '',
    workdir: typeof s.workdir === 'string' ? s.workdir : '',
    tty: s.tty === true,
    stdin: s.stdin === true,
    rows: size(s.rows),
    cols: size(s.cols),
  };
}

async function session(ctx: ApiContext, ws: WebSocket, ref: string): Promise<void> {
  const fail = (e: unknown) => {
    const message = e instanceof TsswarmError ? e.message : `internal error: ${(e as Error).message}`;
    if (!(e instanceof TsswarmError)) ctx.log.error(`exec ${ref}: ${(e as Error).stack ?? String(e)}`);
    ws.send(JSON.stringify({ error: message }));
    ws.close();
  };
  // Input that comes while the stream is being opened is kept for it.
  const early: { data: Buffer; binary: boolean }[] = [];
  let first: ((data: Buffer) => void) | null = null;
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (first) {
      const f = first;
      first = null;
      return f(data);
    }
    early.push({ data, binary });
  });
  const startText = await new Promise<Buffer>((resolve) => (first = resolve));
  let start: unknown;
  try {
    start = JSON.parse(startText.toString('utf8'));
  } catch {
    return fail(new InvalidArgumentError('exec: the first message must be the exec, as JSON'));
  }
  let stream;
  try {
    const task = await execTarget(ctx, ref);
    stream = await ctx.streams.exec(task.nodeId!, execRequest(task, start));
  } catch (e) {
    return fail(e);
  }
  const s = stream;
  let exited = false;
  s.onFrame((f) => {
    if (f.stdout && f.stdout.length) ws.send(Buffer.concat([Buffer.of(1), f.stdout]));
    if (f.stderr && f.stderr.length) ws.send(Buffer.concat([Buffer.of(2), f.stderr]));
    if (f.error) ws.send(JSON.stringify({ error: f.error }));
    if (f.exited) {
      exited = true;
      ws.send(JSON.stringify({ exit: f.exit_code }));
      ws.close();
    }
  });
  const input = (data: Buffer, binary: boolean) => {
    if (binary) return s.send({ stdin: data });
    let m: { resize?: { rows?: number; cols?: number }; signal?: string; stdinEnd?: boolean };
    try {
      m = JSON.parse(data.toString('utf8')) as typeof m;
    } catch {
      return;
    }
    if (m.resize && typeof m.resize.rows === 'number' && typeof m.resize.cols === 'number') s.send({ rows: m.resize.rows, cols: m.resize.cols });
    if (typeof m.signal === 'string') s.send({ signal: m.signal });
    if (m.stdinEnd === true) s.send({ stdin_end: true });
  };
  ws.removeAllListeners('message');
  ws.on('message', (data: Buffer, binary: boolean) => input(data, binary));
  for (const e of early.splice(0)) input(e.data, e.binary);
  // The client gone: the process is ended on its node (agent/executor/exec-stream.ts).
  ws.on('close', () => s.close());
  try {
    await s.done;
    if (!exited) fail(new UnavailableError('the exec stream ended before the process did'));
  } catch (e) {
    if (!exited) fail(new UnavailableError(`the exec stream broke off: ${(e as Error).message}`));
  }
}

/**
 * Takes `server`'s WebSocket upgrades for exec; `admit` (the TCP API's client-certificate check)
 * may refuse a request first, with a message.
 */
export function attachExec(server: http.Server, ctx: ApiContext, admit: (req: http.IncomingMessage) => string | null = () => null): void {
  let wss: WebSocketServer | null = null;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://tsswarm');
    const m = EXEC_PATH.exec(url.pathname);
    const refused = m === null ? 'no such endpoint' : admit(req);
    if (refused !== null) {
      socket.end(`HTTP/1.1 ${m === null ? '404 Not Found' : '401 Unauthorized'}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${refused}\n`);
      return;
    }
    // ws is loaded on the first exec only.
    void import('ws').then(({ WebSocketServer: Server }) => {
      wss ??= new Server({ noServer: true });
      wss.handleUpgrade(req, socket, head, (ws) => void session(ctx, ws, decodeURIComponent(m![1]!)));
    });
  });
}
