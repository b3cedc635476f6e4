/** Builds the API's views from stored objects. Pure. */
import type { ClusterNode, Network, Service, Task } from '../../shared/types';
import type { NetworkView, NodeView, ServiceView, TaskView } from '../../shared/api-types';
import { nodeIsEligible } from '../orchestrator/global';
import { nodeMeetsConstraints } from '../../shared/constraints';
import { isCurrent } from '../../shared/service-versions';
import { starting, waitingFor } from '../orchestrator/depends-on';
import { refill } from '../orchestrator/restart';
import { isTerminal } from '../../shared/task-state';

/** `services`: every service, to say what a service's start waits for (depends_on). */
export function serviceView(s: Service, tasks: Task[], nodes: ClusterNode[], services: Service[] = []): ServiceView {
  const live = tasks.filter((t) => t.serviceId === s.id && t.desiredState === 'running' && t.status.state === 'running');
  const desired = s.spec.mode === 'global' ? nodes.filter((n) => nodeIsEligible(n) && nodeMeetsConstraints(s.spec.task.placement.constraints, n)).length : s.spec.replicas;
  return {
    id: s.id,
    name: s.spec.name,
    stack: s.spec.stack,
    mode: s.spec.mode,
    desired,
    running: live.length,
    upToDate: live.filter((t) => isCurrent(t, s)).length,
    image: s.spec.task.container.image,
    specVersion: s.specVersion,
    update: s.updateStatus,
    waitingFor: starting(s, tasks) ? waitingFor(s, services, tasks) : null,
    ended: endedSlots(s, tasks),
  };
}

/**
 * Slots (or nodes) whose task ended and that the restart policy leaves ended (`on-failure` after
 * exit 0, `none`, max_attempts spent): settled, though nothing runs there.
 */
function endedSlots(s: Service, tasks: Task[]): number {
  const bySlot = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.serviceId !== s.id) continue;
    const key = String(t.slot ?? t.nodeId ?? t.id);
    bySlot.set(key, [...(bySlot.get(key) ?? []), t]);
  }
  const now = new Date().toISOString();
  let n = 0;
  for (const history of bySlot.values()) {
    if (history.some((t) => t.desiredState === 'running' && !isTerminal(t.status.state))) continue;
    if (refill(history, s, now).kind === 'never') n++;
  }
  return n;
}

/** `service`: the task's service, to say whether the task is of its current spec (absent: assumed so). */
export function taskView(t: Task, nodes: Map<string, ClusterNode>, service?: Service): TaskView {
  const node = t.nodeId ? nodes.get(t.nodeId) : undefined;
  return {
    id: t.id,
    name: `${t.serviceName}.${t.slot ?? t.nodeId ?? '?'}`,
    service: t.serviceName,
    slot: t.slot,
    node: node ? node.hostname : null,
    nodeId: t.nodeId,
    desiredState: t.desiredState,
    // A frozen running task is shown as `paused` (the state machine itself stays at running).
    state: t.status.state === 'running' && t.status.paused ? 'paused' : t.status.state,
    message: t.status.message,
    error: t.status.err,
    pid: t.status.state === 'running' ? t.status.pid : null,
    exitCode: t.status.exitCode,
    health: t.status.state === 'running' ? t.status.health ?? null : null,
    current: service === undefined || isCurrent(t, service),
    specVersion: t.specVersion,
    image: t.spec.container.image,
    createdAt: t.createdAt,
    updatedAt: t.status.timestamp,
  };
}

/** Newest first within a slot, slots in order: the order `service ps` shows. */
export function sortTasks(views: TaskView[]): TaskView[] {
  return [...views].sort(
    (a, b) => a.service.localeCompare(b.service) || String(a.slot ?? a.nodeId).localeCompare(String(b.slot ?? b.nodeId), undefined, { numeric: true }) || b.createdAt.localeCompare(a.createdAt),
  );
}

/** leaderNodeId: the node the leader runs beside; liveManagerNodes: nodes whose manager is alive. */
export function nodeView(n: ClusterNode, leaderNodeId: string | null, liveManagerNodes: Set<string>): NodeView {
  return {
    id: n.id,
    hostname: n.hostname,
    addr: n.addr,
    status: n.status.state,
    availability: n.availability,
    manager: n.role !== 'manager' ? null : n.id === leaderNodeId ? 'leader' : liveManagerNodes.has(n.id) ? 'reachable' : 'unreachable',
    role: n.role,
    cpus: n.resources.nanoCpus / 1e9,
    memoryBytes: n.resources.memoryBytes,
    labels: n.labels,
    engineLabels: n.engineLabels ?? {},
    platform: n.platform ?? { os: 'linux', architecture: '' },
    genericResources: n.resources.generic ?? {},
  };
}

export function networkView(n: Network): NetworkView {
  return {
    id: n.id,
    name: n.spec.name,
    driver: n.spec.driver,
    scope: 'swarm',
    subnet: n.subnet,
    gateway: n.gateway,
    vni: n.vni,
    attachable: n.spec.attachable,
    stack: n.spec.stack,
    encrypted: n.spec.encrypted === true,
  };
}
