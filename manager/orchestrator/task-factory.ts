import type { ClusterNode, Service, Task } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import { newId } from '../../shared/ids';

/**
 * A new task for a service slot (replicated) or a node (global), not yet scheduled. `restarts`: when
 * it replaces a task of the same spec that ended on its own, the restarts counted so far (restart.ts).
 */
export function newTask(service: Service, slot: number | null, node: ClusterNode | null, now: string, restarts: string[] = []): Task {
  return {
    v: SCHEMA_VERSION,
    id: newId(),
    serviceId: service.id,
    serviceName: service.spec.name,
    slot,
    nodeId: node ? node.id : null,
    desiredState: 'running',
    specVersion: service.specVersion,
    specDigest: service.specDigest,
    restarts,
    spec: service.spec.task,
    networks: [],
    paused: service.paused,
    // A task with networks waits (new) for the allocator to give it addresses.
    status: service.spec.networks.length
      ? { state: 'new', message: 'waiting for network addresses', err: null, timestamp: now, pid: null, exitCode: null, paused: false }
      : { state: 'pending', message: 'waiting for a node', err: null, timestamp: now, pid: null, exitCode: null, paused: false },
    createdAt: now,
  };
}

export function withDesired(t: Task, desiredState: Task['desiredState']): Task {
  return { ...t, desiredState };
}
