/**
 * Stored services and tasks as Docker's Engine API v1.41 shows them (`GET /services`, `/tasks`):
 * what `docker service ls|ps|inspect` read. Pure: the store's records and SpecRefs in, JSON out.
 */
import { stateValue } from '../../shared/task-state';
import type { Service, Task } from '../../shared/types';
import type { Versioned } from '../store/store';
import { dockerPort, type SpecRefs, toDockerServiceSpec, toDockerTaskSpec } from './service-spec';
import type { DockerEndpoint, DockerService, DockerTask, DockerTaskStatus } from './service-types';

/** `status`: the task counts of `?status=true` (`docker service ls`'s REPLICAS), null when not asked for. */
export function dockerService(s: Versioned<Service>, o: { refs: SpecRefs; status: { running: number; desired: number; completed: number } | null }): DockerService {
  const svc = s.value;
  const out: DockerService = {
    ID: svc.id,
    // The etcd key's mod revision: it changes on every write, and an update guarded by it is Docker's
    // `?version=` check (Number is exact: revisions stay far below 2^53).
    Version: { Index: Number(s.modRevision) },
    CreatedAt: svc.createdAt,
    UpdatedAt: svc.updatedAt,
    Spec: toDockerServiceSpec(svc.spec, o.refs),
    Endpoint: endpoint(svc, o.refs),
  };
  if (svc.previousSpec !== null) out.PreviousSpec = toDockerServiceSpec(svc.previousSpec, o.refs);
  const u = svc.updateStatus;
  if (u !== null) {
    out.UpdateStatus = { State: u.state, StartedAt: u.startedAt, ...(u.completedAt !== null ? { CompletedAt: u.completedAt } : {}), ...(u.message !== '' ? { Message: u.message } : {}) };
  }
  if (o.status !== null) out.ServiceStatus = { RunningTasks: o.status.running, DesiredTasks: o.status.desired, CompletedTasks: o.status.completed };
  return out;
}

/**
 * The endpoint as allocated. tsswarm assigns published ports when the service is made and keeps
 * them in its spec, so Spec.Ports and Ports are the same list; virtual IPs are stored bare and
 * shown, as Docker does, with their network's prefix.
 */
function endpoint(svc: Service, refs: SpecRefs): DockerEndpoint {
  const ports = svc.spec.endpoint.ports.map(dockerPort);
  const out: DockerEndpoint = { Spec: { Mode: svc.spec.endpoint.mode, ...(ports.length > 0 ? { Ports: ports } : {}) } };
  if (ports.length > 0) out.Ports = ports.map((p) => ({ ...p }));
  if (svc.vips.length > 0) {
    out.VirtualIPs = svc.vips.map((v) => {
      const subnet = refs.networkSubnet(v.networkId);
      const prefix = subnet === null ? null : subnet.slice(subnet.indexOf('/') + 1);
      return { NetworkID: v.networkId, Addr: prefix === null || !subnet?.includes('/') ? v.address : `${v.address}/${prefix}` };
    });
  }
  return out;
}

/**
 * `service`: the task's service, for its networks (a task's spec copy holds none of its own) —
 * undefined once the service is gone, when the task shows no networks in its spec. `network`:
 * Docker's network object by id, made by the networks module.
 */
export function dockerTask(t: Versioned<Task>, o: { refs: SpecRefs; service: Service | undefined; network: (id: string) => unknown }): DockerTask {
  const task = t.value;
  const out: DockerTask = {
    ID: task.id,
    Version: { Index: Number(t.modRevision) },
    CreatedAt: task.createdAt,
    // A task record changes with its status (and its desired state, which comes with a status message).
    UpdatedAt: task.status.timestamp,
    // Docker's tasks carry no labels of their own (Annotations.Labels is always present).
    Labels: {},
    Spec: toDockerTaskSpec(task.spec, o.service?.spec.networks ?? [], o.refs),
    ServiceID: task.serviceId,
    ...(task.slot !== null ? { Slot: task.slot } : {}),
    ...(task.nodeId !== null ? { NodeID: task.nodeId } : {}),
    Status: status(task, o.service),
    DesiredState: task.desiredState,
  };
  if (task.networks.length > 0) out.NetworksAttachments = task.networks.map((a) => ({ Network: o.network(a.networkId), Addresses: [a.address] }));
  return out;
}

function status(task: Task, service: Service | undefined): DockerTaskStatus {
  const s = task.status;
  // The agent names the container after the task; it exists once the task is being prepared on its node.
  const made = task.nodeId !== null && stateValue(s.state) >= stateValue('preparing') && s.state !== 'rejected';
  // Host-mode ports are bound on the task's own node: Docker lists them per task while it runs.
  const hostPorts = s.state === 'running' ? (service?.spec.endpoint.ports ?? []).filter((p) => p.mode === 'host' && p.published !== null).map(dockerPort) : [];
  return {
    Timestamp: s.timestamp,
    State: s.state,
    Message: s.message,
    ...(s.err !== null && s.err !== '' ? { Err: s.err } : {}),
    ContainerStatus: {
      ...(made ? { ContainerID: task.id } : {}),
      ...(s.pid !== null ? { PID: s.pid } : {}),
      ...(s.exitCode !== null ? { ExitCode: s.exitCode } : {}),
    },
    PortStatus: hostPorts.length > 0 ? { Ports: hostPorts } : {},
  };
}
