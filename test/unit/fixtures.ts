/**
 * Builders for the domain objects the pure manager/agent functions take. Every
 * builder fills each field with a plain default so a test states only what it
 * is about; ids are readable strings, not random ones.
 */
import type { TaskStateName } from '../../shared/task-state';
import type { ClusterNode, ContainerSpec, Placement, ResourceLimits, ResourceReservations, Service, ServiceSpec, Task, TaskSpec, TaskStatus, UpdateStatus } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import { defaultContainerSpec, defaultPlacement, defaultResources } from '../../shared/task-spec';

export const NOW = '2024-01-01T00:00:00.000Z';

/** A timestamp `n` seconds after NOW, for ordering tasks by creation time. */
export function at(n: number): string {
  return new Date(Date.parse(NOW) + n * 1000).toISOString();
}

export function containerSpec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return { ...defaultContainerSpec('busybox:latest'), ...over };
}

export function limits(over: Partial<ResourceLimits> = {}): ResourceLimits {
  return { memoryBytes: null, nanoCpus: null, pids: null, ...over };
}

export interface SpecOptions extends Partial<Omit<ServiceSpec, 'task'>> {
  container?: Partial<ContainerSpec>;
  limits?: Partial<ResourceLimits>;
  reservations?: Partial<ResourceReservations>;
  placement?: Partial<Placement>;
}

export function taskSpec(o: Pick<SpecOptions, 'container' | 'limits' | 'reservations' | 'placement'> = {}): TaskSpec {
  const r = defaultResources();
  return {
    container: containerSpec(o.container),
    hostNetwork: false,
    resources: { limits: limits(o.limits), reservations: { ...r.reservations, ...o.reservations } },
    placement: { ...defaultPlacement(), ...o.placement },
    restartPolicy: null,
    logDriver: null,
    forceUpdate: 0,
  };
}

export function serviceSpec(o: SpecOptions = {}): ServiceSpec {
  const { container, limits: lim, reservations, placement, ...rest } = o;
  return {
    name: 'web',
    stack: null,
    mode: 'replicated',
    replicas: 1,
    labels: {},
    networks: [],
    endpoint: { mode: 'vip', ports: [] },
    update: null,
    rollback: null,
    ...rest,
    task: taskSpec({ container, limits: lim, reservations, placement }),
  };
}

export interface ServiceOptions extends SpecOptions {
  id?: string;
  specVersion?: number;
  updateStatus?: UpdateStatus | null;
  previousSpec?: ServiceSpec | null;
}

/** The digest fixtures give spec version `n` of a service: tasks of another version are out of date. */
export const digestOf = (n: number) => `sha256:v${n}`;

export function service(o: ServiceOptions = {}): Service {
  const { id, specVersion, updateStatus, previousSpec, ...spec } = o;
  return {
    v: SCHEMA_VERSION,
    id: id ?? 'svc-web',
    spec: serviceSpec(spec),
    specVersion: specVersion ?? 1,
    specDigest: digestOf(specVersion ?? 1),
    previousSpec: previousSpec ?? null,
    updateStatus: updateStatus ?? null,
    vips: [],
    paused: false,
    createdAt: NOW,
    updatedAt: NOW,
  };
}

export interface TaskOptions {
  id?: string;
  slot?: number | null;
  nodeId?: string | null;
  desiredState?: Task['desiredState'];
  state?: TaskStateName;
  specVersion?: number;
  createdAt?: string;
  status?: Partial<TaskStatus>;
  limits?: Partial<ResourceLimits>;
  restarts?: string[];
}

/** A task of `svc`; by default slot 1, on no node, desired running, observed running. */
export function task(svc: Service, o: TaskOptions = {}): Task {
  return {
    v: SCHEMA_VERSION,
    id: o.id ?? `task-${svc.id}-${String(o.slot ?? o.nodeId ?? 'x')}`,
    serviceId: svc.id,
    serviceName: svc.spec.name,
    slot: o.slot === undefined ? 1 : o.slot,
    nodeId: o.nodeId === undefined ? null : o.nodeId,
    desiredState: o.desiredState ?? 'running',
    specVersion: o.specVersion ?? svc.specVersion,
    specDigest: o.specVersion === undefined ? svc.specDigest : digestOf(o.specVersion),
    restarts: o.restarts ?? [],
    spec: { ...svc.spec.task, resources: { ...svc.spec.task.resources, limits: limits({ ...svc.spec.task.resources.limits, ...o.limits }) } },
    networks: [],
    paused: false,
    status: {
      state: o.state ?? 'running',
      message: '',
      err: null,
      timestamp: NOW,
      pid: null,
      exitCode: null,
      paused: false,
      ...o.status,
    },
    createdAt: o.createdAt ?? NOW,
  };
}

export interface NodeOptions {
  state?: ClusterNode['status']['state'];
  availability?: ClusterNode['availability'];
  memoryBytes?: number;
  nanoCpus?: number;
  role?: ClusterNode['role'];
}

/** A ready, active worker with 4 CPUs and 8 GiB. */
export function node(id: string, o: NodeOptions = {}): ClusterNode {
  return {
    v: SCHEMA_VERSION,
    id,
    hostname: `host-${id}`,
    addr: '10.0.0.1:4243',
    role: o.role ?? 'worker',
    availability: o.availability ?? 'active',
    status: { state: o.state ?? 'ready', message: '', timestamp: NOW },
    resources: { nanoCpus: o.nanoCpus ?? 4e9, memoryBytes: o.memoryBytes ?? 8 * 1024 ** 3 },
    labels: {},
    createdAt: NOW,
  };
}

/** Ids of a list of tasks, sorted, for order-insensitive comparisons. */
export function ids(tasks: { id: string }[]): string[] {
  return tasks.map((t) => t.id).sort();
}
