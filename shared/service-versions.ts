/**
 * Which tasks of a service are out of date. A service's spec digest covers what a container is made
 * from: the task template, the networks and the endpoint (Swarm's IsTaskDirty looks at the same
 * three). A task records the digest it was made with; the updater replaces a task whose digest is
 * not the service's, so changing the replica count, the labels or update_config restarts nothing,
 * and a rollback to the previous spec leaves the tasks that still run it alone.
 */
import { createHash } from 'node:crypto';
import type { Service, ServiceSpec, Task, UpdateStatus } from './types';

/** JSON with object keys sorted, so the order in which a client wrote keys never counts as a change. */
export function canonicalJson(x: unknown): string {
  return JSON.stringify(sortKeys(x));
}

function sortKeys(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sortKeys);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys((x as Record<string, unknown>)[k])]));
  }
  return x;
}

export function specDigest(spec: ServiceSpec): string {
  const made = { task: spec.task, networks: spec.networks, endpoint: spec.endpoint };
  return `sha256:${createHash('sha256').update(canonicalJson(made)).digest('hex')}`;
}

/**
 * The task was made from the service's current spec, and no rebalance chose it to move (it is then
 * replaced as an out-of-date one is). Records from before digests compare versions.
 */
export function isCurrent(t: Task, s: Service): boolean {
  if (t.move === true) return false;
  return t.specDigest !== '' ? t.specDigest === s.specDigest : t.specVersion === s.specVersion;
}

/** An update or a rollback is under way (the updater moves it on; a deploy waits for it). */
export function updateActive(u: UpdateStatus | null): boolean {
  return u !== null && (u.state === 'updating' || u.state === 'rollback_started');
}
