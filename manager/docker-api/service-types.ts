/**
 * Docker Engine API v1.41 (docker 20.10) JSON shapes of the swarm's services and tasks, named as
 * Docker names them, for the Docker-compatible API (the unmodified `docker` CLI against tsswarm).
 * Only the shapes: service-spec.ts and service-object.ts convert tsswarm's model to and from them.
 *
 * Conventions of that JSON, which every converter keeps:
 * - durations are int64 nanoseconds (Go's time.Duration);
 * - Go's `omitempty`: a zero value (0, '', false, empty list or map, nil) is left out, so every
 *   field is optional here and "absent" means Docker's zero value;
 * - a few fields Docker added after v1.41 are here too (marked "after v1.41"), with Docker's later
 *   names, so newer clients can see and set what tsswarm has for them. A v1.41 client drops them
 *   when it decodes a service, and so does a request it sends back (see fromDockerServiceSpec);
 * - what tsswarm has and Docker has no field for at all is under `x-tsswarm` (DockerServiceExtension,
 *   DockerContainerExtension): shown by `docker service inspect`, ignored (and dropped) by Docker's
 *   own clients.
 */

import type { DockerVersion } from './object-types';

export type { DockerVersion };

export interface DockerDriver {
  Name?: string;
  Options?: Record<string, string>;
}

// ---- service spec ------------------------------------------------------------------------------

export interface DockerServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: DockerTaskSpec;
  Mode?: DockerServiceMode;
  UpdateConfig?: DockerUpdateConfig;
  RollbackConfig?: DockerUpdateConfig;
  /** Deprecated by Docker in favour of TaskTemplate.Networks; read when that is empty, never written. */
  Networks?: DockerNetworkAttachmentConfig[];
  EndpointSpec?: DockerEndpointSpec;
  'x-tsswarm'?: DockerServiceExtension;
}

/** Exactly one of these; the job modes exist in v1.41, tsswarm refuses them. */
export interface DockerServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export interface DockerUpdateConfig {
  /** 0: all at once. Go sends it always (no omitempty). */
  Parallelism?: number;
  Delay?: number;
  /** `pause` | `continue` | `rollback` (not in a RollbackConfig); '' is pause. */
  FailureAction?: string;
  /** Absent: the default (5 s). */
  Monitor?: number;
  MaxFailureRatio?: number;
  /** `stop-first` | `start-first`; '' is stop-first. */
  Order?: string;
}

export interface DockerEndpointSpec {
  /** `vip` | `dnsrr`; '' is vip. */
  Mode?: string;
  Ports?: DockerPortConfig[];
}

export interface DockerPortConfig {
  Name?: string;
  /** `tcp` | `udp` | `sctp`; '' is tcp. */
  Protocol?: string;
  TargetPort?: number;
  /** 0: the swarm picks one (ingress). */
  PublishedPort?: number;
  /** `ingress` | `host`; '' is ingress. */
  PublishMode?: string;
}

export interface DockerNetworkAttachmentConfig {
  /** A network id (what Docker stores and shows) or a name (what a client may send). */
  Target?: string;
  Aliases?: string[];
  DriverOpts?: Record<string, string>;
}

/** tsswarm's service settings that Docker has no field for. */
export interface DockerServiceExtension {
  /** compose `depends_on`: full service names. */
  DependsOn?: { Service: string; Condition: string }[];
  /** `auto` | `manual`. */
  Rebalance?: string;
}

// ---- task spec ---------------------------------------------------------------------------------

export interface DockerTaskSpec {
  ContainerSpec?: DockerContainerSpec;
  /** Plugin and network-attachment tasks: Docker's own internals, not services tsswarm runs. */
  PluginSpec?: unknown;
  NetworkAttachmentSpec?: unknown;
  Resources?: DockerResourceRequirements;
  RestartPolicy?: DockerRestartPolicy;
  Placement?: DockerPlacement;
  Networks?: DockerNetworkAttachmentConfig[];
  LogDriver?: DockerDriver;
  ForceUpdate?: number;
  /** `container` (or ''); `plugin` and `attachment` are Docker's internals. */
  Runtime?: string;
}

export interface DockerResourceRequirements {
  Limits?: DockerLimit;
  Reservations?: DockerResources;
}

export interface DockerLimit {
  NanoCPUs?: number;
  MemoryBytes?: number;
  Pids?: number;
}

export interface DockerResources {
  NanoCPUs?: number;
  MemoryBytes?: number;
  GenericResources?: DockerGenericResource[];
}

export interface DockerGenericResource {
  NamedResourceSpec?: { Kind?: string; Value?: string };
  DiscreteResourceSpec?: { Kind?: string; Value?: number };
}

export interface DockerRestartPolicy {
  /** `none` | `on-failure` | `any`; '' is any. */
  Condition?: string;
  Delay?: number;
  /** 0: no limit. */
  MaxAttempts?: number;
  Window?: number;
}

export interface DockerPlacement {
  Constraints?: string[];
  Preferences?: DockerPlacementPreference[];
  MaxReplicas?: number;
  Platforms?: { Architecture?: string; OS?: string }[];
}

export interface DockerPlacementPreference {
  Spread?: { SpreadDescriptor?: string };
}

// ---- container spec ----------------------------------------------------------------------------

export interface DockerContainerSpec {
  Image?: string;
  Labels?: Record<string, string>;
  /** Replaces the image's ENTRYPOINT. */
  Command?: string[];
  /** Replaces the image's CMD. */
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  Privileges?: DockerPrivileges;
  Init?: boolean;
  StopSignal?: string;
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: DockerMount[];
  StopGracePeriod?: number;
  Healthcheck?: DockerHealthConfig;
  /** `IP_address canonical_hostname [aliases...]`, as hosts(5). */
  Hosts?: string[];
  DNSConfig?: DockerDNSConfig;
  Secrets?: DockerSecretReference[];
  Configs?: DockerConfigReference[];
  /** `default` (or ''); `process` and `hyperv` are Windows'. */
  Isolation?: string;
  Sysctls?: Record<string, string>;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: DockerUlimit[];
  /** After v1.41. */
  OomScoreAdj?: number;
  'x-tsswarm'?: DockerContainerExtension;
}

export interface DockerPrivileges {
  /** Windows' managed service accounts. */
  CredentialSpec?: { File?: string; Registry?: string; Config?: string } | null;
  SELinuxContext?: { Disable?: boolean; User?: string; Role?: string; Type?: string; Level?: string } | null;
  /** After v1.41. Profile: the profile's JSON bytes, base64 as Go encodes []byte. */
  Seccomp?: { Mode?: string; Profile?: string } | null;
  /** After v1.41: `default` | `disabled`. */
  AppArmor?: { Mode?: string } | null;
  /** After v1.41. */
  NoNewPrivileges?: boolean;
}

export interface DockerMount {
  /** `bind` | `volume` | `tmpfs` (`npipe`, `cluster` are other platforms' and products'). */
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  /** Ignored by Docker on Linux. */
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; /** After v1.41. */ CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: DockerDriver };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface DockerHealthConfig {
  /** [] the image's, ["NONE"], ["CMD", args...], ["CMD-SHELL", command]. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  /** After v1.41. */
  StartInterval?: number;
  Retries?: number;
}

export interface DockerDNSConfig {
  Nameservers?: string[];
  Search?: string[];
  Options?: string[];
}

export interface DockerFileTarget {
  Name?: string;
  UID?: string;
  GID?: string;
  /** os.FileMode: the permission bits as a number (0o444 = 292). */
  Mode?: number;
}

export interface DockerSecretReference {
  File?: DockerFileTarget;
  SecretID?: string;
  SecretName?: string;
}

export interface DockerConfigReference {
  File?: DockerFileTarget;
  /** A config used as a credential spec (Windows). */
  Runtime?: Record<string, never>;
  ConfigID?: string;
  ConfigName?: string;
}

export interface DockerUlimit {
  Name?: string;
  Soft?: number;
  Hard?: number;
}

/** tsswarm's container settings that Docker's swarm has no field for (its `docker run` has them). */
export interface DockerContainerExtension {
  Privileged?: boolean;
  /** As `docker run --device`: HostConfig.Devices' shape. */
  Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  /** compose `tmpfs:`, `docker run --tmpfs`. */
  Tmpfs?: { Target: string; SizeBytes?: number; Mode?: number; Options?: string[] }[];
  /** Bytes of /dev/shm. */
  ShmSize?: number;
  /** `host`. */
  UsernsMode?: string;
}

// ---- objects -----------------------------------------------------------------------------------

export interface DockerEndpointVirtualIP {
  NetworkID: string;
  /** CIDR form: `10.0.1.2/24`. */
  Addr: string;
}

export interface DockerEndpoint {
  Spec: DockerEndpointSpec;
  Ports?: DockerPortConfig[];
  VirtualIPs?: DockerEndpointVirtualIP[];
}

export interface DockerUpdateStatus {
  /** updating, paused, completed, rollback_started, rollback_paused, rollback_completed. */
  State: string;
  StartedAt?: string;
  CompletedAt?: string;
  Message?: string;
}

export interface DockerServiceStatus {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

export interface DockerService {
  ID: string;
  Version: DockerVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: DockerServiceSpec;
  PreviousSpec?: DockerServiceSpec;
  Endpoint: DockerEndpoint;
  UpdateStatus?: DockerUpdateStatus;
  ServiceStatus?: DockerServiceStatus;
}

export interface DockerContainerStatus {
  ContainerID?: string;
  PID?: number;
  ExitCode?: number;
}

export interface DockerTaskStatus {
  Timestamp: string;
  /** new, pending, assigned, accepted, preparing, starting, running, complete, shutdown, failed, rejected, remove, orphaned. */
  State: string;
  Message: string;
  Err?: string;
  ContainerStatus: DockerContainerStatus;
  PortStatus: { Ports?: DockerPortConfig[] };
}

export interface DockerNetworkAttachment {
  /** Docker's network object (made by the networks module). */
  Network: unknown;
  /** CIDR form. */
  Addresses: string[];
}

export interface DockerTask {
  ID: string;
  Version: DockerVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Labels: Record<string, string>;
  Spec: DockerTaskSpec;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  Status: DockerTaskStatus;
  DesiredState: string;
  NetworksAttachments?: DockerNetworkAttachment[];
}
