/**
 * How a service record changes with its spec: the one place that decides whether a change starts
 * a rolling update. A change of the spec digest (shared/service-versions.ts) bumps the version,
 * keeps the spec it replaces as the previous one and starts an update; any other change (replicas,
 * labels, update_config) is written as it is and restarts nothing. The API (deploy, service create,
 * update, rollback) and the updater's automatic rollback all go through here.
 */
import type { Service, ServiceSpec, UpdateStatus } from '../../../shared/types';
import { SCHEMA_VERSION } from '../../../shared/types';
import { newId } from '../../../shared/ids';
import { specDigest } from '../../../shared/service-versions';

export function newService(spec: ServiceSpec, now: string): Service {
  return { v: SCHEMA_VERSION, id: newId(), spec, specVersion: 1, specDigest: specDigest(spec), previousSpec: null, updateStatus: null, vips: [], paused: false, createdAt: now, updatedAt: now };
}

function started(state: 'updating' | 'rollback_started', now: string, message: string): UpdateStatus {
  return { state, startedAt: now, completedAt: null, message };
}

/**
 * The service with `spec`. A paused update is resumed by any update of the service (as `docker
 * service update` does), even one that changes nothing.
 */
export function withSpec(cur: Service, spec: ServiceSpec, now: string): Service {
  const digest = specDigest(spec);
  if (digest === cur.specDigest) {
    const s = cur.updateStatus;
    // A paused rebalance goes on as a rebalance (start-first, nothing to roll back to).
    const what = s?.rebalance === true ? 'rebalance' : s?.state === 'rollback_paused' ? 'rollback' : 'update';
    const resumed = s !== null && (s.state === 'paused' || s.state === 'rollback_paused')
      ? { ...started(s.state === 'paused' ? 'updating' : 'rollback_started', now, `${what} resumed`), ...(s.rebalance === true ? { rebalance: true } : {}) }
      : s;
    return { ...cur, spec, updateStatus: resumed, updatedAt: now };
  }
  return {
    ...cur,
    spec,
    specVersion: cur.specVersion + 1,
    specDigest: digest,
    previousSpec: cur.spec,
    updateStatus: started('updating', now, 'update in progress'),
    updatedAt: now,
  };
}

/**
 * Back to the previous spec (Swarm's rollback: the current one becomes the previous, so a second
 * rollback goes forward again). Null when the service has no previous spec. The replica count is
 * the current one: a rollback undoes a change of what runs, not a scale.
 */
export function rolledBack(cur: Service, now: string, message: string): Service | null {
  const prev = cur.previousSpec;
  if (prev === null) return null;
  const spec: ServiceSpec = { ...prev, replicas: cur.spec.replicas };
  return {
    ...cur,
    spec,
    specVersion: cur.specVersion + 1,
    specDigest: specDigest(spec),
    previousSpec: cur.spec,
    updateStatus: started('rollback_started', now, message),
    updatedAt: now,
  };
}
