/**
 * Every manager serves the cluster's images to the agents connected to it,
 * so an image imported through one manager is copied to the others: the
 * import is recorded in etcd (ref → digest, and the registry it came from),
 * and each manager pulls what it lacks from that registry, or from any other
 * live manager's. A manager that joins later, or was down, catches up at start,
 * removals too: the records it last saw are kept beside its store
 * (`seen-records.json`), so a ref whose record went while it was down is removed.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-write';
import type { ImagePruneRecord, ImageRecord } from '../../shared/types';
import { randomUUID } from 'node:crypto';
import { pruneStore } from './prune';
import type { Fetch } from '../../shared/pki/https';
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { Store } from '../store/store';
import { liveManagers } from '../election/presence';
import type { ImageStore } from './store';
import { canonicalImageRef } from '../../shared/image-ref';
import type { Platform } from '../../shared/oci';
import { RegistryClient } from '../../shared/registry/client';
import { pullImage } from './pull';

export class ImageReplicator {
  private stopWatch: (() => Promise<void>) | null = null;
  /** ref → the pull in progress, so a deploy and the watch do not fetch twice. */
  private readonly pulls = new Map<string, Promise<boolean>>();
  /** The records seen at the last sync: a ref whose record went away was removed (`image rm`) through another manager. */
  private known: Map<string, string> | null = null;
  /** The id of the last `image prune` request this manager did or saw. */
  private pruneSeen: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly images: ImageStore,
    /** This manager's registry (https://IP:PORT), named in the records of images imported here. */
    private readonly registry: string,
    private readonly log: Logger,
    /** Fetches from other managers' registries, presenting this manager's certificate. */
    private readonly fetch: Fetch,
    /** The platforms to copy from an index: the cluster's nodes'. */
    private readonly platforms: () => Platform[],
  ) {}

  async start(): Promise<void> {
    // The prune already asked for is not done again by a manager that starts.
    this.pruneSeen = (await this.store.get<ImagePruneRecord>(Keys.imagePrune).catch(() => null))?.value.id ?? null;
    this.stopWatch = await this.store.watch(
      [Keys.images, Keys.imagePrune],
      (key) => void (key === Keys.imagePrune ? this.pruneIfAsked() : this.syncAll()),
      (e) => this.log.warn(`image watch: ${e.message}`),
    );
    void this.syncAll();
  }

  async stop(): Promise<void> {
    if (this.stopWatch) await this.stopWatch();
  }

  /** Records an image imported into (or pulled by) this manager's store, for the others to copy. */
  async announce(ref: string, digest: string, pulled = false): Promise<void> {
    const rec: ImageRecord = { ref, digest, registry: this.registry, importedAt: new Date().toISOString(), ...(pulled ? { pulled } : {}) };
    await this.store.commit([{ put: Keys.image(ref), value: rec, guard: null }]);
  }

  /** `image prune` for every manager: each prunes its own store when it sees the request (pruneIfAsked). */
  async requestPrune(all: boolean): Promise<void> {
    const rec: ImagePruneRecord = { v: 1, id: randomUUID(), all, requestedAt: new Date().toISOString() };
    this.pruneSeen = rec.id;
    await this.store.commit([{ put: Keys.imagePrune, value: rec, guard: null }]);
  }

  private async pruneIfAsked(): Promise<void> {
    try {
      const rec = await this.store.get<ImagePruneRecord>(Keys.imagePrune);
      if (!rec || rec.value.id === this.pruneSeen) return;
      this.pruneSeen = rec.value.id;
      const removed = await pruneStore(this.store, this.images, rec.value.all);
      if (removed.length > 0) this.log.info(`pruned ${removed.length} image(s) as asked through another manager: ${removed.join(', ')}`);
    } catch (e) {
      this.log.warn(`image prune: ${(e as Error).message}`);
    }
  }

  /** Forgets an image for every manager (`image rm`): each removes its copy when it sees the record go. */
  async forget(refs: string[]): Promise<void> {
    await this.store.commit(refs.map((ref) => ({ del: Keys.image(ref), guard: null })));
  }

  /** True when this manager has `ref` (as recorded) or could copy it now. */
  async ensure(ref: string): Promise<boolean> {
    const rec = await this.store.get<ImageRecord>(Keys.image(ref));
    if (!rec) return false;
    return this.pull(rec.value);
  }

  private async syncAll(): Promise<void> {
    try {
      const recs = await this.store.list<ImageRecord>(Keys.images);
      const now = new Map(recs.map((r) => [r.value.ref, r.value.digest]));
      this.known ??= await this.readSeen();
      for (const [ref, digest] of this.known) {
        // Removed through another manager; a ref that was re-tagged here since is not this one's to remove.
        if (now.has(ref) || (await this.images.resolve(ref))?.digest !== digest) continue;
        await this.images.remove(ref).catch((e: Error) => this.log.warn(`removing image ${ref}: ${e.message}`));
        this.log.info(`removed image ${ref}, as another manager did`);
      }
      if (!sameEntries(this.known, now)) await this.writeSeen(now);
      this.known = now;
      for (const r of recs) await this.pull(r.value);
    } catch (e) {
      this.log.warn(`image sync: ${(e as Error).message}`);
    }
  }

  private get seenPath(): string {
    return join(this.images.dir, 'seen-records.json');
  }

  /** Kept for the next start; a failure to keep it costs only that start's catching up on removals. */
  private async writeSeen(seen: Map<string, string>): Promise<void> {
    try {
      // The store makes its directory when first used; a manager that has no image yet has none.
      await mkdir(this.images.dir, { recursive: true });
      await writeFileAtomic(this.seenPath, JSON.stringify(Object.fromEntries(seen)) + '\n');
    } catch (e) {
      this.log.warn(`keeping the image records seen: ${(e as Error).message}`);
    }
  }

  /** What the last sync of an earlier run saw; nothing (no removals to catch up) when there was none. */
  private async readSeen(): Promise<Map<string, string>> {
    try {
      const v: unknown = JSON.parse(await readFile(this.seenPath, 'utf8'));
      if (typeof v === 'object' && v !== null) return new Map(Object.entries(v as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch {
      // absent or unreadable: start from what etcd says now
    }
    return new Map();
  }

  private pull(rec: ImageRecord): Promise<boolean> {
    const running = this.pulls.get(rec.ref);
    if (running) return running;
    const p = this.pullNow(rec).finally(() => this.pulls.delete(rec.ref));
    this.pulls.set(rec.ref, p);
    return p;
  }

  private async pullNow(rec: ImageRecord): Promise<boolean> {
    if ((await this.images.resolve(rec.ref))?.digest === rec.digest) return true;
    const others = (await liveManagers(this.store).catch(() => [])).map((m) => m.registry).filter((r) => r && r !== rec.registry && r !== this.registry);
    for (const source of [rec.registry, ...others]) {
      if (source === this.registry) continue;
      try {
        // The peer's registry names images as this cluster does: the ref as it is, at the recorded digest.
        const target = canonicalImageRef(rec.ref);
        const s = await pullImage(this.images, [new RegistryClient(source, this.fetch)], target.name, rec.digest, target, { platforms: this.platforms(), source: rec.pulled ? 'pull' : 'import' });
        if (s.digest === rec.digest) {
          this.log.info(`copied image ${rec.ref} (${rec.digest.slice(7, 19)}) from ${source}`);
          return true;
        }
        this.log.warn(`image ${rec.ref} at ${source} is ${s.digest}, not ${rec.digest}`);
      } catch (e) {
        this.log.warn(`copying image ${rec.ref} from ${source}: ${(e as Error).message}`);
      }
    }
    return false;
  }
}

function sameEntries(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
