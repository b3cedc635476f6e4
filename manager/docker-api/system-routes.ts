/**
 * `/info` and `/swarm`: what `docker info` shows and what `docker swarm ...` asks. The cluster
 * is tsswarm's; its settings are shown under Docker's names (heartbeat period, task history,
 * certificate expiry, autolock). Joining or leaving is done by `tsswarm` on the host, not
 * through this API: those requests get Docker's kind of refusal with the command to use.
 */
import * as os from 'node:os';
import type { Cluster, ClusterNode, ManagerRecord, Task } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { ConflictError, InvalidArgumentError, TsswarmError } from '../../shared/errors';
import { DEFAULT_CERT_EXPIRY_MS } from '../ca/ca-record';
import { HISTORY_LIMIT } from '../orchestrator/reaper';
import { planClusterUpdate } from '../api/cluster';
import { currentUnlockKey } from '../keys/unlock-key';
import { readJson } from '../api/http-util';
import { packageVersion } from '../../shared/package-version';
import type { ApiContext } from '../api/server';
import type { DockerContext, DockerRoute } from './server';
import { versionInfo } from './system';

const NS = 1_000_000;

/** Docker answers 503 for swarm operations a node cannot do in its state. */
class SwarmStateError extends TsswarmError {
  readonly code = 'SWARM_STATE';
  override readonly status = 503;
}

async function cluster(ctx: ApiContext): Promise<{ value: Cluster; modRevision: string }> {
  const c = await ctx.store.get<Cluster>(Keys.cluster);
  if (!c) throw new SwarmStateError('This node is not a swarm manager: the cluster is not initialised');
  return c;
}

/** Docker's ClusterInfo: the cluster's id, version and settings (SwarmSpec). */
function clusterInfo(c: { value: Cluster; modRevision: string }) {
  const v = c.value;
  return {
    ID: v.id,
    Version: { Index: Number(c.modRevision) },
    CreatedAt: v.createdAt,
    UpdatedAt: v.createdAt,
    Spec: {
      Name: 'default',
      Labels: {},
      Orchestration: { TaskHistoryRetentionLimit: v.taskHistoryLimit ?? HISTORY_LIMIT },
      // etcd's raft, not Docker's: these are what the etcd members use by default.
      Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
      Dispatcher: { HeartbeatPeriod: v.heartbeatPeriodMs * NS },
      CAConfig: { NodeCertExpiry: (v.certExpiryMs ?? DEFAULT_CERT_EXPIRY_MS) * NS },
      TaskDefaults: {},
      EncryptionConfig: { AutoLockManagers: v.autolock === true },
    },
    TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    RootRotationInProgress: false,
    DataPathPort: 4789,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
  };
}

async function swarmInfo(ctx: DockerContext) {
  const [c, nodes, managers] = await Promise.all([cluster(ctx), ctx.store.list<ClusterNode>(Keys.nodes), ctx.store.list<ManagerRecord>(Keys.managers)]);
  const self = ctx.localNodeId ? nodes.find((n) => n.value.id === ctx.localNodeId)?.value : undefined;
  return {
    NodeID: ctx.localNodeId ?? '',
    NodeAddr: self?.addr ?? '',
    LocalNodeState: 'active',
    ControlAvailable: ctx.control,
    Error: '',
    RemoteManagers: managers.map((m) => ({ NodeID: m.value.nodeId ?? m.value.id, Addr: m.value.dispatcher })),
    Nodes: nodes.length,
    Managers: nodes.filter((n) => n.value.role === 'manager').length,
    Cluster: clusterInfo(c),
  };
}

async function info(ctx: DockerContext) {
  const [swarm, tasks, images] = await Promise.all([swarmInfo(ctx), ctx.store.list<Task>(Keys.tasks), ctx.images.list().catch(() => [])]);
  // The containers of this host are the tasks its agent runs.
  const local = tasks.map((t) => t.value).filter((t) => ctx.localNodeId !== null && t.nodeId === ctx.localNodeId && t.status.state === 'running');
  const paused = local.filter((t) => t.status.paused).length;
  const version = packageVersion();
  return {
    ID: ctx.managerId,
    Containers: local.length,
    ContainersRunning: local.length - paused,
    ContainersPaused: paused,
    ContainersStopped: 0,
    Images: images.length,
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', 'extfs']],
    Plugins: { Volume: ['local'], Network: ['overlay'], Authorization: null, Log: ['json-file', 'local', 'none'] },
    MemoryLimit: true,
    SwapLimit: false,
    KernelMemory: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    BridgeNfIptables: false,
    BridgeNfIp6tables: false,
    Debug: false,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    NEventsListener: 0,
    KernelVersion: os.release(),
    OperatingSystem: `tsswarm ${version}`,
    OSVersion: '',
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { AllowNondistributableArtifactsCIDRs: [], AllowNondistributableArtifactsHostnames: [], InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: [] },
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    GenericResources: null,
    DockerRootDir: '',
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: version,
    Runtimes: { tsswarm: { path: 'tsswarm-runtime' } },
    DefaultRuntime: 'tsswarm',
    Swarm: swarm,
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: ['name=seccomp,profile=default'],
    Warnings: [],
  };
}

/** POST /swarm/update: the settings tsswarm has, from Docker's SwarmSpec (durations in ns). */
function clusterUpdateFrom(body: unknown): Parameters<typeof planClusterUpdate>[1] {
  if (typeof body !== 'object' || body === null) throw new InvalidArgumentError('expected a SwarmSpec object');
  const b = body as { Orchestration?: { TaskHistoryRetentionLimit?: unknown }; Dispatcher?: { HeartbeatPeriod?: unknown }; CAConfig?: { NodeCertExpiry?: unknown; ExternalCAs?: unknown[] } };
  if (Array.isArray(b.CAConfig?.ExternalCAs) && b.CAConfig.ExternalCAs.length > 0) throw new InvalidArgumentError('external CAs are not supported by tsswarm');
  const ms = (v: unknown, what: string): number | undefined => {
    if (v === undefined || v === null || v === 0) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`invalid ${what}: ${JSON.stringify(v)}`);
    return Math.round(v / NS);
  };
  const period = ms(b.Dispatcher?.HeartbeatPeriod, 'Dispatcher.HeartbeatPeriod');
  const history = b.Orchestration?.TaskHistoryRetentionLimit;
  return {
    ...(period !== undefined ? { heartbeatPeriodMs: period, heartbeatGraceMs: 5 * period } : {}),
    ...(typeof history === 'number' ? { taskHistoryLimit: history } : {}),
    ...(ms(b.CAConfig?.NodeCertExpiry, 'CAConfig.NodeCertExpiry') !== undefined ? { certExpiryMs: ms(b.CAConfig?.NodeCertExpiry, 'CAConfig.NodeCertExpiry')! } : {}),
  };
}

export const systemRoutes: DockerRoute[] = [
  { method: 'GET', pattern: /^\/version$/, handler: async () => versionInfo(packageVersion()) },
  { method: 'GET', pattern: /^\/info$/, handler: (ctx) => info(ctx) },
  {
    method: 'GET',
    pattern: /^\/swarm$/,
    handler: async (ctx) => {
      const c = await cluster(ctx);
      return { ...clusterInfo(c), JoinTokens: { Worker: c.value.joinTokens.worker, Manager: c.value.joinTokens.manager } };
    },
  },
  {
    method: 'POST',
    pattern: /^\/swarm\/(init|join)$/,
    handler: async () => {
      throw new SwarmStateError('This node is already part of a swarm. Use "tsswarm leave" on the host to leave it before it joins another one.');
    },
  },
  {
    method: 'POST',
    pattern: /^\/swarm\/leave$/,
    handler: async () => {
      throw new SwarmStateError('a tsswarm node leaves the cluster with "tsswarm leave" on its host, not through the Docker API');
    },
  },
  {
    method: 'POST',
    pattern: /^\/swarm\/update$/,
    handler: async (ctx, req, _p, q) => {
      if (q.get('rotateWorkerToken') === 'true' || q.get('rotateManagerToken') === 'true' || q.get('rotateManagerUnlockKey') === 'true') {
        throw new InvalidArgumentError('rotate join tokens and the unlock key with "tsswarm join-token --rotate" and "tsswarm unlock-key --rotate"');
      }
      const update = clusterUpdateFrom(await readJson(req));
      const cur = await cluster(ctx);
      const version = q.get('version');
      if (version !== null && version !== cur.modRevision) throw new ConflictError(`update out of sequence: the swarm is at version ${cur.modRevision}, not ${version}`);
      const next = planClusterUpdate(cur.value, update);
      if (!(await ctx.store.commit([{ put: Keys.cluster, value: next, guard: { modRevision: cur.modRevision } }]))) throw new ConflictError('update out of sequence: the swarm changed meanwhile');
      return undefined;
    },
  },
  {
    method: 'GET',
    pattern: /^\/swarm\/unlockkey$/,
    handler: async (ctx) => ({ UnlockKey: await currentUnlockKey(ctx.store, ctx.keys) }),
  },
  {
    method: 'POST',
    pattern: /^\/swarm\/unlock$/,
    handler: async () => {
      throw new InvalidArgumentError('swarm is not locked');
    },
  },
];
