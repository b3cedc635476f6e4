/**
 * Defaults of the service model (types.ts): what a field means when a stack file or an API client
 * says nothing, in one place, so the compose converter, the wire codec and tests agree.
 */
import type { ContainerSpec, Placement, Resources, RestartPolicy, TaskSpec, UpdateConfig } from './types';
import { defaultRuntimeSettings } from './types';

export const DEFAULT_STOP_GRACE_PERIOD_MS = 10_000;

/** The label Docker puts on every object of a stack; `stack ls/rm` find them by it. */
export const NAMESPACE_LABEL = 'com.docker.stack.namespace';

/**
 * A task that ended on its own is replaced after this long unless its restart policy says otherwise.
 * Swarm waits 5 s; tsswarm keeps 1 s: a crashing container still restarts at a bounded rate (about
 * once a second, not in a hot loop), and a service whose task died is back four seconds sooner.
 */
export const DEFAULT_RESTART_DELAY_MS = 1000;

/** Restart condition `any`, no limit on attempts: what a service without `restart_policy` gets. */
export function defaultRestartPolicy(): RestartPolicy {
  return { condition: 'any', delayMs: null, maxAttempts: null, windowMs: null };
}

/** Swarm's defaults for `update_config` and `rollback_config`: one task at a time, stop first, pause on the first failure, 5 s of monitoring. */
export const DEFAULT_UPDATE_MONITOR_MS = 5000;
export function defaultUpdateConfig(): UpdateConfig {
  return { parallelism: 1, delayMs: 0, failureAction: 'pause', monitorMs: null, maxFailureRatio: 0, order: 'stop-first' };
}

/** Docker's health check defaults (HealthConfig), where a service gives none. */
export const HEALTH_INTERVAL_MS = 30_000;
export const HEALTH_TIMEOUT_MS = 30_000;
export const HEALTH_START_INTERVAL_MS = 5_000;
export const HEALTH_RETRIES = 3;

export function defaultResources(): Resources {
  return {
    limits: { memoryBytes: null, nanoCpus: null, pids: null },
    reservations: { memoryBytes: null, nanoCpus: null, generic: {} },
  };
}

export function defaultPlacement(): Placement {
  return { constraints: [], preferences: [], maxReplicas: 0 };
}

/** A container of `image` with every other field at Docker's default. */
export function defaultContainerSpec(image: string): ContainerSpec {
  return {
    image,
    command: null,
    entrypoint: null,
    env: [],
    workingDir: null,
    user: null,
    hostname: null,
    stopGracePeriodMs: DEFAULT_STOP_GRACE_PERIOD_MS,
    dns: [],
    dnsSearch: [],
    extraHosts: [],
    runtime: defaultRuntimeSettings(),
    labels: {},
    mounts: [],
    secrets: [],
    configs: [],
    healthcheck: null,
  };
}

export function taskSpecOf(container: ContainerSpec): TaskSpec {
  return { container, hostNetwork: false, resources: defaultResources(), placement: defaultPlacement(), restartPolicy: null, logDriver: null, forceUpdate: 0 };
}

/**
 * A task spec as some other version wrote it (a manager older or newer than this agent, JSON from
 * the wire): every field then set, an unknown one taking its default.
 */
export function completeTaskSpec(v: unknown): TaskSpec {
  const t = (isObject(v) ? v : {}) as Partial<TaskSpec>;
  const c = (isObject(t.container) ? t.container : {}) as Partial<ContainerSpec>;
  const base = defaultContainerSpec(typeof c.image === 'string' ? c.image : '');
  const r = defaultResources();
  const res = (isObject(t.resources) ? t.resources : {}) as Partial<Resources>;
  return {
    container: { ...base, ...c, runtime: { ...base.runtime, ...(c.runtime ?? {}) } },
    hostNetwork: t.hostNetwork === true,
    resources: { limits: { ...r.limits, ...(res.limits ?? {}) }, reservations: { ...r.reservations, ...(res.reservations ?? {}) } },
    placement: { ...defaultPlacement(), ...(isObject(t.placement) ? t.placement : {}) },
    restartPolicy: t.restartPolicy ?? null,
    logDriver: t.logDriver ?? null,
    forceUpdate: typeof t.forceUpdate === 'number' ? t.forceUpdate : 0,
  };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
