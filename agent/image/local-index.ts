/**
 * What this agent has pulled: `<root>/images.json`, ref → resolved image. It is
 * the manifest cache that lets a container restart while the registry is away:
 * the digest, the layer chain ids and the runtime config are all a prepare needs.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../shared/atomic-write';
import type { ImageConfig } from './types';

export interface LocalImage {
  /** Normalised ref as asked for (`busybox:latest`, `app@sha256:…`). */
  ref: string;
  /** Digest of the platform manifest the layers came from. */
  digest: string;
  /** Layer chain ids, bottom layer first. */
  chainIds: string[];
  config: ImageConfig;
  /** Bytes downloaded for config and layers. */
  size: number;
  created: string | null;
  pulledAt: string;
  /** Last prepared for a container (absent in records written before it: pulledAt); GC removes the least recent first. */
  usedAt?: string;
}

interface IndexFile {
  version: 1;
  images: Record<string, LocalImage>;
}

export class LocalIndex {
  private loaded: Promise<IndexFile> | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  async get(ref: string): Promise<LocalImage | null> {
    return (await this.load()).images[ref] ?? null;
  }

  /** Any image pulled as this manifest digest (digests name content, whatever ref brought it). */
  async byDigest(digest: string): Promise<LocalImage | null> {
    return Object.values((await this.load()).images).find((i) => i.digest === digest) ?? null;
  }

  async all(): Promise<LocalImage[]> {
    return Object.values((await this.load()).images).sort((a, b) => a.ref.localeCompare(b.ref));
  }

  put(image: LocalImage): Promise<void> {
    return this.change((images) => {
      images[image.ref] = image;
    });
  }

  /** Forgets these refs (their layers are the cache's to remove). */
  remove(refs: string[]): Promise<void> {
    return this.change((images) => {
      for (const r of refs) delete images[r];
    });
  }

  /** Marks an image as just used. */
  touch(ref: string, at: string): Promise<void> {
    return this.change((images) => {
      const i = images[ref];
      if (i) i.usedAt = at;
    });
  }

  /** One change at a time, each written whole before the next is made. */
  private change(f: (images: Record<string, LocalImage>) => void): Promise<void> {
    const run = this.tail.then(async () => {
      const file = await this.load();
      f(file.images);
      await writeFileAtomic(this.file, JSON.stringify(file, null, 2) + '\n');
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private load(): Promise<IndexFile> {
    this.loaded ??= readFile(this.file, 'utf8').then(
      (text) => {
        // Only a cache of what the registry says: an unreadable one is started afresh, not fatal.
        try {
          const v = JSON.parse(text) as Partial<IndexFile>;
          if (v.version === 1 && typeof v.images === 'object' && v.images !== null) return { version: 1 as const, images: v.images };
        } catch {
          // fall through
        }
        return { version: 1 as const, images: {} };
      },
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return { version: 1 as const, images: {} };
        throw e;
      },
    );
    return this.loaded;
  }
}
