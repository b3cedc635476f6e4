/** Shapes the REST API returns and the CLI prints (`--format json` field names are stable). */
import type { ServiceSpec, StackBlob, StackNetwork, UpdateStatus, VolumeInfo } from './types';

export interface ServiceView {
  id: string;
  name: string;
  stack: string | null;
  mode: 'replicated' | 'global';
  desired: number;
  running: number;
  /** Running tasks made from the current spec: `running` once an update is through. */
  upToDate: number;
  image: string;
  specVersion: number;
  /** The last rolling update's state (`updating`, `paused`, `completed`, `rollback_*`), null if never updated. */
  update: UpdateStatus | null;
  /** What its start waits for (`depends_on`): `waiting for app_db to be healthy (0/1)`; null when nothing. */
  waitingFor: string | null;
  /** Slots whose task ended and stays so under the restart policy (exit 0 under on-failure, none, max_attempts). */
  ended: number;
}

/**
 * How a service's image tag becomes a digest (`manager/registry/resolve.ts`): `always` asks its
 * registry, `changed` only when the tag is not the one the service ran, `never` takes what the
 * cluster has (`--no-resolve-image`).
 */
export type ResolveImageMode = 'always' | 'changed' | 'never';

/** Registry credentials the CLI sends for the images of a request, by registry host (`docker.io`, `host:5000`). */
export type RegistryAuthMap = Record<string, { username: string; password: string }>;

/** `POST /v1/services`: a service outside a stack file (`service create`). */
export interface ServiceCreateRequest {
  spec: ServiceSpec;
  resolveImage?: ResolveImageMode;
  registryAuth?: RegistryAuthMap;
  /** `--with-registry-auth`: keep the credential for the image's registry with the service, for its tasks' later pulls. */
  withRegistryAuth?: boolean;
}

/** `POST /v1/services/{id}/update`: the whole new spec; `version`, when given, must be the specVersion it was made from. */
export interface ServiceUpdateRequest {
  spec: ServiceSpec;
  version?: number | null;
  /** Absent: `changed` (the tag is asked of its registry only when it is not the one the service ran). */
  resolveImage?: ResolveImageMode;
  registryAuth?: RegistryAuthMap;
  /** `--with-registry-auth`: keep the credential for the image's registry with the service, for its tasks' later pulls. */
  withRegistryAuth?: boolean;
}

export interface ServiceWriteResult {
  id: string;
  name: string;
  specVersion: number;
  updateStatus: UpdateStatus | null;
  warnings: string[];
}

export interface TaskView {
  id: string;
  name: string;
  service: string;
  slot: number | null;
  node: string | null;
  nodeId: string | null;
  desiredState: string;
  state: string;
  message: string;
  error: string | null;
  pid: number | null;
  exitCode: number | null;
  /** The health check's state while running (`starting`, `healthy`, `unhealthy`), null without one. */
  health: string | null;
  /** Made from the service's current spec. */
  current: boolean;
  specVersion: number;
  image: string;
  createdAt: string;
  updatedAt: string;
}

export interface NodeView {
  id: string;
  hostname: string;
  addr: string;
  status: string;
  availability: string;
  manager: string | null;
  role: string;
  cpus: number;
  memoryBytes: number;
  labels: Record<string, string>;
  /** The agent's own labels (`init`/`join --label`). */
  engineLabels: Record<string, string>;
  platform: { os: string; architecture: string };
  genericResources: Record<string, number>;
}

/** POST /v1/cluster/update (`tsswarm update`). */
export interface ClusterUpdateRequest {
  heartbeatPeriodMs?: number;
  heartbeatGraceMs?: number;
  /** Validity of node certificates issued from now on (each node renews in its second half). */
  certExpiryMs?: number;
  /** Ended tasks kept per slot for `service ps` (`--task-history-limit`). */
  taskHistoryLimit?: number;
  /** Replaces the mirrors tried before Docker Hub (`--registry-mirror URL`, repeated; empty: none). */
  registryMirrors?: string[];
  /** Replaces the registries reached without TLS verification (`--insecure-registry host:port`). */
  insecureRegistries?: string[];
  /** Disk use in percent above which nodes remove unused images (`--image-gc-threshold`, 1-100; 100: never). */
  imageGcThresholdPercent?: number;
}

/** POST /v1/nodes/:ref/update; every field optional, all applied or none. */
export interface NodeUpdateRequest {
  availability?: 'active' | 'pause' | 'drain';
  labelAdd?: Record<string, string>;
  labelRm?: string[];
  role?: 'manager' | 'worker';
}

export interface StackView {
  name: string;
  services: number;
}

/** POST /v1/registry/login: credentials the manager checks against the registry (`tsswarm login`). */
export interface LoginRequest {
  /** `host[:port]`, `docker.io` for Docker Hub. */
  registry: string;
  username: string;
  password: string;
}

/** One line of `POST /v1/images/pull`'s answer: what a pull is doing, per layer as `docker pull` shows it. */
export interface PullProgress {
  /** The layer's short id (12 hex digits), absent for lines about the whole image. */
  id?: string;
  status: string;
  current?: number;
  total?: number;
}

/** `GET /v1/images/inspect` (`tsswarm image inspect`): what the cluster holds under a reference. */
export interface ImageInspect {
  ref: string;
  /** Of what the reference names: a manifest, or an index. */
  digest: string;
  mediaType: string;
  /** `import`: imported or tagged in the cluster; `pull`: from the registry its name points at. */
  source: 'import' | 'pull';
  size: number;
  created: string | null;
  /** This host's platform's image, which the fields below describe. */
  architecture: string;
  os: string;
  /** For an index: its entries (the cluster holds those of its nodes' platforms). */
  platforms: Array<{ digest: string; platform: string | null }> | null;
  /** The image config's `config` (Entrypoint, Cmd, Env, WorkingDir, User, Volumes, Healthcheck, ...). */
  config: Record<string, unknown>;
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  history: unknown[];
  /** Services pinned to it. */
  usedBy: string[];
}

export interface ImageView {
  ref: string;
  digest: string;
  size: number;
  created: string;
}

export interface DeployRequest {
  services: ServiceSpec[];
  networks: StackNetwork[];
  /** The stack's secrets and configs (absent from older clients: none). */
  secrets?: StackBlob[];
  configs?: StackBlob[];
  prune: boolean;
  /** `deploy --resolve-image` (absent: always, as Docker). */
  resolveImage?: ResolveImageMode;
  registryAuth?: RegistryAuthMap;
  /** `--with-registry-auth`: keep the credential for the image's registry with the service, for its tasks' later pulls. */
  withRegistryAuth?: boolean;
}

/** POST /v1/secrets, /v1/configs (`secret create NAME FILE|-`). */
export interface BlobCreateRequest {
  name: string;
  labels: Record<string, string>;
  /** The bytes, base64. */
  data: string;
}

/** A secret or config as `ls`/`inspect` show it: never a secret's bytes. */
export interface BlobView {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  /** Services that use it. */
  usedBy: string[];
  /** A config's bytes, base64 (Docker's config inspect shows them); never set for a secret. */
  data?: string;
}

export interface DeployResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
  /** What deployed but will not run yet, as Swarm warns: a reservation no node can hold, a constraint no node meets. */
  warnings?: string[];
}

export interface ScaleRequest {
  scales: Record<string, number>;
}

export interface InfoView {
  clusterId: string;
  managerId: string;
  leader: boolean;
  version: string;
}

export interface NetworkView {
  id: string;
  name: string;
  driver: string;
  scope: 'swarm';
  subnet: string;
  gateway: string;
  vni: number;
  attachable: boolean;
  stack: string | null;
  /** VXLAN between hosts is encrypted (`--opt encrypted`). */
  encrypted: boolean;
}

export interface NetworkCreateRequest {
  name: string;
  driver: string;
  subnet: string | null;
  attachable: boolean;
  labels: Record<string, string>;
  /** Absent (a client older than encrypted networks): false. */
  encrypted?: boolean;
}

/** POST /v1/ca/client-cert: sign an operator's CSR for the TCP API (OU tsswarm-client). */
export interface ClientCertRequest {
  csrPem: string;
  expiryMs?: number;
}

/** GET /v1/ca, POST /v1/ca/rotate: the CA's state. */
export interface CaView {
  /** A root rotation is under way. */
  rotating: boolean;
  /** Digest of the root that signs certificates now. */
  root: string;
  /** Nodes (not down) whose certificate is not yet from that root. */
  pending: { id: string; hostname: string }[];
  nodes: number;
  certExpiryMs: number;
}

/** A volume on one node, as `volume ls` / `inspect` show it. */
export interface VolumeView extends VolumeInfo {
  node: string;
  nodeId: string;
}

/** POST /v1/volumes (`volume create`). */
export interface VolumeCreateRequest {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** Node id or hostname; null: the node of the manager answering. */
  node: string | null;
}

export type EventType = 'service' | 'task' | 'node' | 'network' | 'secret' | 'config';

/** One of `tsswarm events`' lines, in the shape of Docker's events (lower-case field names). */
export interface ClusterEvent {
  type: EventType;
  action: 'create' | 'update' | 'remove';
  actor: { id: string; attributes: Record<string, string> };
  scope: 'swarm';
  /** Seconds since the epoch, and nanoseconds (Docker's time and timeNano). */
  time: number;
  timeNano: number;
}

/**
 * One JSON line of `GET /v1/services/:ref/logs` or `/v1/tasks/:ref/logs`: a task (its name
 * `service.slot` and node, before its first line), a line of its log, or a notice (a node went down,
 * a stream broke off, a task has no log).
 */
export type LogEvent =
  | { kind: 'task'; id: string; name: string; node: string; nodeId: string }
  | { kind: 'line'; task: string; time: string; stream: 'stdout' | 'stderr'; text: string }
  | { kind: 'notice'; time: string; text: string; task?: string; node?: string };

/** The first message of an exec's WebSocket (`GET /v1/tasks/:ref/exec`, manager/api/exec-route.ts). */
export interface ExecStart {
  args: string[];
  env?: string[];
  /** A name or uid[:gid] of the container's; absent: the container's user. */
  user?: string;
  workdir?: string;
  tty?: boolean;
  /** The client sends stdin (-i). */
  stdin?: boolean;
  rows?: number;
  cols?: number;
}

/** What `service rebalance` did for one service (`POST /v1/services/:ref/rebalance`, `POST /v1/rebalance`). */
export interface RebalanceResult {
  name: string;
  /** A rebalance began (or a paused one went on). */
  started: boolean;
  /** Not started because it cannot be now (an update under way); a balanced service is not refused. */
  refused: boolean;
  message: string;
  moves: number;
}

/** POST /v1/images/prune: what went, from the cluster registry (node null) and from each node's cache. */
export interface ImagePruneResult {
  removed: { node: string | null; ref: string }[];
  /** Nodes that could not be asked or failed, one line each. */
  errors: string[];
}
