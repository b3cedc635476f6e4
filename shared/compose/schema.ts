/**
 * Which keys exist at each level of a compose file, and which of them tsswarm
 * acts on. The split matters to the user: a key of the compose spec that we
 * do not implement yet is a warning (the file still deploys, like docker's
 * "Ignoring unsupported options"), while a key the spec does not know is
 * almost always a typo and is an error.
 */

export interface KeySet {
  /** Keys the loader reads and validates. */
  readonly supported: ReadonlySet<string>;
  /** Keys of the compose spec that are accepted but ignored, with a warning. */
  readonly unsupported: ReadonlySet<string>;
  /** Whether `x-*` extension keys are allowed here (ignored silently). */
  readonly extensions: boolean;
}

export type KeyKind = 'supported' | 'unsupported' | 'extension' | 'unknown';

function keySet(supported: string[], unsupported: string[], extensions = true): KeySet {
  return { supported: new Set(supported), unsupported: new Set(unsupported), extensions };
}

export const TOP_LEVEL = keySet(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs'], ['include', 'models']);

/**
 * The ignored ones are those `docker stack deploy` ignores too, except the two
 * Swarm does pass on that the service model has no field for: the Windows-only
 * `credential_spec` and `isolation`.
 */
export const SERVICE = keySet(
  [
    'image', 'command', 'entrypoint', 'environment', 'env_file', 'working_dir', 'user', 'hostname', 'stop_grace_period',
    'deploy', 'depends_on', 'networks', 'ports', 'dns', 'dns_search', 'extra_hosts', 'labels', 'volumes', 'secrets', 'configs',
    'healthcheck', 'logging', 'tty', 'stdin_open', 'build',
    // the runtime keys (runtime-keys.ts)
    'cap_add', 'cap_drop', 'privileged', 'devices', 'sysctls', 'ulimits', 'read_only', 'init', 'tmpfs', 'shm_size',
    'stop_signal', 'security_opt', 'oom_score_adj', 'userns_mode',
  ],
  [
    'annotations', 'attach', 'blkio_config', 'cgroup', 'cgroup_parent', 'container_name', 'cpu_count',
    'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset',
    'credential_spec', 'develop', 'device_cgroup_rules', 'dns_opt', 'domainname',
    'expose', 'extends', 'external_links', 'gpus', 'group_add', 'ipc', 'isolation', 'label_file', 'links',
    'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit', 'models', 'network_mode',
    'oom_kill_disable', 'pid', 'pids_limit', 'platform', 'post_start', 'pre_stop', 'profiles', 'provider',
    'pull_policy', 'restart', 'runtime', 'scale', 'storage_opt', 'use_api_socket', 'uts',
    'volumes_from',
  ],
);

/** `build:` as a mapping: what `tsswarm build` takes; BuildKit's extras are ignored with a warning. */
export const BUILD = keySet(
  ['context', 'dockerfile', 'args', 'target', 'network', 'no_cache'],
  ['additional_contexts', 'cache_from', 'cache_to', 'dockerfile_inline', 'entitlements', 'extra_hosts', 'isolation', 'labels', 'platforms', 'privileged', 'pull', 'secrets', 'shm_size', 'ssh', 'tags', 'ulimits'],
);

export const DEPLOY = keySet(
  ['mode', 'replicas', 'resources', 'endpoint_mode', 'labels', 'placement', 'restart_policy', 'rollback_config', 'update_config'],
  [],
);

export const RESOURCES = keySet(['limits', 'reservations'], []);

export const LIMITS = keySet(['cpus', 'memory', 'pids'], []);

/** `devices` is compose's way to ask for GPUs, which `docker stack deploy` does not read either. */
export const RESERVATIONS = keySet(['cpus', 'memory', 'generic_resources'], ['devices']);

/** One entry of `generic_resources`. */
export const GENERIC_RESOURCE = keySet(['discrete_resource_spec', 'named_resource_spec'], []);
export const RESOURCE_SPEC = keySet(['kind', 'value'], [], false);

export const PLACEMENT = keySet(['constraints', 'preferences', 'max_replicas_per_node'], []);
export const PREFERENCE = keySet(['spread'], [], false);

export const RESTART_POLICY = keySet(['condition', 'delay', 'max_attempts', 'window'], []);
export const UPDATE_CONFIG = keySet(['parallelism', 'delay', 'failure_action', 'monitor', 'max_failure_ratio', 'order'], []);

export const HEALTHCHECK = keySet(['test', 'interval', 'timeout', 'start_period', 'start_interval', 'retries', 'disable'], []);

export const LOGGING = keySet(['driver', 'options'], []);

/** The long form of an `env_file` entry; `format` names a parser other than the dotenv one. */
export const ENV_FILE = keySet(['path', 'required'], ['format'], false);

/**
 * The long syntax of a service's `volumes` entry. `consistency` (macOS file sharing) means nothing
 * on Linux and is accepted silently, as docker does; `bind.selinux` relabels for SELinux, which
 * tsswarm does not apply; `volume.subpath` is not in the service model yet.
 */
export const SERVICE_VOLUME = keySet(['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs'], []);
export const SERVICE_VOLUME_BIND = keySet(['propagation', 'create_host_path'], ['selinux']);
export const SERVICE_VOLUME_VOLUME = keySet(['nocopy'], ['subpath']);
export const SERVICE_VOLUME_TMPFS = keySet(['size', 'mode'], []);

/** One entry of the top-level `volumes:`. */
export const VOLUME = keySet(['driver', 'driver_opts', 'external', 'name', 'labels'], []);

/**
 * One entry of the top-level `secrets:` / `configs:`. `driver` and `driver_opts` (secrets from a
 * plugin) are read only to refuse them, `template_driver` only to warn: neither can be ignored
 * silently, since Swarm acts on them.
 */
export const SECRET = keySet(['file', 'environment', 'external', 'name', 'labels', 'driver', 'driver_opts', 'template_driver'], []);
export const CONFIG = keySet(['file', 'environment', 'content', 'external', 'name', 'labels', 'template_driver'], []);

/** The long form of a service's `secrets` / `configs` entry. */
export const FILE_REFERENCE = keySet(['source', 'target', 'uid', 'gid', 'mode'], []);

/** The long form of `depends_on: { db: { condition: ..., restart: ..., required: ... } }`. */
export const DEPENDS_ON_ENTRY = keySet(['condition', 'restart', 'required'], [], false);

/** One entry of the top-level `networks:` mapping. */
export const NETWORK = keySet(
  ['driver', 'driver_opts', 'attachable', 'external', 'name', 'ipam', 'labels'],
  ['internal', 'enable_ipv4', 'enable_ipv6'],
);

export const IPAM = keySet(['config', 'driver'], ['options']);

/** One entry of `ipam.config`. */
export const IPAM_CONFIG = keySet(['subnet'], ['ip_range', 'gateway', 'aux_addresses']);

/** The long form of `services.*.networks: { front: { aliases: [...] } }`. */
export const SERVICE_NETWORK = keySet(
  ['aliases'],
  ['ipv4_address', 'ipv6_address', 'link_local_ips', 'mac_address', 'priority', 'gw_priority', 'driver_opts', 'interface_name'],
);

/**
 * The long form of a `ports` entry. `host_ip` is read only to refuse it:
 * swarm publishes on every address of a node.
 */
export const PORT = keySet(['target', 'published', 'protocol', 'mode', 'host_ip'], ['name', 'app_protocol']);

export const DEPENDS_ON_CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;

export function classifyKey(set: KeySet, key: string): KeyKind {
  if (set.supported.has(key)) return 'supported';
  if (set.unsupported.has(key)) return 'unsupported';
  if (set.extensions && key.startsWith('x-')) return 'extension';
  return 'unknown';
}
