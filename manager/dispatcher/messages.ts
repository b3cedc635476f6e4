/** Shapes of the decoded dispatcher.proto messages (proto-loader with keepCase, oneofs). */
import type { WireAssignments, WireStatus, WireVolumeCommand, WireVolumeReport } from '../../shared/proto/codec';
import type { RoleWire } from '../../shared/proto/role';
import type { WireNetworkKeys } from '../../shared/proto/network-keys';
import type { WireTaskStreamRequest } from '../../shared/proto/task-streams';

export interface RegisterMsg {
  node_id: string;
  hostname: string;
  addr: string;
  nano_cpus: number;
  memory_bytes: number;
  labels: Record<string, string>;
  role: string;
  os: string;
  arch: string;
  generic_resources: Record<string, number | string>;
}

export interface AgentMsg {
  msg: 'register' | 'heartbeat' | 'status' | 'volumes';
  register?: RegisterMsg;
  heartbeat?: { sent_at_ms: number };
  status?: { updates: WireStatus[] };
  volumes?: WireVolumeReport;
}

export interface ManagerMsg {
  welcome?: { node_id: string; registry_url: string; heartbeat_period_ms: number; heartbeat_grace_ms: number; managers: string[] };
  assignments?: WireAssignments & WireNetworkKeys;
  rejected?: { reason: string };
  role_change?: RoleChangeMsg;
  heartbeat?: { sent_at_ms: number; period_ms: number; grace_ms: number; managers: string[]; signer_digest?: string; trust_digest?: string; image_gc_percent?: number };
  volume_command?: WireVolumeCommand;
  task_stream?: WireTaskStreamRequest;
}

export interface JoinRequestMsg {
  token: string;
  hostname: string;
  addr: string;
  etcd_peer_url: string;
  csr_pem: string;
  etcd_csr_pem: string;
}

export type RoleChangeMsg = RoleWire;

export interface CertificatesMsg {
  node_id: string;
  role: string;
  cert_pem: string;
  trust_pem: string;
  etcd_cert_pem: string;
}

export interface JoinAnswerMsg {
  host: RoleWire;
  certs: CertificatesMsg;
  external_etcd_ca: string;
  external_etcd_cert: string;
  external_etcd_key: string;
}

export interface RenewRequestMsg {
  csr_pem: string;
  etcd_csr_pem: string;
}

export interface DataKeyMsg {
  dek: Buffer;
  autolock: boolean;
}
