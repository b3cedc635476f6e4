/**
 * Domain types stored in etcd (as versioned JSON) and exchanged between the
 * manager, the agents and the CLI. Fields that may be absent are explicit
 * `T | null`, never optional, so every writer states them.
 */
import type { DesiredState, TaskStateName } from './task-state';

export const SCHEMA_VERSION = 1;

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
  /** `host:ip` entries added to /etc/hosts (compose `extra_hosts`). */
  extraHosts: string[];
  /** How the container is confined and what it may do (compose cap_add, privileged, ulimits, ...). */
  runtime: RuntimeSettings;
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
  container: ContainerSpec;
  limits: ResourceLimits;
  labels: Record<string, string>;
  networks: ServiceNetwork[];
  endpoint: EndpointSpec;
}

export interface Service {
  v: number;
  id: string;
  spec: ServiceSpec;
  /** Bumped on every spec change; tasks record the version they were made from. */
  specVersion: number;
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
  spec: ContainerSpec;
  limits: ResourceLimits;
  /** Addresses on the service's networks; allocated while the task is `new`. */
  networks: NetworkAttachment[];
  /** Desired (the manager's): frozen while running (`service pause`, `task pause`). */
  paused: boolean;
  status: TaskStatus;
  createdAt: string;
}

export type NodeRole = 'manager' | 'worker';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'ready' | 'down';

export interface NodeResources {
  nanoCpus: number;
  memoryBytes: number;
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
  labels: Record<string, string>;
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
  /** With autolock: the unlock key, sealed under the data key (manager/keys/seal.ts), for managers that join. */
  unlockKey?: { alg: 'A256GCM'; nonce: string; data: string };
}

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
}

/** What the compose loader produces for one stack file. */
export interface StackDeployment {
  name: string;
  services: ServiceSpec[];
  networks: StackNetwork[];
  warnings: string[];
}
