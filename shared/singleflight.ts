/**
 * One piece of work per key at a time, shared by every caller that asks for the
 * key while it runs. Each caller can give up through its own AbortSignal
 * without disturbing the others; the work itself is aborted only when the last
 * caller has gone, and a caller arriving after that starts fresh work.
 */
interface Job<T> {
  promise: Promise<T>;
  controller: AbortController;
  callers: number;
}

export class Singleflight<T> {
  private readonly jobs = new Map<string, Job<T>>();

  run(key: string, signal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let job = this.jobs.get(key);
    if (!job) {
      const controller = new AbortController();
      const created: Job<T> = { controller, callers: 0, promise: Promise.resolve().then(() => work(controller.signal)) };
      created.promise
        .finally(() => {
          if (this.jobs.get(key) === created) this.jobs.delete(key);
        })
        .catch(() => undefined); // every caller sees the rejection on its own promise
      this.jobs.set(key, created);
      job = created;
    }
    const shared = job;
    shared.callers++;
    return new Promise<T>((resolve, reject) => {
      let gone = false;
      const leave = (): void => {
        if (gone) return;
        gone = true;
        signal?.removeEventListener('abort', onAbort);
        shared.callers--;
      };
      const onAbort = (): void => {
        leave();
        if (shared.callers === 0) {
          if (this.jobs.get(key) === shared) this.jobs.delete(key);
          shared.controller.abort(signal?.reason);
        }
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (v) => {
          leave();
          resolve(v);
        },
        (e: unknown) => {
          leave();
          reject(e);
        },
      );
    });
  }

  /** Number of keys with work in flight (for tests and metrics). */
  get size(): number {
    return this.jobs.size;
  }

  /** Aborts all work, for shutdown. */
  abortAll(reason: unknown): void {
    for (const job of this.jobs.values()) job.controller.abort(reason);
    this.jobs.clear();
  }
}
