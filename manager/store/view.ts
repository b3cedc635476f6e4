/**
 * A watch-fed copy of some prefixes of the store: each is listed once, then
 * kept current by a watch from the listed revision on (etcd3 resumes a watch
 * from its last revision after a lost connection), and listed again only when
 * etcd compacted past what the watch had seen. Reads never go to etcd, so a
 * reader that runs on every change costs no round trips; what it reads may
 * lag etcd by a watch event, so writes built on it stay guarded by the mod
 * revisions it holds.
 */
import type { IKeyValue } from 'etcd3/lib/rpc';
import type { Watcher } from 'etcd3';
import type { Logger } from '../../shared/log';
import { decode, type Store, type Versioned } from './store';

type Listener = { prefixes: readonly string[]; onChange: (key: string) => void };

export class StoreView {
  private readonly entries = new Map<string, Map<string, Versioned<unknown>>>();
  private readonly watchers = new Map<string, Watcher>();
  private readonly listeners = new Set<Listener>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    readonly prefixes: readonly string[],
    private readonly log: Logger,
  ) {}

  /**
   * Calls onChange after each change under these prefixes is applied (the key put or deleted; for
   * a prefix listed again, the prefix), so what it reads then includes the change. Returns the
   * function that stops it.
   */
  subscribe(prefixes: readonly string[], onChange: (key: string) => void): () => void {
    const missing = prefixes.filter((p) => !this.prefixes.includes(p));
    if (missing.length) throw new Error(`this view does not follow ${missing.join(', ')}`);
    const l = { prefixes, onChange };
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  private changed(prefix: string, key: string): void {
    for (const l of [...this.listeners]) if (l.prefixes.includes(prefix)) l.onChange(key);
  }

  /** Lists every prefix and watches it; resolves once all are held (again after a failure: the rest). */
  async start(): Promise<void> {
    await Promise.all(this.prefixes.filter((p) => !this.watchers.has(p)).map((p) => this.follow(p)));
  }

  /** The values under a prefix given to the constructor, as last seen. */
  list<T>(prefix: string): Versioned<T>[] {
    return [...(this.held(prefix).values() as Iterable<Versioned<T>>)];
  }

  /** One key under a watched prefix, as last seen, or null. */
  get<T>(key: string): Versioned<T> | null {
    const prefix = this.prefixes.find((p) => key.startsWith(p));
    if (prefix === undefined) throw new Error(`${key} is not under a prefix this view follows`);
    return (this.held(prefix).get(key) as Versioned<T> | undefined) ?? null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
    const ws = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(ws.map((w) => w.cancel().catch(() => undefined)));
  }

  private held(prefix: string): Map<string, Versioned<unknown>> {
    const m = this.entries.get(prefix);
    if (!m) throw new Error(`view of ${prefix} is not started`);
    return m;
  }

  private async follow(prefix: string): Promise<void> {
    const res = await this.store.client.getAll().prefix(prefix).exec();
    const map = new Map<string, Versioned<unknown>>();
    for (const kv of res.kvs) this.put(map, kv);
    const watcher = await this.store.client.watch().prefix(prefix).startRevision(String(BigInt(res.header.revision) + 1n)).create();
    if (this.stopped) {
      await watcher.cancel().catch(() => undefined);
      return;
    }
    this.entries.set(prefix, map);
    this.watchers.set(prefix, watcher);
    watcher.on('put', (kv: IKeyValue) => {
      this.put(map, kv);
      this.changed(prefix, kv.key.toString());
    });
    watcher.on('delete', (kv: IKeyValue) => {
      map.delete(kv.key.toString());
      this.changed(prefix, kv.key.toString());
    });
    // etcd cancels a watch whose revision it compacted away: list again from now.
    watcher.on('error', (e: Error) => void this.relist(prefix, watcher, e));
    this.changed(prefix, prefix);
  }

  private async relist(prefix: string, old: Watcher, why: Error): Promise<void> {
    if (this.stopped || this.watchers.get(prefix) !== old) return;
    this.watchers.delete(prefix);
    await old.cancel().catch(() => undefined);
    this.log.warn(`watch of ${prefix} lost (${why.message}); listing it again`);
    for (let i = 0; !this.stopped; i++) {
      try {
        await this.follow(prefix);
        return;
      } catch (e) {
        if (i === 0 || i % 20 === 0) this.log.warn(`listing ${prefix} again: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** i)));
      }
    }
  }

  private put(map: Map<string, Versioned<unknown>>, kv: IKeyValue): void {
    const key = kv.key.toString();
    try {
      map.set(key, decode(kv));
    } catch (e) {
      // Not JSON: not ours to read (the store's list would refuse it too).
      map.delete(key);
      this.log.warn(`${key}: ${(e as Error).message}`);
    }
  }
}
