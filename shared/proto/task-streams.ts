/**
 * Task streams (dispatcher.proto TaskStreamRequest, LogBatch, ExecFrame) as proto-loader decodes
 * them (keepCase, oneofs): what a manager asks of a node's agent, and what flows back. One set of
 * shapes for the manager that asks, the manager that forwards and the agent that answers.
 */

export interface WireLogRequest {
  task_ids: string[];
  follow: boolean;
  /** The last N lines of each task; -1: all. */
  tail: number;
  /** RFC 3339 with 9 fraction digits, or '' for no bound. */
  since: string;
  until: string;
}

export interface WireExecRequest {
  task_id: string;
  args: string[];
  env: string[];
  user: string;
  workdir: string;
  tty: boolean;
  stdin: boolean;
  rows: number;
  cols: number;
}

export interface WireTaskStreamRequest {
  id: string;
  node_id: string;
  /** The dispatcher address of the manager the agent opens the stream to. */
  reply_to: string;
  kind?: 'logs' | 'exec';
  logs?: WireLogRequest;
  exec?: WireExecRequest;
}

export interface WireLogLine {
  task_id: string;
  /** UTC, RFC 3339 with 9 fraction digits: lines compare by time as strings. */
  time: string;
  stream: 'stdout' | 'stderr';
  text: Buffer;
  partial: boolean;
}

export interface WireLogBatch {
  stream_id: string;
  lines: WireLogLine[];
  caught_up: string[];
  ended: string[];
  errors: Record<string, string>;
}

export interface WireExecFrame {
  stream_id: string;
  stdin: Buffer;
  stdin_end: boolean;
  rows: number;
  cols: number;
  signal: string;
  stdout: Buffer;
  stderr: Buffer;
  exited: boolean;
  exit_code: number;
  error: string;
}

/** An ExecFrame with only some fields set (the rest take proto3's defaults on the wire). */
export type ExecFrameOut = Partial<WireExecFrame>;

/** Log lines per batch, and bytes: big enough to carry 10,000 lines in a few messages, small enough not to hold a heartbeat up. */
export const LOG_BATCH_LINES = 2000;
export const LOG_BATCH_BYTES = 512 * 1024;
