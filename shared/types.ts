/**
 * Domain types stored in etcd (as versioned JSON) and exchanged between the
 * manager, the agents and the CLI. Fields that may be absent are explicit
 * `T | null`, never optional, so every writer states them.
 */
import type { DesiredState, TaskStateName } from './task-state';

export const SCHEMA_VERSION = 1;

/** compose `deploy.resources.reservations`: what the scheduler counts against a node's free capacity. */
export interface ResourceReservations {
  memoryBytes: number | null;
  nanoCpus: number | null;
  /** Named generic resources (`generic_resources`: discrete specs) by kind: `{ gpu: 2 }`. */
  generic: Record<string, number>;
}

export interface Resources {
  limits: ResourceLimits;
  reservations: ResourceReservations;
}

export interface Placement {
  /** `node.labels.zone == east`, as written (validated by shared/constraints.ts). */
  constraints: string[];
  /** Spread over the values of a node attribute, nested in order (`node.labels.zone`). */
  preferences: { spread: string }[];
  /** At most this many of the service's tasks on one node; 0 for no limit. */
  maxReplicas: number;
}

/** compose `deploy.restart_policy` / `--restart-*`: when a task that ended on its own is replaced (manager/orchestrator/restart.ts). */
export interface RestartPolicy {
  condition: 'none' | 'on-failure' | 'any';
  delayMs: number | null;
  maxAttempts: number | null;
  windowMs: number | null;
}

/** compose `deploy.update_config` / `rollback_config`, `--update-*` / `--rollback-*`: how a changed spec rolls out (manager/orchestrator/update/). */
export interface UpdateConfig {
  parallelism: number;
  delayMs: number;
  failureAction: 'pause' | 'continue' | 'rollback';
  monitorMs: number | null;
  maxFailureRatio: number;
  order: 'stop-first' | 'start-first';
}

/** compose `logging`: `json-file` and `local` (rotated by max-size / max-file), `none`. */
export interface LogDriver {
  name: string;
  options: Record<string, string>;
}

/** What a task runs: Docker's swarm TaskSpec. A task holds the copy it was made from. */
export interface TaskSpec {
  container: ContainerSpec;
  /**
   * The task uses its host's network namespace (compose: the predefined network `host`, as
   * `networks: {hostnet: {external: true, name: host}}`); the service then has no overlay networks.
   */
  hostNetwork: boolean;
  resources: Resources;
  placement: Placement;
  restartPolicy: RestartPolicy | null;
  logDriver: LogDriver | null;
  /** `service update --force` bumps it: a new spec digest, so every task is replaced though nothing else changed (Docker's ForceUpdate). */
  forceUpdate: number;
}

export interface ResourceLimits {
  /** Bytes of memory, or null for no limit. */
  memoryBytes: number | null;
  /** CPU in units of 1e-9 CPUs (Docker's NanoCPUs), or null for no limit. */
  nanoCpus: number | null;
  /** Maximum number of processes, or null for no limit. */
  pids: number | null;
}

export interface ContainerSpec {
  /** Normalised image reference, always with a tag or digest: `busybox:latest`. */
  image: string;
  /** Replaces the image's Cmd when not null. */
  command: string[] | null;
  /** Replaces the image's Entrypoint when not null. */
  entrypoint: string[] | null;
  /** `KEY=VALUE` entries, added to (and overriding) the image's Env. */
  env: string[];
  workingDir: string | null;
  /** `user`, `uid`, `user:group` or `uid:gid`. */
  user: string | null;
  /** Container hostname; null means the short task id. */
  hostname: string | null;
  stopGracePeriodMs: number;
  /** DNS servers for the container instead of the cluster's (compose `dns`). */
  dns: string[];
  /** Search domains of the container's resolv.conf (compose `dns_search`). */
  dnsSearch: string[];
  /** `host:ip` entries added to /etc/hosts (compose `extra_hosts`). */
  extraHosts: string[];
  /** How the container is confined and what it may do (compose cap_add, privileged, ulimits, ...). */
  runtime: RuntimeSettings;
  /** Container labels (compose `labels`); not templated. */
  labels: Record<string, string>;
  /** Binds, volumes and tmpfs mounts (compose `volumes`), in file order. */
  mounts: Mount[];
  /** Secrets given to the container, at `/run/secrets/<target>` on a tmpfs. */
  secrets: SecretReference[];
  /** Configs given to the container, read-only at their target. */
  configs: ConfigReference[];
  /** compose `healthcheck`: validated and stored; acted on by the health checker (issue 12). */
  healthcheck: HealthCheck | null;
  /** compose `tty`: the container's stdio is a terminal (Docker's TTY). Absent in records from before it. */
  tty?: boolean;
  /** compose `stdin_open`: its stdin stays open (Docker's OpenStdin) instead of /dev/null. Absent in records from before it. */
  openStdin?: boolean;
}

/** bind propagation, as mount(8) names it. */
export type BindPropagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

/**
 * One mount of a container, in the shape of Docker's swarm Mount. `source` is a host path for a
 * bind (absolute after the converter resolved it against the stack file), a volume name for a named
 * volume, '' for an anonymous volume and for tmpfs. `source` and `target` may hold templates
 * (`{{.Task.Slot}}`), expanded per task by the agent.
 */
export interface Mount {
  type: 'bind' | 'volume' | 'tmpfs';
  source: string;
  target: string;
  readOnly: boolean;
  /** bind only (null otherwise): propagation, and whether a missing source is created (compose `bind.create_host_path`). */
  bind: { propagation: BindPropagation; createHostPath: boolean } | null;
  /** volume only (null otherwise). */
  volume: VolumeOptions | null;
  /** tmpfs only (null otherwise). */
  tmpfs: { sizeBytes: number | null; mode: number | null } | null;
}

export interface VolumeOptions {
  /** Do not copy the image's files at the mount point into a new, empty volume. */
  noCopy: boolean;
  /** Labels the volume is created with. */
  labels: Record<string, string>;
  /** Driver and its options the volume is created with on a node where it does not exist yet (the stack's top-level volume). */
  driver: { name: string; options: Record<string, string> } | null;
}

/** Where and how a secret's or config's bytes appear in the container. */
export interface FileTarget {
  /** A secret: a file name under /run/secrets (or an absolute path); a config: an absolute path. */
  name: string;
  uid: string;
  gid: string;
  /** File mode, e.g. 0o444. */
  mode: number;
}

export interface SecretReference {
  secretId: string;
  secretName: string;
  file: FileTarget;
}

export interface ConfigReference {
  configId: string;
  configName: string;
  file: FileTarget;
}

/** compose `healthcheck`, Docker's HealthConfig (durations in ms; test [] means the image's). */
export interface HealthCheck {
  /** `["NONE"]`, `["CMD", ...]`, `["CMD-SHELL", "..."]`, or [] for the image's. */
  test: string[];
  intervalMs: number | null;
  timeoutMs: number | null;
  startPeriodMs: number | null;
  startIntervalMs: number | null;
  retries: number | null;
}

/** A host device given to the container (compose `devices: /dev/x:/dev/y:rwm`). */
export interface DeviceMapping {
  pathOnHost: string;
  pathInContainer: string;
  /** cgroup permissions: a subset of `rwm`. */
  permissions: string;
}

/** An rlimit (compose `ulimits`), named as Docker names them: `nofile`, `nproc`, `core`, ... */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** A tmpfs mount (compose `tmpfs: /run` or `tmpfs: /run:size=64m,mode=1770`). */
export interface TmpfsMount {
  target: string;
  sizeBytes: number | null;
  /** File mode of the mount's root, e.g. 0o1777; null for the kernel's default. */
  mode: number | null;
  /** mount(8) flags given with it (`exec`, `ro`, ...), over the default nosuid,nodev,noexec. */
  options: string[];
}

export type SeccompMode = 'default' | 'unconfined' | 'custom';

/**
 * The runtime keys of a service, each meaning what it means to Docker. Defaults (all empty / false /
 * null) are Docker's default confinement: its capability set, seccomp profile, masked paths and
 * device allowlist (agent/runtime/oci/spec.ts).
 */
export interface RuntimeSettings {
  /** Capabilities added to / dropped from Docker's default set, `CAP_NET_ADMIN` form; `ALL` allowed. */
  capAdd: string[];
  capDrop: string[];
  /** Every capability, no seccomp, every device, writable /sys and /proc. */
  privileged: boolean;
  devices: DeviceMapping[];
  /** Namespaced sysctls only (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*). */
  sysctls: Record<string, string>;
  ulimits: Ulimit[];
  /** The root filesystem read-only. */
  readOnly: boolean;
  /** A minimal init as PID 1 that forwards signals and reaps zombies. */
  init: boolean;
  tmpfs: TmpfsMount[];
  /** Size of /dev/shm; null for Docker's 64 MiB. */
  shmSizeBytes: number | null;
  /** Signal that stops the container (`SIGTERM` when null). */
  stopSignal: string | null;
  /** security_opt no-new-privileges. */
  noNewPrivileges: boolean;
  /** security_opt seccomp=unconfined | seccomp=PROFILE.json (its text in `profile`); else Docker's default profile. */
  seccomp: { mode: SeccompMode; profile: string | null };
  /** -1000..1000, null to inherit. */
  oomScoreAdj: number | null;
  /** `host`: no user namespace even where the node remaps users. */
  usernsMode: 'host' | null;
}

/** Docker's defaults: nothing added, nothing loosened. */
export function defaultRuntimeSettings(): RuntimeSettings {
  return {
    capAdd: [],
    capDrop: [],
    privileged: false,
    devices: [],
    sysctls: {},
    ulimits: [],
    readOnly: false,
    init: false,
    tmpfs: [],
    shmSizeBytes: null,
    stopSignal: null,
    noNewPrivileges: false,
    seccomp: { mode: 'default', profile: null },
    oomScoreAdj: null,
    usernsMode: null,
  };
}

export type ServiceMode = 'replicated' | 'global';

/** A service's membership of a network (compose `services.*.networks`). */
export interface ServiceNetwork {
  /** Full network name (`<stack>_<name>`, or the name as given for an external network). */
  target: string;
  aliases: string[];
}

export type PortProtocol = 'tcp' | 'udp';

/** A published port (compose `ports`, short or long syntax). */
export interface PortConfig {
  /** Port inside the containers. */
  target: number;
  /** Port on the hosts; null lets the cluster pick one (ingress) or none (host). */
  published: number | null;
  protocol: PortProtocol;
  /** `ingress`: every host answers (routing mesh); `host`: only hosts where a task runs. */
  mode: 'ingress' | 'host';
}

export interface EndpointSpec {
  mode: 'vip' | 'dnsrr';
  ports: PortConfig[];
}

export interface NetworkSpec {
  /** Full name (`<stack>_<name>` for stack networks). */
  name: string;
  stack: string | null;
  driver: 'overlay';
  /** Requested subnet (CIDR), or null to take the next free /24 of the default pool. */
  subnet: string | null;
  attachable: boolean;
  labels: Record<string, string>;
  /**
   * VXLAN traffic between hosts is encrypted (compose `driver_opts: {encrypted: ""}`, `network
   * create --opt encrypted`): ESP with AES-GCM under keys the managers make and rotate
   * (manager/network-keys/). Fixed when the network is made. Records written before this field
   * existed lack it: read them as false.
   */
  encrypted: boolean;
}

export interface Network {
  v: number;
  id: string;
  spec: NetworkSpec;
  /** Allocated at creation: the subnet, its gateway (first address) and the VXLAN id. */
  subnet: string;
  gateway: string;
  vni: number;
  /** The cluster's routing-mesh network: every node has an endpoint on it. */
  ingress: boolean;
  /** On the ingress network: node id → that node's own address on it. */
  nodeEndpoints: Record<string, string>;
  createdAt: string;
}

/** A task's address on one network, allocated by the manager. */
export interface NetworkAttachment {
  networkId: string;
  networkName: string;
  /** CIDR form: `10.0.1.5/24`. */
  address: string;
  mac: string;
  aliases: string[];
}

/** A stack file's network, before it exists in the cluster. */
export interface StackNetwork {
  /** Name as the stack file's services refer to it (`default`, `backend`, ...). */
  key: string;
  /** `external: true`: the network must exist already; nothing is created. */
  external: boolean;
  spec: NetworkSpec;
}

export interface ServiceSpec {
  /** Full service name (`<stack>_<service>` for stack services). */
  name: string;
  /** Stack (namespace) this service belongs to, or null. */
  stack: string | null;
  mode: ServiceMode;
  /** Wanted replicas; only meaningful for `replicated`. */
  replicas: number;
  /** What each task runs (Docker's TaskTemplate). */
  task: TaskSpec;
  /** Service labels (compose `deploy.labels`, and the stack's namespace label); not templated. */
  labels: Record<string, string>;
  networks: ServiceNetwork[];
  endpoint: EndpointSpec;
  update: UpdateConfig | null;
  rollback: UpdateConfig | null;
  /**
   * compose `depends_on` (Swarm ignores it): the service's first tasks start only once these
   * services of its stack are started, healthy or completed. Absent in records from before it: none.
   */
  dependsOn?: ServiceDependency[];
  /**
   * `deploy.x-tsswarm.rebalance`: `auto` moves replicas onto emptier nodes by itself once the
   * spread has been uneven for a while (a node joined or came back); `manual` (and absent) only on
   * `service rebalance`. Not part of the spec digest: changing it restarts nothing.
   */
  rebalance?: 'auto' | 'manual';
}

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ServiceDependency {
  /** Full service name (`<stack>_<service>`). */
  service: string;
  condition: DependencyCondition;
}

/** Where a rolling update (or a rollback) of a service stands, as Swarm's UpdateStatus. */
export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface UpdateStatus {
  state: UpdateState;
  startedAt: string;
  completedAt: string | null;
  message: string;
  /** A rebalance, not a new spec: its failures pause it (there is nothing to roll back to) and it is always start-first. */
  rebalance?: boolean;
}

export interface Service {
  v: number;
  id: string;
  spec: ServiceSpec;
  /** Bumped whenever the spec digest changes; tasks record the version they were made from. */
  specVersion: number;
  /**
   * sha256 of the part of the spec a container is made from (task template, networks, endpoint:
   * shared/service-versions.ts). A task whose digest differs is out of date and is replaced by the
   * updater; a change of anything else (replicas, labels, update_config) restarts nothing.
   */
  specDigest: string;
  /** The spec before the last change of digest, for `service rollback` (Swarm's PreviousSpec). */
  previousSpec: ServiceSpec | null;
  /** The rolling update the last change of digest started; null for a service never updated. */
  updateStatus: UpdateStatus | null;
  /** Virtual IPs (endpoint mode vip), one per network, allocated by the manager. */
  vips: { networkId: string; address: string }[];
  /** `service pause`: its tasks, new ones too, are frozen (not part of the spec: no new version). */
  paused: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface TaskStatus {
  state: TaskStateName;
  message: string;
  /** Why the task failed or was rejected, for `service ps`. */
  err: string | null;
  timestamp: string;
  /** Host PID of the container's first process while it runs. */
  pid: number | null;
  exitCode: number | null;
  /** The agent froze the running container (cgroup freezer): shown as state `paused`. */
  paused: boolean;
  /** The health check's verdict while the task runs, null without a check. Absent in records from before health checks. */
  health?: HealthState | null;
  /** The health check's last results (kept for inspect); absent without a check. */
  healthLog?: HealthProbe[];
}

export type HealthState = 'starting' | 'healthy' | 'unhealthy';

/** One run of a health check (Docker's HealthcheckResult). */
export interface HealthProbe {
  start: string;
  end: string;
  /** -1 when it timed out or could not run. */
  exitCode: number;
  /** Its stdout and stderr, at most 4 KiB. */
  output: string;
}

export interface Task {
  v: number;
  id: string;
  serviceId: string;
  serviceName: string;
  /** Replica slot (1-based) for replicated services; null for global tasks. */
  slot: number | null;
  /** Node the scheduler placed the task on (always set for global tasks). */
  nodeId: string | null;
  desiredState: DesiredState;
  specVersion: number;
  /** The service's spec digest when the task was made; '' in records from before digests (then specVersion decides). */
  specDigest: string;
  /** When the slot's (or node's) earlier tasks of this spec were restarted after ending on their own: the restart policy's count. */
  restarts: string[];
  /** The service's task template when the task was made. */
  spec: TaskSpec;
  /** Addresses on the service's networks; allocated while the task is `new`. */
  networks: NetworkAttachment[];
  /** Desired (the manager's): frozen while running (`service pause`, `task pause`). */
  paused: boolean;
  /**
   * A rebalance chose it to move to an emptier node (manager/orchestrator/rebalance.ts): it counts
   * as out of date, so the updater replaces it start-first, and it runs until its replacement is
   * ready. Absent: stays where it is.
   */
  move?: boolean;
  status: TaskStatus;
  createdAt: string;
}

export type NodeRole = 'manager' | 'worker';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'ready' | 'down';

export interface NodeResources {
  nanoCpus: number;
  memoryBytes: number;
  /** Generic resources the agent offers (`--generic-resource gpu=2`), by kind. Absent in records from before them. */
  generic?: Record<string, number>;
}

export interface ClusterNode {
  v: number;
  id: string;
  hostname: string;
  addr: string;
  role: NodeRole;
  availability: NodeAvailability;
  /** manager: the manager holding the node's session; it judges the node's heartbeats. */
  status: { state: NodeState; message: string; timestamp: string; manager?: string };
  resources: NodeResources;
  /** The operator's labels (`node update --label-add`): constraints `node.labels.<key>`. */
  labels: Record<string, string>;
  /** The agent's own `--label`s: constraints `engine.labels.<key>`. Absent in records from before them. */
  engineLabels?: Record<string, string>;
  /** `linux` / `amd64`, Docker's names: constraints `node.platform.os|arch`. Absent in records from before them. */
  platform?: { os: string; architecture: string };
  createdAt: string;
}

export interface Stack {
  v: number;
  name: string;
  /** Service ids of the stack. */
  services: string[];
  createdAt: string;
  updatedAt: string;
}

export interface Cluster {
  v: number;
  id: string;
  createdAt: string;
  /** How often agents heartbeat, and how long a node may stay silent before it is down. */
  heartbeatPeriodMs: number;
  heartbeatGraceMs: number;
  /** Secrets a joining node presents (`SWMTKN-1-<root CA digest>-<secret>`), one per role. */
  joinTokens: { worker: string; manager: string };
  /** Validity of the node certificates the CA issues (`--cert-expiry`; absent: 90 days). */
  certExpiryMs?: number;
  /** `init --autolock`: managers keep the data key wrapped by the operator's unlock key only. */
  autolock?: boolean;
  /** Ended tasks kept per slot (or node) for `service ps` (`update --task-history-limit`; absent: 5, as Swarm). */
  taskHistoryLimit?: number;
  /** Disk use (percent) above which nodes remove unused images (`update --image-gc-threshold`; absent: 85; 100: never). */
  imageGcThresholdPercent?: number;
  /** Other registries (`update --registry-mirror`, `--insecure-registry`); absent: none of either. */
  registries?: { mirrors?: string[]; insecure?: string[] };
  /** With autolock: the unlock key, sealed under the data key (manager/keys/seal.ts), for managers that join. */
  unlockKey?: { alg: 'A256GCM'; nonce: string; data: string };
}

/** `image prune` as every manager sees it (Keys.imagePrune): a new id is a prune to do on its own store. */
export interface ImagePruneRecord {
  v: number;
  id: string;
  /** `-a`: every image nothing uses, not only dangling ones. */
  all: boolean;
  requestedAt: string;
}

/** Cluster.imageGcThresholdPercent when it is absent (kubelet's default high threshold). */
export const DEFAULT_IMAGE_GC_PERCENT = 85;

/** A node removed from the cluster (Keys.revoked): its certificate is refused from then on. */
export interface RevokedNode {
  v: number;
  id: string;
  hostname: string;
  revokedAt: string;
}

/**
 * A running manager, kept under a lease so it disappears when the manager
 * dies: agents are told these addresses, and the leader judges the nodes
 * whose session was with a manager that is gone.
 */
export interface ManagerRecord {
  v: number;
  id: string;
  /** The node the manager runs beside (its host's agent). */
  nodeId: string | null;
  /** Dispatcher address agents connect to (IP:PORT). */
  dispatcher: string;
  /** Its image registry (http://IP:PORT). */
  registry: string;
  startedAt: string;
}

/** An image imported through some manager, which the others copy (manager/registry/replicate.ts). */
export interface ImageRecord {
  ref: string;
  digest: string;
  /** The registry of the manager it was imported through. */
  registry: string;
  importedAt: string;
  /** Pulled from the registry its name points at (absent: imported or built in the cluster). */
  pulled?: boolean;
}

/** A secret or a config: a named, immutable blob (Docker's SecretSpec / ConfigSpec). */
export interface BlobSpec {
  /** Full name (`<stack>_<name>` for a stack's own). */
  name: string;
  labels: Record<string, string>;
}

/**
 * A secret or config as stored (Keys.secrets / Keys.configs): the bytes sealed under the cluster's
 * data key (manager/keys/seal.ts, the etcd key as associated data), never in plain text.
 */
export interface StoredBlob {
  v: number;
  id: string;
  spec: BlobSpec;
  sealed: { alg: 'A256GCM'; nonce: string; data: string };
  /** sha256 of the plain bytes, `sha256:<hex>`: lets a redeploy see the content is unchanged. */
  digest: string;
  createdAt: string;
  updatedAt: string;
}

/** A stack file's top-level secret or config, before it exists in the cluster. */
export interface StackBlob {
  /** Name as the stack file's services refer to it. */
  key: string;
  /** `external: true`: it must exist already under `spec.name`; `data` is null. */
  external: boolean;
  spec: BlobSpec;
  /** The bytes (from `file:`, `environment:` or `content:`), base64; null for an external one. */
  data: string | null;
}

/** A local volume on one node, as its agent reports it (`volume ls` / `inspect`). */
export interface VolumeInfo {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** The host directory containers mount. */
  mountpoint: string;
  createdAt: string;
  /** Made for one task (an anonymous volume or an image VOLUME) and removed with it. */
  anonymous: boolean;
  /** Tasks of that node that mount it. */
  inUse: string[];
}

/** A node's volumes, as its agent last reported them (Keys.nodeVolumes). */
export interface NodeVolumes {
  v: number;
  nodeId: string;
  volumes: VolumeInfo[];
  updatedAt: string;
}

/**
 * `volume create|rm|prune` (and `image prune`, the node's other local store) for one node
 * (Keys.volumeRequest): the API writes it, the manager
 * holding that node's session hands it to the agent and writes the agent's answer in `result`,
 * which the API waits for and then deletes. The store carries the request, so the API answers
 * on any manager, whichever holds the node's session.
 */
export interface VolumeRequest {
  v: number;
  id: string;
  nodeId: string;
  /** `image-prune`: the images no task of the node uses (agent/image/gc.ts); `removed` lists their refs. */
  op: 'create' | 'remove' | 'prune' | 'image-prune';
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  force: boolean;
  /** prune: named volumes too, not only anonymous ones. */
  all: boolean;
  createdAt: string;
  result: { error: string | null; removed: string[] } | null;
}

/**
 * A service's `build:` (Docker Swarm ignores it; tsswarm builds the image before the deploy and
 * stores it in the cluster registry under `image`).
 */
export interface StackBuild {
  /** The service's full name (`<stack>_<service>`). */
  service: string;
  /** The tag the image gets: the service's `image`, or `<stack>-<service>:latest` (compose's name). */
  image: string;
  /** Absolute. */
  context: string;
  /** Relative to the context, or absolute; null for `Dockerfile`. */
  dockerfile: string | null;
  args: Record<string, string>;
  target: string | null;
  network: 'host' | 'none' | null;
  noCache: boolean;
}

/** What the compose loader produces for one stack file. */
export interface StackDeployment {
  name: string;
  services: ServiceSpec[];
  /** The services to build first (absent: none). */
  builds?: StackBuild[];
  networks: StackNetwork[];
  secrets: StackBlob[];
  configs: StackBlob[];
  warnings: string[];
}
