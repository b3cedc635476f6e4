/**
 * Conversions between the domain types and the wire messages of
 * dispatcher.proto. proto3 has no null, so "absent" travels as 0 / "" / a has_ flag.
 */
import type { HealthProbe, HealthState, Task, TaskSpec } from '../types';
import { completeTaskSpec } from '../task-spec';
import type { DesiredState, TaskStateName } from '../task-state';
import { TaskState } from '../task-state';

export interface WireAttachment {
  network_id: string;
  network_name: string;
  address: string;
  mac: string;
  aliases: string[];
}

export interface WireNetworkView {
  id: string;
  name: string;
  vni: number;
  subnet: string;
  gateway: string;
  peers: { ip: string; mac: string; host_addr: string }[];
  dns: { name: string; ips: string[]; round_robin: boolean }[];
  vips: { vip: string; backends: string[] }[];
  local_ip: string;
  encrypted: boolean;
  dns_sources?: { ip: string; network_ids: string[] }[];
  node_endpoints?: string[];
}

export interface WirePortRule {
  protocol: string;
  published: number;
  backends: { ip: string; port: number }[];
  snat_network_id: string;
  snat_ip: string;
}

/** A port published on a node (see PortRule in dispatcher.proto). */
export interface PortRule {
  protocol: 'tcp' | 'udp';
  published: number;
  backends: { ip: string; port: number }[];
  snat: { networkId: string; ip: string } | null;
}

export function portRuleToWire(r: PortRule): WirePortRule {
  return { protocol: r.protocol, published: r.published, backends: r.backends.map((b) => ({ ...b })), snat_network_id: r.snat?.networkId ?? '', snat_ip: r.snat?.ip ?? '' };
}

export function portRuleFromWire(w: WirePortRule): PortRule {
  return {
    protocol: w.protocol === 'udp' ? 'udp' : 'tcp',
    published: Number(w.published),
    backends: w.backends.map((b) => ({ ip: b.ip, port: Number(b.port) })),
    snat: w.snat_ip ? { networkId: w.snat_network_id, ip: w.snat_ip } : null,
  };
}

export interface WireTask {
  id: string;
  service_id: string;
  service_name: string;
  slot: number;
  desired_state: string;
  spec_json: string;
  observed_state: string;
  attachments: WireAttachment[];
  paused: boolean;
  service_labels: Record<string, string>;
}

export interface WireStatus {
  task_id: string;
  state: string;
  message: string;
  err: string;
  pid: number;
  exit_code: number;
  has_exit_code: boolean;
  timestamp: string;
  paused: boolean;
  health?: string;
  health_log_json?: string;
}

/** The part of a task an agent needs to run it, and the state the manager last recorded for it. */
export type AssignedTask = Pick<Task, 'id' | 'serviceId' | 'serviceName' | 'slot' | 'desiredState' | 'spec' | 'networks' | 'paused'> & {
  observedState: TaskStateName;
  /** The service's labels, for `{{.Service.Labels}}` in the task's templates. */
  serviceLabels: Record<string, string>;
};

/** A node's view of one network (see NetworkView in dispatcher.proto). */
export interface NetworkView {
  id: string;
  name: string;
  vni: number;
  subnet: string;
  gateway: string;
  peers: { ip: string; mac: string; hostAddr: string }[];
  dns: { name: string; ips: string[]; roundRobin: boolean }[];
  vips: { vip: string; backends: string[] }[];
  /** This node's own address on the network (ingress), or null. */
  localIp: string | null;
  /** VXLAN between hosts is encrypted with the cluster's network keys. */
  encrypted: boolean;
  /**
   * This node's containers on the network that are on other networks too: a query from `ip` is
   * answered from the names of this network and then of those, in order. Absent from older managers.
   */
  dnsSources?: { ip: string; networkIds: string[] }[];
  /** The ingress network: every node's address on it, this node's included (absent: not ingress, or an older manager). */
  nodeEndpoints?: string[];
}

export function networkViewToWire(v: NetworkView): WireNetworkView {
  return {
    id: v.id,
    name: v.name,
    vni: v.vni,
    subnet: v.subnet,
    gateway: v.gateway,
    peers: v.peers.map((p) => ({ ip: p.ip, mac: p.mac, host_addr: p.hostAddr })),
    dns: v.dns.map((d) => ({ name: d.name, ips: [...d.ips], round_robin: d.roundRobin })),
    vips: v.vips.map((x) => ({ vip: x.vip, backends: [...x.backends] })),
    local_ip: v.localIp ?? '',
    encrypted: v.encrypted,
    dns_sources: (v.dnsSources ?? []).map((d) => ({ ip: d.ip, network_ids: [...d.networkIds] })),
    node_endpoints: [...(v.nodeEndpoints ?? [])],
  };
}

export function networkViewFromWire(w: WireNetworkView): NetworkView {
  return {
    id: w.id,
    name: w.name,
    vni: Number(w.vni),
    subnet: w.subnet,
    gateway: w.gateway,
    peers: w.peers.map((p) => ({ ip: p.ip, mac: p.mac, hostAddr: p.host_addr })),
    dns: w.dns.map((d) => ({ name: d.name, ips: [...d.ips], roundRobin: d.round_robin })),
    vips: w.vips.map((x) => ({ vip: x.vip, backends: [...x.backends] })),
    localIp: w.local_ip ? w.local_ip : null,
    encrypted: w.encrypted === true,
    ...(w.dns_sources && w.dns_sources.length > 0 ? { dnsSources: w.dns_sources.map((d) => ({ ip: d.ip, networkIds: [...d.network_ids] })) } : {}),
    ...(w.node_endpoints && w.node_endpoints.length > 0 ? { nodeEndpoints: [...w.node_endpoints] } : {}),
  };
}

export interface StatusUpdate {
  taskId: string;
  state: TaskStateName;
  message: string;
  err: string | null;
  pid: number | null;
  exitCode: number | null;
  timestamp: string;
  paused: boolean;
  /** The health check's state while running; null without a check (and from agents older than checks). */
  health?: HealthState | null;
  /** Its last results, for inspect. */
  healthLog?: HealthProbe[];
}

const orNull = (n: number): number | null => (n > 0 ? n : null);

/** The spec a manager sent, completed with the defaults of fields it may not know (an older manager). */
export function taskSpecFromJson(text: string): TaskSpec {
  try {
    return completeTaskSpec(text === '' ? {} : JSON.parse(text));
  } catch {
    // an unreadable spec runs nothing: the image '' fails the task with a clear error
    return completeTaskSpec({});
  }
}
const orEmpty = (s: string): string | null => (s === '' ? null : s);

export function isTaskStateName(s: string): s is TaskStateName {
  return Object.prototype.hasOwnProperty.call(TaskState, s);
}

function isDesired(s: string): s is DesiredState {
  return s === 'running' || s === 'shutdown' || s === 'remove';
}

export function taskToWire(t: Task, serviceLabels: Record<string, string> = {}): WireTask {
  return {
    service_labels: { ...serviceLabels },
    id: t.id,
    service_id: t.serviceId,
    service_name: t.serviceName,
    slot: t.slot ?? 0,
    desired_state: t.desiredState,
    observed_state: t.status.state,
    spec_json: JSON.stringify(t.spec),
    paused: t.paused,
    attachments: t.networks.map((a) => ({ network_id: a.networkId, network_name: a.networkName, address: a.address, mac: a.mac, aliases: a.aliases })),
  };
}

export function taskFromWire(w: WireTask): AssignedTask {
  return {
    id: w.id,
    serviceId: w.service_id,
    serviceName: w.service_name,
    slot: w.slot > 0 ? w.slot : null,
    desiredState: isDesired(w.desired_state) ? w.desired_state : 'shutdown',
    observedState: isTaskStateName(w.observed_state) ? w.observed_state : 'assigned',
    spec: taskSpecFromJson(w.spec_json),
    serviceLabels: { ...(w.service_labels ?? {}) },
    paused: w.paused === true,
    networks: (w.attachments ?? []).map((a) => ({ networkId: a.network_id, networkName: a.network_name, address: a.address, mac: a.mac, aliases: [...a.aliases] })),
  };
}

export function statusToWire(u: StatusUpdate): WireStatus {
  return {
    task_id: u.taskId,
    state: u.state,
    message: u.message,
    err: u.err ?? '',
    pid: u.pid ?? 0,
    exit_code: u.exitCode ?? 0,
    has_exit_code: u.exitCode !== null,
    timestamp: u.timestamp,
    paused: u.paused,
    health: u.health ?? '',
    health_log_json: u.healthLog !== undefined && u.healthLog.length > 0 ? JSON.stringify(u.healthLog) : '',
  };
}

const HEALTH_STATES = new Set(['starting', 'healthy', 'unhealthy']);

function healthLogFromJson(text: string | undefined): HealthProbe[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v)) return [];
    return v
      .filter((p): p is HealthProbe => typeof p === 'object' && p !== null && typeof p.start === 'string' && typeof p.end === 'string' && typeof p.exitCode === 'number' && typeof p.output === 'string')
      .slice(-5)
      .map((p) => ({ start: p.start, end: p.end, exitCode: p.exitCode, output: p.output.slice(0, 4096) }));
  } catch {
    return [];
  }
}

export function statusFromWire(w: WireStatus): StatusUpdate | null {
  if (!isTaskStateName(w.state)) return null;
  return {
    taskId: w.task_id,
    state: w.state,
    message: w.message,
    err: orEmpty(w.err),
    pid: orNull(w.pid),
    exitCode: w.has_exit_code ? w.exit_code : null,
    timestamp: w.timestamp,
    paused: w.paused === true,
    ...(w.health !== undefined && HEALTH_STATES.has(w.health) ? { health: w.health as HealthState } : {}),
    ...(w.health_log_json ? { healthLog: healthLogFromJson(w.health_log_json) } : {}),
  };
}

/** A secret or config as the Blob message carries it. */
export interface WireBlob {
  id: string;
  kind: string;
  name: string;
  data: Uint8Array;
}

/** A secret or config an agent holds for its tasks. */
export interface NodeBlob {
  id: string;
  kind: 'secret' | 'config';
  name: string;
  data: Buffer;
}

export function blobFromWire(w: WireBlob): NodeBlob | null {
  if (w.kind !== 'secret' && w.kind !== 'config') return null;
  return { id: w.id, kind: w.kind, name: w.name, data: Buffer.from(w.data) };
}

/** The Assignments message, as both ends see it (proto-loader, keepCase). */
export interface WireAssignments {
  full: boolean;
  tasks: WireTask[];
  removed: string[];
  networks: WireNetworkView[];
  removed_networks: string[];
  ports_changed: boolean;
  ports: WirePortRule[];
  blobs: WireBlob[];
  removed_blobs: string[];
}

export interface WireVolumeCommand {
  id: string;
  op: string;
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  force: boolean;
  all: boolean;
}

export interface WireVolumeReport {
  request_id: string;
  error: string;
  removed: string[];
  volumes_json: string;
}
