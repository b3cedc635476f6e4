/** A VolumeSys without root: mounts are remembered, an overlay is a copy of its lowerdirs, copies are cpSync. */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VolumeMountError } from '../../../../agent/volumes/errors';
import type { VolumeSys } from '../../../../agent/volumes/sys';

export class FakeVolumeSys implements VolumeSys {
  readonly mounted = new Set<string>();
  readonly calls: string[] = [];
  /** Filesystem types whose mount fails. */
  readonly failing = new Set<string>();
  /** Mount points that stay mounted whatever unmount does (a busy NFS). */
  readonly stuck = new Set<string>();

  async mount(type: string, device: string, dir: string, options: string): Promise<void> {
    this.calls.push(`mount -t ${type} -o ${options} ${device} ${dir}`);
    if (this.failing.has(type)) throw new VolumeMountError(`mount ${device} ${dir}: unknown filesystem type '${type}'`);
    if (type === 'overlay') {
      const lowers = /lowerdir=([^,]+)/.exec(options)?.[1]?.split(':') ?? [];
      for (const l of [...lowers].reverse()) cpSync(l, dir, { recursive: true, verbatimSymlinks: true });
    }
    this.mounted.add(resolve(dir));
  }

  async unmount(dir: string): Promise<void> {
    const d = resolve(dir);
    if (!this.mounted.has(d) || this.stuck.has(d)) return;
    this.calls.push(`umount ${d}`);
    this.mounted.delete(d);
    // What was "in" the mounted filesystem goes with it.
    for (const e of readdirSync(d)) rmSync(join(d, e), { recursive: true, force: true });
  }

  isMounted(dir: string): boolean {
    return this.mounted.has(resolve(dir));
  }

  async copyTree(from: string, to: string): Promise<void> {
    this.calls.push(`cp -a ${from}/. ${to}/`);
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}
