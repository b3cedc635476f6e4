/** Shapes of the decoded dispatcher.proto messages (proto-loader with keepCase, oneofs). */
import type { WireNetworkView, WirePortRule, WireStatus, WireTask } from '../../shared/proto/codec';
import type { RoleWire } from '../../shared/proto/role';

export interface RegisterMsg {
  node_id: string;
  hostname: string;
  addr: string;
  nano_cpus: number;
  memory_bytes: number;
  labels: Record<string, string>;
  role: string;
  token: string;
}

export interface AgentMsg {
  msg: 'register' | 'heartbeat' | 'status';
  register?: RegisterMsg;
  heartbeat?: { sent_at_ms: number };
  status?: { updates: WireStatus[] };
}

export interface ManagerMsg {
  welcome?: { node_id: string; registry_url: string; heartbeat_period_ms: number; heartbeat_grace_ms: number; managers: string[] };
  assignments?: { full: boolean; tasks: WireTask[]; removed: string[]; networks: WireNetworkView[]; removed_networks: string[]; ports_changed: boolean; ports: WirePortRule[] };
  rejected?: { reason: string };
  role_change?: RoleChangeMsg;
  heartbeat?: { sent_at_ms: number; period_ms: number; grace_ms: number; managers: string[] };
}

export interface JoinRequestMsg {
  token: string;
  hostname: string;
  addr: string;
  etcd_peer_url: string;
}

export type RoleChangeMsg = RoleWire;
export type JoinAnswerMsg = RoleWire;
