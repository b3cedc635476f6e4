/**
 * The node's image garbage collector (kubelet's policy, which Swarm nodes lack): when the file
 * system holding the image cache is fuller than the cluster's threshold (`tsswarm update
 * --image-gc-threshold`, default 85 %), images no task of the node uses are removed, least
 * recently used first, until it is 5 points below it. It looks once a minute and after each
 * change of the threshold; `image prune` (agent/session/volume-reports.ts) removes them all now.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from '../../shared/log';
import { DEFAULT_IMAGE_GC_PERCENT } from '../../shared/types';
import type { ImageCache } from './cache';

/** How far below the threshold a collection goes, so it does not run again at the next pull. */
const HYSTERESIS_PERCENT = 5;
const CHECK_MS = 60_000;

/** Percent of the file system's blocks in use (as `df` counts: blocks available to root aside). */
export async function diskUsedPercent(dir: string): Promise<number> {
  const s = await statfs(dir);
  const used = s.blocks - s.bfree;
  const total = used + s.bavail;
  return total === 0 ? 0 : (100 * used) / total;
}

export class ImageGc {
  private threshold = DEFAULT_IMAGE_GC_PERCENT;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly cache: ImageCache,
    /** The refs of every task this node has (running, starting or kept to restart). */
    private readonly inUse: () => string[],
    private readonly log: Logger,
    private readonly usedPercent: (dir: string) => Promise<number> = diskUsedPercent,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The cluster's threshold (100: never collect); a change is acted on at once. */
  setThreshold(percent: number): void {
    if (!Number.isFinite(percent) || percent <= 0 || percent === this.threshold) return;
    this.threshold = Math.min(100, percent);
    void this.check();
  }

  /** One look at the disk; a collection when it is over the threshold. Resolves when done. */
  check(): Promise<void> {
    this.running ??= this.collect().finally(() => (this.running = null));
    return this.running;
  }

  private async collect(): Promise<void> {
    if (this.threshold >= 100) return;
    try {
      const before = await this.usedPercent(this.cache.root);
      if (before <= this.threshold) return;
      const target = Math.max(0, this.threshold - HYSTERESIS_PERCENT);
      const removed = await this.cache.prune(this.inUse(), async () => (await this.usedPercent(this.cache.root)) > target);
      const after = await this.usedPercent(this.cache.root);
      if (removed.length > 0) this.log.info(`disk ${before.toFixed(0)}% full (threshold ${this.threshold}%): removed ${removed.length} unused image(s) (${removed.join(', ')}), now ${after.toFixed(0)}%`);
      else if (after > this.threshold) this.log.warn(`disk ${after.toFixed(0)}% full (threshold ${this.threshold}%) and no unused image is left to remove`);
    } catch (e) {
      this.log.warn(`image garbage collection: ${(e as Error).message}`);
    }
  }
}
