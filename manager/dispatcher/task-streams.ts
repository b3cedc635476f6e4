/**
 * Streams of a node's tasks (logs, exec) for the API of this manager (dispatcher.proto
 * TaskStreamRequest). The request goes down the node's session, here or, when another manager
 * holds that session, through that manager (ForwardTaskStream, a manager-only call); the agent then
 * opens the stream (PublishLogs, Exec) to this manager directly, naming it by the request's id, so
 * the data takes one hop whoever holds the session. Only the node asked may open it (its
 * certificate's node id), and only once; an agent that does not open it within STREAM_OPEN_MS
 * fails the request.
 */
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { callDispatcher } from '../../shared/proto/load';
import type { ClusterNode, ManagerRecord } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { NotFoundError, UnavailableError } from '../../shared/errors';
import type { ExecFrameOut, WireExecFrame, WireExecRequest, WireLogBatch, WireLogRequest, WireTaskStreamRequest } from '../../shared/proto/task-streams';
import type { StoreView } from '../store/view';
import type { TlsIdentity } from '../../shared/pki/tls-identity';

/** How long an agent has to open a stream it was asked for. */
export const STREAM_OPEN_MS = 10_000;

export interface LogStream {
  /** Resolves when the agent has sent all (without follow) or the stream was closed; rejects when it broke. */
  done: Promise<void>;
  /** No more wanted: ends the agent's call. */
  close(): void;
}

export interface ExecStream {
  send(f: ExecFrameOut): void;
  onFrame(listener: (f: WireExecFrame) => void): void;
  /** Resolves when the agent ended the call; rejects when it broke. */
  done: Promise<void>;
  close(): void;
}

type Opened = { kind: 'logs'; call: grpc.ServerReadableStream<WireLogBatch, object>; reply: grpc.sendUnaryData<object>; first: WireLogBatch } | { kind: 'exec'; call: grpc.ServerDuplexStream<WireExecFrame, ExecFrameOut>; first: WireExecFrame };

interface Pending {
  nodeId: string;
  kind: 'logs' | 'exec';
  accept(o: Opened): void;
  fail(e: Error): void;
}

export interface TaskStreamDeps {
  view: StoreView;
  tls: TlsIdentity;
  managerId: string;
  /** This manager's dispatcher address, as agents reach it. */
  selfAddr(): string;
  managers(): ManagerRecord[];
  /** Writes the request down the node's session if it is here; false otherwise. */
  toSession(nodeId: string, req: WireTaskStreamRequest): boolean;
}

export class TaskStreamHub {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly deps: TaskStreamDeps) {}

  /** Asks the node's agent for a stream and waits for it to be opened. */
  private async open(nodeId: string, body: { logs: WireLogRequest } | { exec: WireExecRequest }): Promise<Opened> {
    const id = randomBytes(12).toString('hex');
    const kind = 'logs' in body ? 'logs' : 'exec';
    const req: WireTaskStreamRequest = { id, node_id: nodeId, reply_to: this.deps.selfAddr(), kind, ...body };
    const opened = new Promise<Opened>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new UnavailableError(`node ${this.nodeName(nodeId)} did not answer within ${STREAM_OPEN_MS / 1000} s`));
      }, STREAM_OPEN_MS);
      this.pending.set(id, {
        nodeId,
        kind,
        accept: (o) => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(o);
        },
        fail: (e) => {
          clearTimeout(timer);
          this.pending.delete(id);
          reject(e);
        },
      });
    });
    try {
      await this.deliver(nodeId, req);
    } catch (e) {
      this.pending.get(id)?.fail(e as Error);
    }
    return opened;
  }

  private nodeName(nodeId: string): string {
    return this.deps.view.get<ClusterNode>(Keys.node(nodeId))?.value.hostname ?? nodeId.slice(0, 12);
  }

  /** Down the node's session: here, or through the manager that holds it. */
  private async deliver(nodeId: string, req: WireTaskStreamRequest): Promise<void> {
    if (this.deps.toSession(nodeId, req)) return;
    const node = this.deps.view.get<ClusterNode>(Keys.node(nodeId))?.value;
    if (!node) throw new NotFoundError(`node ${nodeId.slice(0, 12)} not found`);
    if (node.status.state !== 'ready') throw new UnavailableError(`node ${node.hostname} is ${node.status.state}`);
    const holder = node.status.manager;
    const addr = this.deps.managers().find((m) => m.id === holder && holder !== this.deps.managerId)?.dispatcher;
    if (addr === undefined) throw new UnavailableError(`node ${node.hostname} has no session with a live manager`);
    await callDispatcher(addr, this.deps.tls.channelCredentials(), 'ForwardTaskStream', req, 5000).catch((e: grpc.ServiceError) => {
      throw new UnavailableError(`node ${node.hostname}: its manager at ${addr}: ${e.details || e.message}`);
    });
  }

  async logs(nodeId: string, req: WireLogRequest, onBatch: (b: WireLogBatch) => void): Promise<LogStream> {
    const o = await this.open(nodeId, { logs: req });
    if (o.kind !== 'logs') throw new Error('the agent opened an exec for a log request');
    let replied = false;
    const reply = () => {
      if (replied) return;
      replied = true;
      o.reply(null, {});
    };
    onBatch(o.first);
    const done = new Promise<void>((resolve, reject) => {
      o.call.on('data', (b: WireLogBatch) => onBatch(b));
      o.call.on('end', () => {
        reply();
        resolve();
      });
      o.call.on('error', (e) => reject(e));
      o.call.on('cancelled', () => reject(new UnavailableError(`node ${this.nodeName(nodeId)}: the log stream was cancelled`)));
    });
    o.call.resume();
    done.catch(() => undefined);
    return { done, close: reply };
  }

  async exec(nodeId: string, req: WireExecRequest): Promise<ExecStream> {
    const o = await this.open(nodeId, { exec: req });
    if (o.kind !== 'exec') throw new Error('the agent opened a log stream for an exec');
    const done = new Promise<void>((resolve, reject) => {
      o.call.on('end', () => {
        o.call.end();
        resolve();
      });
      o.call.on('error', (e) => reject(e));
      o.call.on('cancelled', () => reject(new UnavailableError(`node ${this.nodeName(nodeId)}: the exec stream was cancelled`)));
    });
    done.catch(() => undefined);
    let closed = false;
    return {
      send: (f) => {
        if (!closed) o.call.write(f);
      },
      // The call stays paused (Dispatcher.openedStream), holding what came, until this listener is on.
      onFrame: (l) => {
        o.call.on('data', l);
        o.call.resume();
      },
      done,
      close: () => {
        if (closed) return;
        closed = true;
        o.call.end();
      },
    };
  }

  /**
   * An agent opened a stream (its first message, naming it); `nodeId` is its certificate's. A
   * stream nobody asked this node for is refused.
   */
  accept(nodeId: string, o: Opened): boolean {
    const id = o.first.stream_id;
    const p = this.pending.get(id);
    if (p === undefined || p.nodeId !== nodeId || p.kind !== o.kind) return false;
    p.accept(o);
    return true;
  }
}
