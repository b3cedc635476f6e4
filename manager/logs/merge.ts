/**
 * The merge of many tasks' logs into one stream in time order (`service logs`). Each task's lines
 * come in order, from whichever node runs it, in batches at their own pace; a line is let out only
 * when no task still reading its backlog could have an earlier one: every such task has a line
 * queued (the earliest of all heads goes), or has caught up (with follow: what it writes from now
 * on comes as it is written, so it goes out as it comes) or ended. The pieces of a line longer
 * than the shim's 16 KiB (partial) are joined back into one.
 */

export interface MergedLine {
  task: string;
  time: string;
  stream: 'stdout' | 'stderr';
  text: Buffer;
}

interface Source {
  queue: MergedLine[];
  head: number;
  /** Pieces of a line still to be completed, per stream. */
  pieces: Partial<Record<'stdout' | 'stderr', { time: string; parts: Buffer[] }>>;
  caughtUp: boolean;
  ended: boolean;
}

export class LogMerge {
  private readonly sources = new Map<string, Source>();

  constructor(private readonly emit: (l: MergedLine) => void) {}

  /** A task whose lines are to come (until added, it holds nothing back). */
  add(task: string): void {
    if (!this.sources.has(task)) this.sources.set(task, { queue: [], head: 0, pieces: {}, caughtUp: false, ended: false });
  }

  has(task: string): boolean {
    return this.sources.has(task);
  }

  line(task: string, time: string, stream: 'stdout' | 'stderr', text: Buffer, partial: boolean): void {
    const s = this.sources.get(task);
    if (s === undefined || s.ended) return;
    const p = s.pieces[stream];
    if (partial) {
      if (p) p.parts.push(text);
      else s.pieces[stream] = { time, parts: [text] };
      return;
    }
    if (p) {
      delete s.pieces[stream];
      s.queue.push({ task, time: p.time, stream, text: Buffer.concat([...p.parts, text]) });
    } else s.queue.push({ task, time, stream, text });
  }

  caughtUp(task: string): void {
    const s = this.sources.get(task);
    if (s) s.caughtUp = true;
  }

  /** Nothing more comes of this task; a line left in pieces goes as it is. */
  end(task: string): void {
    const s = this.sources.get(task);
    if (!s || s.ended) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = s.pieces[stream];
      if (p) s.queue.push({ task, time: p.time, stream, text: Buffer.concat(p.parts) });
    }
    s.pieces = {};
    s.ended = true;
  }

  /** Lets out every line that can go now. */
  pump(): void {
    for (;;) {
      let best: Source | null = null;
      for (const s of this.sources.values()) {
        if (s.head >= s.queue.length) {
          if (!s.caughtUp && !s.ended) return; // it may still have an earlier line
          continue;
        }
        if (best === null || s.queue[s.head]!.time < best.queue[best.head]!.time) best = s;
      }
      if (best === null) break;
      this.emit(best.queue[best.head]!);
      best.head++;
      if (best.head > 1024 && best.head * 2 > best.queue.length) {
        best.queue = best.queue.slice(best.head);
        best.head = 0;
      }
    }
    for (const [task, s] of this.sources) if (s.ended && s.head >= s.queue.length) this.sources.delete(task);
  }

  /** Every task ended and every line let out. */
  get done(): boolean {
    return this.sources.size === 0;
  }
}
