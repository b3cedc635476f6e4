/**
 * `image prune` on the cluster registry (every manager's store): Docker's rules, with the
 * cluster's services as the containers that use images. Without `all`, only dangling images go:
 * refs without a tag (`name@sha256:…`, what a tag that moved or a pull by digest leaves); with
 * it, every image no service (its spec, the spec it would roll back to) and no task runs.
 */
import { parseImageRef } from '../../shared/image-ref';
import { Keys } from '../../shared/keys';
import type { Service, Task } from '../../shared/types';
import type { Store } from '../store/store';
import type { ImageStore } from './store';

/** The digests the cluster's services and tasks are pinned to (`name:tag@sha256:…`). */
export function digestsInUse(services: readonly Service[], tasks: readonly Task[]): Set<string> {
  const images: string[] = [];
  for (const s of services) {
    images.push(s.spec.task.container.image);
    if (s.previousSpec) images.push(s.previousSpec.task.container.image);
  }
  for (const t of tasks) images.push(t.spec.container.image);
  const out = new Set<string>();
  for (const i of images) {
    const at = i.lastIndexOf('@');
    if (at >= 0) out.add(i.slice(at + 1));
  }
  return out;
}

/**
 * One manager's part of a prune, on its own store: the refs it removed. Every manager does it (a
 * dangling ref has no record for the others to see go: each has its own, left by a tag that moved).
 */
export async function pruneStore(store: Store, images: ImageStore, all: boolean): Promise<string[]> {
  const [services, tasks] = await Promise.all([store.list<Service>(Keys.services), store.list<Task>(Keys.tasks)]);
  return images.removeRefs(await refsToPrune(images, digestsInUse(services.map((s) => s.value), tasks.map((t) => t.value)), all));
}

/** The refs to remove: candidates (dangling ones, or all with `all`) whose image nothing uses. */
export async function refsToPrune(images: ImageStore, used: Set<string>, all: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const i of await images.list()) {
    if (!all && parseImageRef(i.ref).tag !== null) continue;
    if (used.has(i.digest)) continue;
    // A service pinned to one platform's manifest of an index uses the index.
    const found = await images.resolve(i.ref);
    if (found?.index?.manifests.some((m) => used.has(m.digest))) continue;
    out.push(i.ref);
  }
  return out;
}
