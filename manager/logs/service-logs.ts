/**
 * `service logs` / `task logs`: the logs of a service's tasks (or of one task) from every node that
 * ran them, merged in time order (merge.ts). Each node is asked once for the tasks it has (a task
 * stream, manager/dispatcher/task-streams.ts). With follow, tasks that start later are asked for as
 * the view shows them on a node, from their first line; a node that goes down (or whose stream
 * breaks) ends its tasks' logs with one notice saying so.
 *
 * What goes out is LogEvent (shared/api-types.ts): a task before its first line, lines, notices.
 */
import type { ClusterNode, Task } from '../../shared/types';
import type { LogEvent } from '../../shared/api-types';
import { Keys } from '../../shared/keys';
import { TaskState } from '../../shared/task-state';
import { nanoTime } from '../../shared/log-time';
import type { Logger } from '../../shared/log';
import type { WireLogBatch } from '../../shared/proto/task-streams';
import type { StoreView } from '../store/view';
import type { LogStream, TaskStreamHub } from '../dispatcher/task-streams';
import { LogMerge, type MergedLine } from './merge';

export interface LogQuery {
  follow: boolean;
  /** Per task; -1: all. */
  tail: number;
  since: string;
  until: string;
}

export interface LogDeps {
  view: StoreView;
  streams: TaskStreamHub;
  log: Logger;
}

/** What logs are asked of: one task, or a service's tasks (those that start later too, with follow). */
export type LogTarget = { taskId: string } | { serviceId: string };

/** A task has a log once its node got as far as starting its container. */
function hasRun(t: Task): boolean {
  return t.nodeId !== null && TaskState[t.status.state] >= TaskState.starting;
}

export async function streamLogs(deps: LogDeps, target: LogTarget, q: LogQuery, out: (e: LogEvent) => void, signal: AbortSignal): Promise<void> {
  const { view } = deps;
  const known = new Set<string>();
  const streams = new Set<LogStream>();
  /** Node → the tasks being read from it, not ended yet. */
  const open = new Map<string, Set<string>>();
  const merge = new LogMerge((l: MergedLine) => out({ kind: 'line', task: l.task, time: l.time, stream: l.stream, text: l.text.toString('utf8') }));
  let pending = 0;
  let wake: (() => void) | null = null;
  const poke = () => {
    merge.pump();
    wake?.();
  };
  const endTask = (task: string) => {
    merge.end(task);
    for (const set of open.values()) set.delete(task);
  };
  const nodeName = (nodeId: string) => view.get<ClusterNode>(Keys.node(nodeId))?.value.hostname ?? nodeId.slice(0, 12);

  const tasksNow = (): Task[] => {
    if ('taskId' in target) {
      const t = view.get<Task>(Keys.task(target.taskId))?.value;
      return t && hasRun(t) ? [t] : [];
    }
    return view
      .list<Task>(Keys.tasks)
      .map((v) => v.value)
      .filter((t) => t.serviceId === target.serviceId && hasRun(t));
  };

  /** Asks each node for its new tasks' logs. */
  const ask = (tasks: Task[], tail: number) => {
    const byNode = new Map<string, Task[]>();
    for (const t of tasks) {
      if (known.has(t.id)) continue;
      known.add(t.id);
      const l = byNode.get(t.nodeId!) ?? [];
      l.push(t);
      byNode.set(t.nodeId!, l);
    }
    for (const [nodeId, list] of byNode) {
      const host = nodeName(nodeId);
      const ids = list.map((t) => t.id);
      for (const t of list) {
        merge.add(t.id);
        out({ kind: 'task', id: t.id, name: `${t.serviceName}.${t.slot ?? t.nodeId}`, node: host, nodeId });
      }
      const mine = open.get(nodeId) ?? new Set<string>();
      for (const id of ids) mine.add(id);
      open.set(nodeId, mine);
      pending++;
      const onBatch = (b: WireLogBatch) => {
        for (const l of b.lines) merge.line(l.task_id, l.time, l.stream, l.text, l.partial);
        for (const id of b.caught_up) merge.caughtUp(id);
        for (const [id, why] of Object.entries(b.errors)) if ('taskId' in target) out({ kind: 'notice', time: nanoTime(new Date()), text: why, task: id, node: host });
        for (const id of b.ended) endTask(id);
        poke();
      };
      const broke = (why: string) => {
        const left = ids.filter((id) => mine.has(id));
        if (left.length === 0) return;
        merge.pump();
        for (const id of left) {
          endTask(id);
          out({ kind: 'notice', time: nanoTime(new Date()), text: why, task: id, node: host });
        }
        poke();
      };
      void deps.streams
        .logs(nodeId, { task_ids: ids, follow: q.follow, tail, since: q.since, until: q.until }, onBatch)
        .then(async (s) => {
          streams.add(s);
          if (signal.aborted) s.close();
          try {
            await s.done;
            // A stream that ended without saying its tasks ended (the agent went away mid-way).
            broke(`the log stream from ${host} ended early`);
          } catch (e) {
            broke(`the log stream from ${host} broke off: ${(e as Error).message}`);
          } finally {
            streams.delete(s);
          }
        })
        .catch((e: Error) => broke(`no logs from ${host}: ${e.message}`))
        .finally(() => {
          pending--;
          poke();
        });
    }
  };

  ask(tasksNow(), q.tail);
  // With follow: tasks that start from now on, and nodes that go down.
  const unsubscribe = q.follow
    ? view.subscribe([Keys.tasks, Keys.nodes], () => {
        if (signal.aborted) return;
        for (const [nodeId, tasks] of open) {
          if (tasks.size === 0) continue;
          const n = view.get<ClusterNode>(Keys.node(nodeId))?.value;
          if (n && n.status.state !== 'down') continue;
          merge.pump();
          for (const id of [...tasks]) {
            endTask(id);
            out({ kind: 'notice', time: nanoTime(new Date()), text: `${n?.hostname ?? nodeId.slice(0, 12)} is down: its logs end here`, task: id, node: n?.hostname ?? nodeId });
          }
        }
        // A new task's whole log: it began after the stream did.
        ask(tasksNow().filter((t) => !known.has(t.id)), -1);
        poke();
      })
    : () => undefined;
  const onAbort = () => {
    for (const s of streams) s.close();
    wake?.();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // Without follow: until every stream has ended and every line is out. With follow: until the client goes.
    while (!signal.aborted && (q.follow || pending > 0 || !merge.done)) {
      await new Promise<void>((r) => (wake = r));
      wake = null;
      if (!q.follow && pending === 0) {
        // Every stream has ended: whatever is left of a task no one will finish goes now.
        for (const id of known) merge.end(id);
        merge.pump();
        break;
      }
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
    for (const s of streams) s.close();
  }
}
