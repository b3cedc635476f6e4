/**
 * Task streams a manager asks for down the session (dispatcher.proto TaskStreamRequest): the agent
 * opens the stream to the manager named in it (reply_to, which need not be the session's), over
 * mutual TLS with the node's certificate, and names it by the request's id in its first message.
 * Logs go up a PublishLogs call (agent/logs/publisher.ts); exec is a duplex Exec call
 * (agent/executor/exec-stream.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { dispatcherClient } from '../../shared/proto/load';
import type { Logger } from '../../shared/log';
import type { TlsIdentity } from '../../shared/pki/tls-identity';
import type { WireExecFrame, WireLogBatch, WireTaskStreamRequest, ExecFrameOut, WireExecRequest } from '../../shared/proto/task-streams';
import { publishLogs, type TaskLogs } from '../logs/publisher';

/** An exec's two directions, as the executor side sees them. */
export interface ExecChannel {
  /** Frames from the manager (stdin, window size, signals), in order; ends with the call. */
  onFrame(listener: (f: WireExecFrame) => void): void;
  /** The call ended from the manager's side (client gone) or failed. */
  closed: AbortSignal;
  send(f: ExecFrameOut): void;
  end(): void;
}

export interface TaskStreamHandlers {
  logs: TaskLogs;
  exec(req: WireExecRequest, ch: ExecChannel): Promise<void>;
}

export class TaskStreams {
  /**
   * One channel per manager, kept: an exec's round trip does not pay a TLS handshake. The
   * credentials follow certificate renewals (a certificate provider).
   */
  private readonly clients = new Map<string, grpc.Client>();

  constructor(
    private readonly tls: TlsIdentity,
    private readonly handlers: TaskStreamHandlers,
    private readonly log: Logger,
  ) {}

  handle(req: WireTaskStreamRequest): void {
    if (req.logs) void this.logs(req, req.logs);
    else if (req.exec) void this.exec(req, req.exec);
  }

  private client(addr: string): grpc.Client {
    let c = this.clients.get(addr);
    if (c === undefined) {
      c = dispatcherClient(addr, this.tls.channelCredentials());
      this.clients.set(addr, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private async logs(req: WireTaskStreamRequest, logs: NonNullable<WireTaskStreamRequest['logs']>): Promise<void> {
    const client = this.client(req.reply_to);
    const ac = new AbortController();
    const call = (client as unknown as { PublishLogs(cb: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<WireLogBatch> }).PublishLogs((e) => {
      if (e && !ac.signal.aborted) this.log.debug(`log stream ${req.id.slice(0, 8)}: ${e.message}`);
      ac.abort();
    });
    call.on('error', () => ac.abort());
    let first = true;
    const sink = {
      closed: ac.signal,
      send: (b: WireLogBatch) =>
        new Promise<void>((resolve) => {
          if (ac.signal.aborted) return resolve();
          if (first) b.stream_id = req.id;
          first = false;
          if (call.write(b)) return resolve();
          const go = () => {
            call.off('drain', go);
            ac.signal.removeEventListener('abort', go);
            resolve();
          };
          call.on('drain', go);
          ac.signal.addEventListener('abort', go, { once: true });
        }),
      end: () => {
        if (!ac.signal.aborted) call.end();
      },
    };
    // The first message names the stream, even when there is nothing to send yet.
    await sink.send({ stream_id: req.id, lines: [], caught_up: [], ended: [], errors: {} });
    try {
      await publishLogs(logs, this.handlers.logs, sink, this.log);
    } catch (e) {
      this.log.warn(`log stream ${req.id.slice(0, 8)}: ${(e as Error).message}`);
      call.end();
    }
  }

  private async exec(req: WireTaskStreamRequest, exec: WireExecRequest): Promise<void> {
    const client = this.client(req.reply_to);
    const ac = new AbortController();
    const call = (client as unknown as { Exec(): grpc.ClientDuplexStream<ExecFrameOut, WireExecFrame> }).Exec();
    const close = () => ac.abort();
    call.on('end', close);
    call.on('error', close);
    call.write({ stream_id: req.id });
    const ch: ExecChannel = {
      // Frames that came before are held by the call itself until it has a 'data' listener.
      onFrame: (l) => {
        call.on('data', l);
      },
      closed: ac.signal,
      send: (f) => {
        if (!ac.signal.aborted) call.write(f);
      },
      end: () => {
        if (!ac.signal.aborted) call.end();
      },
    };
    try {
      await this.handlers.exec(exec, ch);
    } catch (e) {
      ch.send({ error: (e as Error).message });
      ch.end();
    }
  }
}
