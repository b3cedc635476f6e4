/**
 * The dispatcher: agents' sessions. It records nodes as they register and
 * heartbeat, streams each node its assigned tasks (the full set, then
 * changes), and writes the task status agents report. Nodes silent for longer
 * than the heartbeat grace are marked down.
 */
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { caDigest, trustDigest } from '../../shared/pki/certificate';
import type { Cluster, ClusterNode, ManagerRecord, Network, NodeRole, Service, StoredBlob, Task } from '../../shared/types';
import { DEFAULT_IMAGE_GC_PERCENT, SCHEMA_VERSION } from '../../shared/types';
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import { TaskState } from '../../shared/task-state';
import { loadDispatcher } from '../../shared/proto/load';
import { networkViewToWire, portRuleToWire, statusFromWire, taskToWire, type StatusUpdate } from '../../shared/proto/codec';
import { networkViews, portRules } from './network-views';
import { keyringFingerprint, keyringForNode, readNetworkKeyring } from './network-keys';
import { networkKeysToWire } from '../../shared/proto/network-keys';
import { BlobCache, blobIdsOf } from './blobs';
import { VolumeRelay } from './volumes';
import type { Store, StoreWriter, Versioned, WriteOp } from '../store/store';
import type { StoreView } from '../store/view';
import type { AgentMsg, ManagerMsg, RegisterMsg } from './messages';
import { applyStatus } from './status';
import { liveManagers } from '../election/presence';
import { etcdForManager, type ExternalEtcdCredentials } from './join';
import { removeMembersOn } from '../election/etcd-members';
import type { TlsIdentity } from '../../shared/pki/tls-identity';
import type { NodeCa } from '../ca/node-ca';
import type { RevokedNodes } from '../ca/revoked';
import { caMethods } from './ca-service';
import { PeerRefusal, requirePeer, type Peer } from './peer';
import { TaskStreamHub } from './task-streams';
import type { ExecFrameOut, WireExecFrame, WireLogBatch, WireTaskStreamRequest } from '../../shared/proto/task-streams';

export interface DispatcherOptions {
  store: Store;
  /** The manager's watch-fed view; it must follow tasks, networks, services and nodes. */
  view: StoreView;
  log: Logger;
  listen: string;
  registryUrl: string;
  heartbeatPeriodMs: number;
  heartbeatGraceMs: number;
  /** The manager's TLS identity (its host's node certificate) and the roots it trusts. */
  tls: TlsIdentity;
  clusterId: string;
  ca: NodeCa;
  revoked: RevokedNodes;
  /** The cluster's data key (null while this manager is locked). */
  dek(): { key: Buffer; autolock: boolean } | null;
  externalEtcd: ExternalEtcdCredentials | null;
  /** This manager (node records name the manager holding their session). */
  managerId: string;
  /**
   * While this manager leads, its fenced writer: the leader also judges nodes whose session was
   * with a manager that is gone, and those writes hold only while its term lasts.
   */
  leaderWriter(): StoreWriter | null;
  etcdManaged: boolean;
  etcdEndpoints: string[];
  /** This manager's dispatcher address as agents reach it (task streams are opened to it). */
  advertiseAddr(): string;
}

interface Session {
  nodeId: string;
  /** The role the agent registered with; a different role on record means promote/demote. */
  role: string;
  /** A role change is under way for this session (told to the agent, or being prepared). */
  changingRole: boolean;
  call: grpc.ServerDuplexStream<AgentMsg, ManagerMsg>;
  lastSeen: number;
  /** task id → JSON last sent, to send only what changed. */
  sent: Map<string, string>;
  /** network id → view last sent. */
  sentNetworks: Map<string, string>;
  /** Published port rules last sent. */
  sentPorts: string;
  /** Digest of the network keyring last sent ('' before the first). */
  sentKeys: string;
  /** Ids of the secrets and configs the node holds (sent and not removed). */
  sentBlobs: Set<string>;
  full: boolean;
}

export class Dispatcher {
  private server: grpc.Server | null = null;
  private readonly sessions = new Map<string, Session>();
  /** volume create/rm/prune requests to the agents of this manager's sessions, and their reports. */
  private readonly volumes: VolumeRelay;
  /** Secrets and configs opened for the nodes that need them, in memory only. */
  private readonly blobs = new BlobCache(() => this.opts.dek()?.key ?? null);
  private lastSeen = new Map<string, number>();
  private stopWatch: (() => Promise<void>) | null = null;
  private stopViewChanges: (() => void) | null = null;
  private stopVolumeRequests: (() => void) | null = null;
  private pushTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private pushing = false;
  private pushAgain = false;
  private statusQueue: { nodeId: string; update: StatusUpdate }[] = [];
  private statusTimer: NodeJS.Timeout | null = null;
  /** Live managers (their leased records), kept by the watch. */
  private managers: ManagerRecord[] = [];
  /** Nodes whose session's manager is gone: since when the leader has seen them so. */
  private orphanedSince = new Map<string, number>();
  private checking = false;
  /** When the heartbeat check last read the store (every half period while it answers). */
  private storeOkAt = Date.now();
  port = 0;
  /** Logs and exec of the nodes' tasks, for this manager's API. */
  readonly streams: TaskStreamHub;

  constructor(private readonly opts: DispatcherOptions) {
    this.volumes = new VolumeRelay(opts.store, opts.view, opts.log.child('volumes'));
    this.streams = new TaskStreamHub({
      view: opts.view,
      tls: opts.tls,
      managerId: opts.managerId,
      selfAddr: () => opts.advertiseAddr(),
      managers: () => this.managers,
      toSession: (nodeId, req) => {
        const s = this.sessions.get(nodeId);
        if (!s) return false;
        s.call.write({ task_stream: req });
        return true;
      },
    });
  }

  /** ForwardTaskStream: another manager's request for a node whose session is here. */
  private forwardTaskStream(call: grpc.ServerUnaryCall<WireTaskStreamRequest, object>, cb: grpc.sendUnaryData<object>): void {
    try {
      requirePeer(call, this.opts.clusterId, ['manager'], this.opts.revoked);
    } catch (e) {
      const r = e as PeerRefusal;
      return cb({ code: r.grpcCode ?? grpc.status.PERMISSION_DENIED, details: r.message });
    }
    const s = this.sessions.get(call.request.node_id);
    if (!s) return cb({ code: grpc.status.NOT_FOUND, details: `node ${call.request.node_id.slice(0, 12)} has no session here` });
    s.call.write({ task_stream: call.request });
    cb(null, {});
  }

  /** An agent opening a stream it was asked for: it names it in its first message. */
  private openedStream(call: grpc.ServerReadableStream<WireLogBatch, object> | grpc.ServerDuplexStream<WireExecFrame, ExecFrameOut>, kind: 'logs' | 'exec', reply?: grpc.sendUnaryData<object>): void {
    let peer: Peer;
    const refuse = (code: grpc.status, details: string) => {
      if (reply) reply({ code, details });
      else call.emit('error', Object.assign(new Error(details), { code }));
    };
    try {
      peer = requirePeer(call, this.opts.clusterId, ['manager', 'worker'], this.opts.revoked);
    } catch (e) {
      const r = e as PeerRefusal;
      return refuse(r.grpcCode ?? grpc.status.PERMISSION_DENIED, r.message);
    }
    call.once('data', (first: WireLogBatch & WireExecFrame) => {
      // Held until the hub has its listeners on (TaskStreamHub.logs/exec resume it): messages that
      // came in the same read as the first would otherwise be emitted to no one.
      call.pause();
      const ok = kind === 'logs'
        ? this.streams.accept(peer.nodeId, { kind, call: call as grpc.ServerReadableStream<WireLogBatch, object>, reply: reply!, first })
        : this.streams.accept(peer.nodeId, { kind, call: call as grpc.ServerDuplexStream<WireExecFrame, ExecFrameOut>, first });
      if (!ok) refuse(grpc.status.PERMISSION_DENIED, 'no such stream was asked of this node');
    });
  }

  async start(): Promise<void> {
    const { Dispatcher: svc } = loadDispatcher();
    const server = new grpc.Server();
    server.addService(svc.service, {
      Session: (call: grpc.ServerDuplexStream<AgentMsg, ManagerMsg>) => this.session(call),
      ForwardTaskStream: (call: grpc.ServerUnaryCall<WireTaskStreamRequest, object>, cb: grpc.sendUnaryData<object>) => this.forwardTaskStream(call, cb),
      PublishLogs: (call: grpc.ServerReadableStream<WireLogBatch, object>, cb: grpc.sendUnaryData<object>) => this.openedStream(call, 'logs', cb),
      Exec: (call: grpc.ServerDuplexStream<WireExecFrame, ExecFrameOut>) => this.openedStream(call, 'exec'),
      ...caMethods({ ...this.opts, managers: () => this.managerAddrs() }),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(this.opts.listen, this.opts.tls.serverCredentials(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.server = server;
    // Pushes read the view (and status writes start from it): no round trip to etcd per change.
    this.stopViewChanges = this.opts.view.subscribe([Keys.tasks, Keys.networks, Keys.services, Keys.nodes, Keys.secrets, Keys.configs], () => this.schedulePush());
    this.stopVolumeRequests = this.opts.view.subscribe([Keys.volumeRequests], () => this.forwardVolumeRequests());
    this.stopWatch = await this.opts.store.watch(
      [Keys.cluster, Keys.managers, Keys.ca, Keys.networkKeys],
      (key) => {
        if (key === Keys.cluster) void this.reloadSettings();
        else if (key === Keys.ca) void this.reloadCa();
        else if (key.startsWith(Keys.managers)) void this.reloadManagers();
        else this.schedulePush();
      },
      (e) => this.opts.log.warn(`store watch: ${e.message}`),
    );
    await this.reloadManagers();
    await this.reloadCa();
    await this.reloadSettings();
    this.startChecks();
  }

  /**
   * False once the store has not answered for longer than a heartbeat period (it is read every half
   * period): the agents then hear nothing and move on within their grace, before the leader, seeing
   * this manager's record expire, would judge their nodes.
   */
  private storeReachable(): boolean {
    return Date.now() - this.storeOkAt <= this.opts.heartbeatPeriodMs;
  }

  private async reloadManagers(): Promise<void> {
    try {
      this.managers = await liveManagers(this.opts.store);
    } catch (e) {
      this.opts.log.warn(`reading the managers: ${(e as Error).message}`);
    }
  }

  /** A node with a session here: ready, and this manager's to judge. */
  private readyStatus(timestamp: string): ClusterNode['status'] {
    return { state: 'ready', message: 'session established', timestamp, manager: this.opts.managerId };
  }

  /** Dispatcher addresses of the live managers, for agents to fail over between. */
  private managerAddrs(): string[] {
    return [...new Set(this.managers.map((m) => m.dispatcher))].sort();
  }

  private startChecks(): void {
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = setInterval(() => void this.checkHeartbeats(), Math.max(100, Math.floor(this.opts.heartbeatPeriodMs / 2)));
  }

  /** What heartbeats tell agents of the CA (see dispatcher.proto Heartbeat). */
  private caDigests = { signer_digest: '', trust_digest: '' };
  /** The cluster's image GC threshold, told to agents in every heartbeat answer. */
  private imageGcPercent = DEFAULT_IMAGE_GC_PERCENT;

  private async reloadCa(): Promise<void> {
    try {
      const ca = await this.opts.ca.record();
      this.caDigests = { signer_digest: caDigest(new X509Certificate(ca.signer.certPem)), trust_digest: trustDigest(ca.trust.join('')) };
    } catch (e) {
      this.opts.log.warn(`reading the CA: ${(e as Error).message}`);
    }
  }

  /** `tsswarm update` changed the heartbeat settings: judge by them now; agents learn them from the next answer. */
  private async reloadSettings(): Promise<void> {
    const c = await this.opts.store.get<Cluster>(Keys.cluster).catch(() => null);
    if (!c) return;
    this.imageGcPercent = c.value.imageGcThresholdPercent ?? DEFAULT_IMAGE_GC_PERCENT;
    const { heartbeatPeriodMs, heartbeatGraceMs } = c.value;
    if (heartbeatPeriodMs === this.opts.heartbeatPeriodMs && heartbeatGraceMs === this.opts.heartbeatGraceMs) return;
    this.opts.heartbeatPeriodMs = heartbeatPeriodMs;
    this.opts.heartbeatGraceMs = heartbeatGraceMs;
    // A longer grace starts counting afresh, so nobody is judged by the old one in between.
    const now = Date.now();
    for (const id of this.lastSeen.keys()) this.lastSeen.set(id, now);
    this.startChecks();
    this.opts.log.info(`heartbeat every ${heartbeatPeriodMs} ms, grace ${heartbeatGraceMs} ms`);
  }

  private session(call: grpc.ServerDuplexStream<AgentMsg, ManagerMsg>): void {
    let s: Session | null = null;
    call.on('data', (m: AgentMsg) => {
      if (m.register) {
        const r = m.register;
        void Promise.resolve().then(() => this.register(call, r, requirePeer(call, this.opts.clusterId, ['manager', 'worker'], this.opts.revoked))).then((sess) => {
          s = sess;
        }).catch((e: Error) => {
          if (e instanceof PeerRefusal) {
            this.opts.log.warn(`refused a session from ${call.getPeer()}: ${e.message}`);
            // A removed node is told so, as a live session is, and stops trying (its agent cleans up);
            // a missing or foreign certificate is a transport refusal the agent may retry past.
            if (e.revoked) {
              call.write({ rejected: { reason: e.message } });
              call.end();
            } else call.emit('error', Object.assign(new Error(e.message), { code: e.grpcCode }));
            return;
          }
          this.opts.log.warn(`register failed: ${e.message}`);
          // An 'error' ends the call with a status the agent sees (destroy() would not send one),
          // so it moves on to another manager at once.
          call.emit('error', Object.assign(new Error(`registration failed: ${e.message}`), { code: grpc.status.UNAVAILABLE }));
        });
        return;
      }
      if (!s) return;
      s.lastSeen = Date.now();
      this.lastSeen.set(s.nodeId, s.lastSeen);
      // A manager cut off from the store cannot record what its agents report: it stops answering,
      // and they move to another manager once their grace runs out.
      if (m.heartbeat && this.storeReachable()) call.write({ heartbeat: { sent_at_ms: m.heartbeat.sent_at_ms, period_ms: this.opts.heartbeatPeriodMs, grace_ms: this.opts.heartbeatGraceMs, managers: this.managerAddrs(), ...this.caDigests, image_gc_percent: this.imageGcPercent } });
      if (m.volumes) void this.volumes.record(s.nodeId, m.volumes);
      if (m.status) {
        for (const w of m.status.updates) {
          const u = statusFromWire(w);
          if (u) this.statusQueue.push({ nodeId: s.nodeId, update: u });
        }
        this.scheduleStatusFlush();
      }
    });
    const end = () => {
      if (s && this.sessions.get(s.nodeId) === s) this.sessions.delete(s.nodeId);
      call.end();
    };
    call.on('end', end);
    call.on('error', end);
    call.on('cancelled', end);
  }

  /**
   * Who may open a session: the node its certificate names (checked against
   * the revocation list by requirePeer), registering under that id. A node
   * the cluster knows keeps its recorded role; a new one (just joined) takes
   * its certificate's.
   */
  private admit(r: RegisterMsg, peer: Peer, existing: ClusterNode | null): { refused: string } | { role: NodeRole } {
    if (r.node_id !== peer.nodeId) return { refused: `the registration names node ${r.node_id.slice(0, 12)}, the certificate ${peer.nodeId.slice(0, 12)}` };
    if (existing) return { role: existing.role };
    return { role: peer.role === 'manager' ? 'manager' : 'worker' };
  }

  private async register(call: grpc.ServerDuplexStream<AgentMsg, ManagerMsg>, r: RegisterMsg, peer: Peer): Promise<Session | null> {
    const now = new Date().toISOString();
    const key = Keys.node(r.node_id);
    const existing = await this.opts.store.get<ClusterNode>(key);
    const admitted = this.admit(r, peer, existing?.value ?? null);
    if ('refused' in admitted) {
      this.opts.log.warn(`refused node ${r.hostname} (${r.addr}): ${admitted.refused}`);
      call.write({ rejected: { reason: admitted.refused } });
      call.end();
      return null;
    }
    const node: ClusterNode = {
      v: SCHEMA_VERSION,
      id: r.node_id,
      hostname: r.hostname,
      addr: r.addr,
      role: admitted.role,
      availability: existing?.value.availability ?? 'active',
      status: this.readyStatus(now),
      resources: { nanoCpus: Number(r.nano_cpus), memoryBytes: Number(r.memory_bytes), generic: genericOf(r.generic_resources) },
      // The operator's labels stay the operator's; the agent's own are its engine labels (Swarm's split).
      labels: existing?.value.labels ?? {},
      engineLabels: { ...(r.labels ?? {}) },
      platform: { os: r.os || 'linux', architecture: r.arch || '' },
      createdAt: existing?.value.createdAt ?? now,
    };
    await this.opts.store.commit([{ put: key, value: node, guard: existing ? { modRevision: existing.modRevision } : { absent: true } }]);
    const old = this.sessions.get(r.node_id);
    if (old) old.call.end();
    const s: Session = { nodeId: r.node_id, role: r.role, changingRole: false, call, lastSeen: Date.now(), sent: new Map(), sentNetworks: new Map(), sentPorts: '', sentKeys: '', sentBlobs: new Set(), full: true };
    this.sessions.set(r.node_id, s);
    this.volumes.reset(r.node_id);
    setImmediate(() => this.forwardVolumeRequests());
    this.lastSeen.set(r.node_id, s.lastSeen);
    this.orphanedSince.delete(r.node_id);
    call.write({ welcome: { node_id: r.node_id, registry_url: this.opts.registryUrl, heartbeat_period_ms: this.opts.heartbeatPeriodMs, heartbeat_grace_ms: this.opts.heartbeatGraceMs, managers: this.managerAddrs() } });
    this.opts.log.info(`node ${r.hostname} (${r.node_id.slice(0, 12)}) registered`);
    this.schedulePush();
    return s;
  }

  private forwardVolumeRequests(): void {
    this.volumes.forward((nodeId, cmd) => {
      const s = this.sessions.get(nodeId);
      if (!s) return false;
      s.call.write({ volume_command: cmd });
      return true;
    });
  }

  private schedulePush(): void {
    if (this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = null;
      void this.push();
    }, 5);
  }

  /** Sends every session the tasks of its node that changed since the last push. */
  private async push(): Promise<void> {
    if (this.pushing) {
      this.pushAgain = true;
      return;
    }
    this.pushing = true;
    try {
      const view = this.opts.view;
      const values = <T>(prefix: string) => view.list<T>(prefix).map((v) => v.value);
      const tasks = values<Task>(Keys.tasks);
      const networks = values<Network>(Keys.networks);
      const services = values<Service>(Keys.services);
      const nodes = values<ClusterNode>(Keys.nodes);
      const keyring = await readNetworkKeyring(this.opts.store, networks, this.opts.dek()?.key ?? null);
      const serviceLabels = new Map(services.map((x) => [x.id, x.spec.labels]));
      const blobs = this.blobs.available(values<StoredBlob>(Keys.secrets), values<StoredBlob>(Keys.configs));
      const byNode = new Map<string, Task[]>();
      for (const t of tasks) {
        if (t.nodeId === null || TaskState[t.status.state] < TaskState.assigned) continue;
        const l = byNode.get(t.nodeId) ?? [];
        l.push(t);
        byNode.set(t.nodeId, l);
      }
      const known = new Map(nodes.map((n) => [n.id, n]));
      for (const s of [...this.sessions.values()]) {
        const node = known.get(s.nodeId);
        if (!node) {
          void this.closeIfRemoved(s);
          continue;
        }
        if (node.role !== s.role && !s.changingRole) void this.changeRole(s, node);
        const mine = byNode.get(s.nodeId) ?? [];
        const current = new Map(mine.map((t) => [t.id, t]));
        const changed: Task[] = [];
        const neededBlobs = new Set<string>();
        for (const t of mine) {
          const ids = blobIdsOf(t);
          // A new task waits until its secrets and configs can go with it (the next push, when the
          // view has them); one the agent has already keeps what it has.
          if (!s.sent.has(t.id) && ids.some((id) => !blobs.has(id))) {
            current.delete(t.id);
            continue;
          }
          for (const id of ids) if (blobs.has(id)) neededBlobs.add(id);
          // Status-only changes the agent itself reported need not go back to it.
          const fingerprint = JSON.stringify([t.desiredState, t.specVersion, t.spec, t.paused]);
          if (s.sent.get(t.id) !== fingerprint) {
            changed.push(t);
            s.sent.set(t.id, fingerprint);
          }
        }
        const removed = [...s.sent.keys()].filter((id) => !current.has(id));
        for (const id of removed) s.sent.delete(id);
        const newBlobs = [...neededBlobs].filter((id) => s.full || !s.sentBlobs.has(id)).map((id) => blobs.get(id)!);
        const removedBlobs = [...s.sentBlobs].filter((id) => !neededBlobs.has(id));
        s.sentBlobs = neededBlobs;
        const views = networkViews(s.nodeId, tasks, networks, services, nodes);
        const changedViews = views.filter((v) => s.sentNetworks.get(v.id) !== JSON.stringify(v));
        for (const v of changedViews) s.sentNetworks.set(v.id, JSON.stringify(v));
        const removedNetworks = [...s.sentNetworks.keys()].filter((id) => !views.some((v) => v.id === id));
        for (const id of removedNetworks) s.sentNetworks.delete(id);
        const ports = portRules(s.nodeId, tasks, networks, services);
        const portsText = JSON.stringify(ports);
        const portsChanged = portsText !== s.sentPorts;
        s.sentPorts = portsText;
        const keys = keyringForNode(views, keyring);
        const keysText = keyringFingerprint(keys);
        const keysChanged = keysText !== s.sentKeys;
        s.sentKeys = keysText;
        if (!s.full && !portsChanged && !keysChanged && changed.length === 0 && removed.length === 0 && changedViews.length === 0 && removedNetworks.length === 0 && newBlobs.length === 0 && removedBlobs.length === 0) continue;
        s.call.write({
          assignments: {
            full: s.full,
            tasks: changed.map((t) => taskToWire(t, serviceLabels.get(t.serviceId))),
            removed,
            networks: changedViews.map(networkViewToWire),
            removed_networks: removedNetworks,
            ports_changed: portsChanged || s.full,
            ports: ports.map(portRuleToWire),
            ...networkKeysToWire(keysChanged || s.full ? keys : null),
            blobs: newBlobs.map((b) => ({ id: b.id, kind: b.kind, name: b.name, data: b.data })),
            removed_blobs: removedBlobs,
          },
        });
        s.full = false;
      }
    } catch (e) {
      this.opts.log.warn(`push failed: ${(e as Error).message}`);
      setTimeout(() => this.schedulePush(), 500).unref();
    } finally {
      this.pushing = false;
      if (this.pushAgain) {
        this.pushAgain = false;
        this.schedulePush();
      }
    }
  }

  /**
   * `node rm --force` of a live node: it is no longer part of the cluster. Checked again on its
   * own, since the node list the push read may predate the node's registration.
   */
  private async closeIfRemoved(s: Session): Promise<void> {
    if (await this.opts.store.get<ClusterNode>(Keys.node(s.nodeId))) return;
    if (this.sessions.get(s.nodeId) !== s) return;
    this.opts.log.info(`node ${s.nodeId.slice(0, 12)} was removed; closing its session`);
    this.sessions.delete(s.nodeId);
    this.lastSeen.delete(s.nodeId);
    s.call.write({ rejected: { reason: 'this node was removed from the cluster; join it again with a token' } });
    s.call.end();
  }

  /**
   * `node promote|demote`: prepares etcd (a learner member for a new manager
   * whose peers run etcd; the member removed for a demoted one) and tells the
   * agent, whose host supervisor then starts or stops the manager there.
   */
  private async changeRole(s: Session, node: ClusterNode): Promise<void> {
    s.changingRole = true;
    try {
      const etcd = node.role === 'manager'
        ? await etcdForManager(this.opts, node.hostname, node.addr, `https://${node.addr}:2380`)
        : { etcd_endpoints: [], etcd_managed: false, etcd_name: '', etcd_initial_cluster: '' };
      if (node.role === 'worker' && this.opts.etcdManaged) await removeMembersOn(this.opts.store, node.addr);
      this.opts.log.info(`node ${node.hostname} becomes a ${node.role}`);
      s.call.write({ role_change: { role: node.role, managers: this.managerAddrs(), ...etcd } });
    } catch (e) {
      this.opts.log.warn(`changing the role of ${node.hostname}: ${(e as Error).message}; trying again`);
      setTimeout(() => {
        s.changingRole = false;
        this.schedulePush();
      }, 2000).unref();
    }
  }

  private scheduleStatusFlush(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      void this.flushStatus();
    }, 10);
  }

  /** Writes queued status reports in guarded transactions, retrying conflicts. */
  private async flushStatus(attempt = 0): Promise<void> {
    const batch = this.statusQueue;
    this.statusQueue = [];
    if (batch.length === 0) return;
    try {
      const ids = [...new Set(batch.map((b) => b.update.taskId))];
      // First from the view; from etcd itself after a conflict (the view was behind) and for a task
      // the view has not seen yet.
      const read = (id: string): Promise<Versioned<Task> | null> | Versioned<Task> => (attempt === 0 ? this.opts.view.get<Task>(Keys.task(id)) : null) ?? this.opts.store.get<Task>(Keys.task(id));
      const found = await Promise.all(ids.map(read));
      const tasks = new Map(found.filter((f) => f !== null).map((f) => [f!.value.id, f!]));
      const next = new Map<string, Task>();
      for (const { nodeId, update } of batch) {
        const cur = next.get(update.taskId) ?? tasks.get(update.taskId)?.value;
        if (!cur) continue;
        const applied = applyStatus(cur, update, nodeId);
        if (applied) next.set(update.taskId, applied);
      }
      const ops: WriteOp[] = [];
      for (const [id, t] of next) ops.push({ put: Keys.task(id), value: t, guard: { modRevision: tasks.get(id)!.modRevision } });
      // Guarded per task so one conflict does not hold back the others.
      const results = await Promise.all(chunk(ops, 64).map((c) => this.opts.store.commit(c)));
      if (results.some((ok) => !ok) && attempt < 5) {
        this.statusQueue.unshift(...batch);
        setTimeout(() => void this.flushStatus(attempt + 1), 20 * (attempt + 1)).unref();
      }
    } catch (e) {
      this.opts.log.warn(`status write failed: ${(e as Error).message}`);
      this.statusQueue.unshift(...batch);
      setTimeout(() => void this.flushStatus(attempt + 1), 500).unref();
    }
  }

  /**
   * Marks nodes down when they have been silent past the grace period: the
   * nodes whose session this manager holds, and, on the leader, those whose
   * session was with a manager that is gone and that have not registered
   * with another one within the grace period.
   */
  private async checkHeartbeats(): Promise<void> {
    // One check at a time: with etcd slow, overlapping checks would judge by each other's clocks.
    if (this.checking) return;
    this.checking = true;
    try {
      const nodes = await this.opts.store.list<ClusterNode>(Keys.nodes);
      const leader = this.opts.leaderWriter();
      // The leader reads the managers afresh: a watch cache that missed a restarted manager would
      // make its nodes look orphaned.
      const live = new Set((leader ? await liveManagers(this.opts.store) : this.managers).map((m) => m.id));
      if (!leader) this.orphanedSince.clear();
      const now = Date.now();
      const ops: WriteOp[] = [];
      /** The leader's judgements, written through its fence. */
      const judged: WriteOp[] = [];
      const down = (n: (typeof nodes)[number], message: string, to = ops) => {
        this.opts.log.warn(`node ${n.value.hostname} ${message}; marking it down`);
        to.push({
          put: n.key,
          value: { ...n.value, status: { state: 'down', message, timestamp: new Date().toISOString() } },
          guard: { modRevision: n.modRevision },
        });
      };
      for (const n of nodes) {
        const holder = n.value.status.manager;
        const seenAt = this.lastSeen.get(n.value.id);
        if (n.value.status.state === 'down' && this.sessions.has(n.value.id) && seenAt !== undefined && now - seenAt <= this.opts.heartbeatGraceMs) {
          // Judged down (by a leader that thought this manager gone) while its session here is alive.
          this.opts.log.info(`node ${n.value.hostname} is heartbeating here; marking it ready again`);
          ops.push({ put: n.key, value: { ...n.value, status: this.readyStatus(new Date().toISOString()) }, guard: { modRevision: n.modRevision } });
          continue;
        }
        if (n.value.status.state !== 'ready') {
          this.orphanedSince.delete(n.value.id);
          continue;
        }
        if (holder !== undefined && holder !== this.opts.managerId) {
          // Another manager's to judge, unless that manager is gone.
          this.lastSeen.delete(n.value.id);
          if (!leader || live.has(holder) || live.size === 0) {
            this.orphanedSince.delete(n.value.id);
            continue;
          }
          // A live agent moves to another manager within its grace of its manager going silent; a
          // manager that lost the store goes silent one period after (see storeReachable) and its
          // record expires 2 s after its last keepalive. So one more grace after the record is gone
          // covers an agent on its way, and only a dead one is marked down.
          const since = this.orphanedSince.get(n.value.id) ?? now;
          this.orphanedSince.set(n.value.id, since);
          if (now - since > this.opts.heartbeatGraceMs) {
            this.orphanedSince.delete(n.value.id);
            down(n, 'lost its manager and did not come back', judged);
          }
          continue;
        }
        const seen = this.lastSeen.get(n.value.id);
        if (seen === undefined) {
          // Ours on record but never seen by this process (it restarted): count from now.
          if (holder === this.opts.managerId) this.lastSeen.set(n.value.id, now);
          continue;
        }
        if (now - seen <= this.opts.heartbeatGraceMs) continue;
        this.lastSeen.delete(n.value.id);
        const s = this.sessions.get(n.value.id);
        if (s) {
          this.sessions.delete(n.value.id);
          s.call.end();
        }
        down(n, 'heartbeat failure');
      }
      if (ops.length) await this.opts.store.commit(ops);
      this.storeOkAt = Date.now();
      // Only while the term lasts: a refused fence throws NotLeaderError (the election has been told).
      if (judged.length && leader) await leader.commit(judged);
    } catch (e) {
      this.opts.log.warn(`heartbeat check failed: ${(e as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  async stop(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer);
    if (this.pushTimer) clearTimeout(this.pushTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    if (this.stopWatch) await this.stopWatch();
    this.stopViewChanges?.();
    this.stopVolumeRequests?.();
    for (const s of this.sessions.values()) s.call.end();
    this.sessions.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    setTimeout(() => server?.forceShutdown(), 1000).unref();
  }
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** proto3 maps of int64 arrive as strings or Longs: numbers here, negative or odd values dropped. */
function genericOf(m: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m ?? {})) {
    const n = Number(v);
    if (Number.isSafeInteger(n) && n > 0) out[k] = n;
  }
  return out;
}
