/**
 * A manager's log request for tasks of this node (dispatcher.proto LogRequest), answered into a
 * sink (the PublishLogs call to that manager): each task's log read (reader.ts) concurrently, its
 * records in batches of at most LOG_BATCH_LINES lines or LOG_BATCH_BYTES bytes, sent as soon as a
 * batch fills or the readers pause; a task is `caught_up` once its backlog is sent and `ended` when
 * nothing more will come of it. The manager merges tasks by time; each task's lines come in order.
 */
import { join } from 'node:path';
import type { Logger } from '../../shared/log';
import { LOG_BATCH_BYTES, LOG_BATCH_LINES, type WireLogBatch, type WireLogLine, type WireLogRequest } from '../../shared/proto/task-streams';
import { readLog } from './reader';
import { pathExists } from '../../shared/path-exists';

export interface LogSink {
  /** Resolves once the sink may take more. */
  send(batch: WireLogBatch): Promise<void>;
  /** Aborted when the manager wants no more (it ended the call) or the call failed. */
  closed: AbortSignal;
  end(): void;
}

export interface TaskLogs {
  logsDir: string;
  /**
   * Whether the task's container is gone for good (its log complete); null: the task is not this
   * node's (it may have been once: its log, if one is here, is read to its end).
   */
  ended(taskId: string): Promise<boolean | null>;
}

/** Lines sent together, flushed at the latest after this long. */
const FLUSH_MS = 10;

export async function publishLogs(req: WireLogRequest, tasks: TaskLogs, sink: LogSink, log: Logger): Promise<void> {
  let batch = emptyBatch();
  let bytes = 0;
  let flushTimer: NodeJS.Timeout | null = null;
  let sending: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    if (batch.lines.length === 0 && batch.caught_up.length === 0 && batch.ended.length === 0 && Object.keys(batch.errors).length === 0) return sending;
    const b = batch;
    batch = emptyBatch();
    bytes = 0;
    sending = sending.then(() => (sink.closed.aborted ? undefined : sink.send(b)));
    return sending;
  };
  const later = () => {
    flushTimer ??= setTimeout(() => void flush(), FLUSH_MS);
  };
  const one = async (taskId: string): Promise<void> => {
    const path = join(tasks.logsDir, `${taskId}.log`);
    const known = await tasks.ended(taskId);
    if (known === null && !(await pathExists(path))) {
      batch.errors[taskId] = 'no log of this task on this node';
      later();
      return;
    }
    // A task whose container has not started yet has no file yet: with follow, wait for it.
    if (known === false) {
      while (!sink.closed.aborted && !(await pathExists(path))) {
        if (!req.follow || (await tasks.ended(taskId)) !== false) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    try {
      for await (const chunk of readLog(path, {
        tail: req.tail,
        since: req.since,
        until: req.until,
        follow: req.follow,
        ended: async () => (await tasks.ended(taskId)) !== false,
        signal: sink.closed,
      })) {
        if ('caughtUp' in chunk) {
          batch.caught_up.push(taskId);
          later();
          continue;
        }
        for (const r of chunk.records) {
          batch.lines.push({ task_id: taskId, time: r.time, stream: r.stream, text: r.text, partial: r.partial });
          bytes += r.text.length + 64;
          if (batch.lines.length >= LOG_BATCH_LINES || bytes >= LOG_BATCH_BYTES) await flush();
        }
        later();
      }
    } catch (e) {
      if (!sink.closed.aborted) {
        log.warn(`reading the log of task ${taskId.slice(0, 12)}: ${(e as Error).message}`);
        batch.errors[taskId] = `reading its log: ${(e as Error).message}`;
      }
    }
    batch.ended.push(taskId);
    later();
  };
  await Promise.all(req.task_ids.map(one));
  await flush();
  await sending.catch(() => undefined);
  sink.end();
}

function emptyBatch(): WireLogBatch & { lines: WireLogLine[] } {
  return { stream_id: '', lines: [], caught_up: [], ended: [], errors: {} };
}
