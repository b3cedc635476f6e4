/**
 * The agent's connection to a manager: one Session stream. It registers the
 * node, heartbeats, sends status reports in batches, hands assignments to the
 * executor, and reconnects with backoff (trying each known manager) when the
 * stream breaks.
 */
import * as grpc from '@grpc/grpc-js';
import { dispatcherClient } from '../../shared/proto/load';
import { blobFromWire, networkViewFromWire, portRuleFromWire, statusToWire, taskFromWire, type NodeBlob, type StatusUpdate, type WireAssignments, type WireStatus, type WireVolumeCommand, type WireVolumeReport } from '../../shared/proto/codec';
import type { Logger } from '../../shared/log';
import type { RoleWire } from '../../shared/proto/role';
import { mergeAssignments, type Assignments } from './assignments';
import type { TlsIdentity } from '../../shared/pki/tls-identity';
import { networkKeysFromWire, type WireNetworkKeys } from '../../shared/proto/network-keys';
import type { WireTaskStreamRequest } from '../../shared/proto/task-streams';

export interface NodeDescription {
  nodeId: string;
  hostname: string;
  addr: string;
  nanoCpus: number;
  memoryBytes: number;
  /** The agent's `--label`s: the node's engine labels. */
  labels: Record<string, string>;
  role: 'manager' | 'worker';
  platform: { os: string; architecture: string };
  genericResources: Record<string, number>;
}

export interface SessionHandlers {
  onWelcome(registryUrl: string, manager: string): void;
  /** The managers to try, changed by what a manager said of the live ones (to keep for a restart). */
  onManagers(managers: string[]): void;
  /** The manager refused this node for good (removed, revoked, another node's id). */
  onRejected(reason: string): void;
  /** `node promote|demote`: this host changes role (the session is closed first). */
  onRoleChange(change: RoleChange): void;
  /** Called one at a time; messages that arrive meanwhile are merged into the next call. */
  onAssignments(a: Assignments): Promise<void>;
  /** Status to send again after a reconnect. */
  replay(): StatusUpdate[];
  /** What the manager says of the CA: the signing root's digest and the trust bundle's. */
  onCa?(signerDigest: string, trustDigest: string): void;
  /** `volume create|rm|prune` for this node; answered with reportVolumes. */
  onVolumeCommand?(cmd: WireVolumeCommand): void;
  /** The cluster's image GC threshold (percent of the disk), from each heartbeat answer. */
  onImageGcThreshold?(percent: number): void;
  /** A manager asks for a stream of this node's tasks (logs, exec): agent/session/task-streams.ts. */
  onTaskStream?(req: WireTaskStreamRequest): void;
}

interface ServerMsg {
  welcome?: { node_id: string; registry_url: string; heartbeat_period_ms: number; heartbeat_grace_ms: number; managers?: string[] };
  assignments?: Partial<WireAssignments> & Pick<WireAssignments, 'full' | 'tasks' | 'removed'> & Partial<WireNetworkKeys>;
  rejected?: { reason: string };
  role_change?: RoleChange;
  volume_command?: WireVolumeCommand;
  task_stream?: WireTaskStreamRequest;
  heartbeat?: { sent_at_ms: number; period_ms: number; grace_ms: number; managers?: string[]; signer_digest?: string; trust_digest?: string; image_gc_percent?: number };
}

/** A promotion or demotion, as the manager sends it (dispatcher.proto HostRole). */
export type RoleChange = RoleWire;

type State = 'idle' | 'connecting' | 'connected' | 'closed';

/** A registration is a few store calls, each of which gives up within ~6 s (manager/store/store.ts). */
const WELCOME_TIMEOUT_MS = 8000;

export class Session {
  private state: State = 'idle';
  private call: grpc.ClientDuplexStream<unknown, ServerMsg> | null = null;
  private client: grpc.Client | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private pending: StatusUpdate[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private managerIndex = 0;
  /** Where to connect: the preferred managers first (this host's own, the one joined through), then the others. */
  private managers: string[];
  private backoffMs = 100;
  /** Assignment messages are applied one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  /** Messages received while an earlier one is being applied, merged. */
  private queued: Assignments | null = null;
  private connectedResolve: (() => void) | null = null;
  readonly connected: Promise<void>;

  constructor(
    private readonly preferred: string[],
    private readonly node: NodeDescription,
    private readonly handlers: SessionHandlers,
    private readonly log: Logger,
    /** The node's certificate (it is who the manager takes this node for) and the roots to check managers by. */
    private readonly tls: TlsIdentity,
    known: string[] = [],
  ) {
    this.managers = orderManagers(preferred, known);
    this.connected = new Promise((r) => (this.connectedResolve = r));
  }

  /** The live managers a manager named: the list to fail over along from now on. */
  private learnManagers(live: string[] | undefined, current: string): void {
    if (!live || live.length === 0) return;
    const next = orderManagers(this.preferred, live);
    if (next.join(',') === this.managers.join(',')) return;
    this.managers = next;
    // Keep pointing at the manager we are connected to, so the next failure moves on from it.
    this.managerIndex = Math.max(0, next.indexOf(current));
    this.log.info(`managers: ${next.join(', ')}`);
    this.handlers.onManagers(next);
  }

  start(): void {
    if (this.state !== 'idle') throw new Error(`session already ${this.state}`);
    this.connect();
  }

  private connect(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const addr = this.managers[this.managerIndex % this.managers.length]!;
    const client = dispatcherClient(addr, this.tls.channelCredentials(), {
      'grpc.keepalive_time_ms': 10000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    this.client = client;
    const call = (client as unknown as { Session(): grpc.ClientDuplexStream<unknown, ServerMsg> }).Session();
    this.call = call;
    let periodMs = 500;
    let graceMs = 1500;
    let lastHeard = Date.now();
    // A manager that takes the registration but never welcomes us (its store hangs) is left for the next.
    const welcomeTimer = setTimeout(() => {
      broken(`no welcome within ${WELCOME_TIMEOUT_MS} ms`);
      call.cancel();
    }, WELCOME_TIMEOUT_MS);
    // The manager answers every heartbeat; silence past the grace means it is gone or cut off.
    const beat = () =>
      this.startHeartbeat(periodMs, () => {
        const silent = Date.now() - lastHeard;
        if (silent <= graceMs) return;
        broken(`no word from the manager for ${silent} ms`);
        call.cancel();
      });
    call.on('data', (m: ServerMsg) => {
      lastHeard = Date.now();
      const h = m.heartbeat;
      this.learnManagers(h?.managers ?? m.welcome?.managers, addr);
      if (h?.signer_digest && h.trust_digest) this.handlers.onCa?.(h.signer_digest, h.trust_digest);
      if (h?.image_gc_percent) this.handlers.onImageGcThreshold?.(h.image_gc_percent);
      if (h && h.period_ms > 0 && h.grace_ms > 0 && (h.period_ms !== periodMs || h.grace_ms !== graceMs)) {
        // `tsswarm update` changed the cluster's settings.
        periodMs = h.period_ms;
        graceMs = h.grace_ms;
        this.log.info(`heartbeat every ${periodMs} ms, grace ${graceMs} ms`);
        beat();
      }
      if (m.welcome) {
        clearTimeout(welcomeTimer);
        this.state = 'connected';
        this.backoffMs = 100;
        periodMs = m.welcome.heartbeat_period_ms || periodMs;
        graceMs = m.welcome.heartbeat_grace_ms || periodMs * 3;
        this.log.info(`session established with ${addr}`);
        this.handlers.onWelcome(m.welcome.registry_url, addr);
        beat();
        this.pending = [];
        const replay = this.handlers.replay();
        if (replay.length) this.send({ status: { updates: replay.map(statusToWire) } });
        this.connectedResolve?.();
        return;
      }
      if (m.rejected) {
        this.log.error(`manager ${addr} refused this node: ${m.rejected.reason}`);
        this.close();
        this.handlers.onRejected(m.rejected.reason);
        return;
      }
      if (m.role_change) {
        this.log.info(`this node becomes a ${m.role_change.role}`);
        this.close();
        this.handlers.onRoleChange(m.role_change);
        return;
      }
      if (m.assignments) this.enqueue(m.assignments);
      if (m.volume_command) this.handlers.onVolumeCommand?.(m.volume_command);
      if (m.task_stream) this.handlers.onTaskStream?.(m.task_stream);
    });
    const broken = (why: string) => {
      clearTimeout(welcomeTimer);
      if (this.call !== call) return;
      this.call = null;
      this.stopHeartbeat();
      client.close();
      if (this.state === 'closed') return;
      this.state = 'connecting';
      this.log.warn(`session with ${addr} lost (${why}); reconnecting`);
      this.managerIndex++;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(2000, this.backoffMs * 2);
      setTimeout(() => this.connect(), delay);
    };
    call.on('error', (e: Error) => broken(e.message));
    call.on('end', () => broken('stream ended'));
    this.send({
      register: {
        node_id: this.node.nodeId,
        hostname: this.node.hostname,
        addr: this.node.addr,
        nano_cpus: this.node.nanoCpus,
        memory_bytes: this.node.memoryBytes,
        labels: this.node.labels,
        role: this.node.role,
        os: this.node.platform.os,
        arch: this.node.platform.architecture,
        generic_resources: this.node.genericResources,
      },
    });
  }

  private send(msg: { register?: unknown; heartbeat?: unknown; status?: { updates: WireStatus[] }; volumes?: WireVolumeReport }): boolean {
    if (!this.call) return false;
    this.call.write(msg);
    return true;
  }

  private startHeartbeat(periodMs: number, check: () => void): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      check();
      this.send({ heartbeat: { sent_at_ms: Date.now() } });
    }, periodMs);
  }

  private enqueue(w: NonNullable<ServerMsg['assignments']>): void {
    const a: Assignments = {
      full: w.full,
      tasks: w.tasks.map(taskFromWire),
      removed: w.removed,
      networks: (w.networks ?? []).map(networkViewFromWire),
      removedNetworks: w.removed_networks ?? [],
      ports: w.ports_changed ? (w.ports ?? []).map(portRuleFromWire) : null,
      networkKeys: networkKeysFromWire(w),
      blobs: (w.blobs ?? []).map(blobFromWire).filter((b): b is NodeBlob => b !== null),
      removedBlobs: w.removed_blobs ?? [],
    };
    this.log.debug(`assignments: ${a.tasks.length} tasks, ${a.removed.length} removed, ${a.networks.length} network views${a.full ? ' (full)' : ''}`);
    if (this.queued !== null) {
      this.queued = mergeAssignments(this.queued, a);
      return;
    }
    this.queued = a;
    this.chain = this.chain
      .then(() => {
        const next = this.queued!;
        this.queued = null;
        return this.handlers.onAssignments(next);
      })
      .catch((e: Error) => this.log.error(`applying assignments: ${e.message}`));
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Queues a status report; reports go out in batches every few milliseconds. */
  /** The node's volumes (and a command's answer); false when there is no session to carry it. */
  reportVolumes(r: WireVolumeReport): boolean {
    if (this.state !== 'connected') return false;
    return this.send({ volumes: r });
  }

  report(u: StatusUpdate): void {
    this.pending.push(u);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.state !== 'connected') return; // replayed on reconnect
      const batch = this.pending;
      this.pending = [];
      this.send({ status: { updates: batch.map(statusToWire) } });
    }, 10);
  }

  close(): void {
    this.state = 'closed';
    this.stopHeartbeat();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.call?.end();
    this.call = null;
    this.client?.close();
  }
}

/** Preferred addresses first, in their order, then the rest sorted; no duplicates. */
export function orderManagers(preferred: string[], others: string[]): string[] {
  const rest = [...new Set(others)].filter((a) => !preferred.includes(a)).sort();
  return [...new Set(preferred), ...rest];
}
