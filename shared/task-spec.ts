/**
 * Defaults of the service model (types.ts): what a field means when a stack file or an API client
 * says nothing, in one place, so the compose converter, the wire codec and tests agree.
 */
import type { ContainerSpec, Placement, Resources, TaskSpec } from './types';
import { defaultRuntimeSettings } from './types';

export const DEFAULT_STOP_GRACE_PERIOD_MS = 10_000;

/** The label Docker puts on every object of a stack; `stack ls/rm` find them by it. */
export const NAMESPACE_LABEL = 'com.docker.stack.namespace';

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
  return { container, hostNetwork: false, resources: defaultResources(), placement: defaultPlacement(), restartPolicy: null, logDriver: null };
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
  };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
