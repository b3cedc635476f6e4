/**
 * A container's OCI config.json, built from what the agent knows of its task: the one place where
 * every default of a container is decided (Docker's defaults, docker-defaults.ts) and every runtime
 * key of its service is applied (capabilities, privileged, devices, sysctls, ulimits, read_only,
 * init, tmpfs, shm_size, security_opt, oom_score_adj; tty and stdin_open), and the task's mounts (resolved by the
 * executor) are put in order among the standard ones. Pure: what it needs from the host comes in
 * `HostFacts`, so it is unit-tested without root.
 */
import type { DeviceMapping, RuntimeSettings, TmpfsMount } from '../../../shared/types';
import { parseSeccompProfile } from '../../../shared/seccomp-profile';
import { capabilityName } from '../../../shared/capabilities';
import { ULIMIT_NAMES } from '../../../shared/runtime-names';
import { InvalidContainerConfigError } from '../errors';
import type { ContainerLog, RuntimeLimits, UsernsRemap } from '../types';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_DEVICE_RULES,
  DEFAULT_PATH,
  DEFAULT_RLIMITS,
  DEFAULT_SHM_BYTES,
  INIT_PATH,
  MASKED_PATHS,
  READONLY_PATHS,
  standardMounts,
} from './docker-defaults';
import { ociSeccomp, defaultOciSeccomp } from './seccomp';
import type { OciDevice, OciDeviceRule, OciMount, OciNamespace, OciRlimit, OciSpec } from './spec-types';
import type { Identity } from './user';

/** What the builder needs to know of the container. */
export interface SpecInput {
  id: string;
  /** Full argv (entrypoint + command resolved). */
  args: string[];
  env: string[];
  cwd: string;
  hostname: string;
  identity: Identity;
  limits: RuntimeLimits;
  /** A prepared network namespace to join, or null for a new one with only `lo`. */
  netns: string | null;
  runtime: RuntimeSettings;
  /** `<parent>/<id>` relative to the cgroup root(s). */
  cgroupsPath: string;
  /** The node's remapping, when it applies to this container (usernsForContainer); null: the host's ids. */
  userns: UsernsRemap | null;
  /** The task's mounts with host paths resolved (ContainerConfig.mounts). */
  mounts: OciMount[];
  /** The container's log file and how it is written (ContainerConfig.logPath, .log). */
  logPath: string;
  log: ContainerLog;
  /** process.terminal (ContainerConfig.tty). */
  tty: boolean;
  /** ContainerConfig.openStdin: the stdin annotation. */
  openStdin: boolean;
}

/**
 * The annotations through which config.json tells the shim what to do with the container's stdout
 * and stderr (native/src/oci-config.h, LogConfig). Runtime-spec annotations: another runtime run on
 * the same bundle ignores them and writes the file it is given, as it does without them.
 */
export const LOG_ANNOTATIONS = {
  driver: 'tsswarm.log.driver',
  path: 'tsswarm.log.path',
  maxSize: 'tsswarm.log.max-size',
  maxFile: 'tsswarm.log.max-file',
  /** `cri`: framed records, stdout and stderr apart (ContainerLog.framed); absent: the raw bytes. */
  format: 'tsswarm.log.format',
} as const;

/** The one value of LOG_ANNOTATIONS.format the shim knows. */
export const FRAMED_LOG_FORMAT = 'cri';

/**
 * `tsswarm.stdin: open`: the container's stdin is a pipe the shim holds open for the container's
 * life and never writes (compose `stdin_open` without `tty`), instead of the runtime's own stdin
 * (the agent's /dev/null). Another runtime ignores it. With process.terminal stdin is the pty.
 */
export const STDIN_ANNOTATION = 'tsswarm.stdin';

/** The shim's bound on max-file (oci-config.cc): each rotation renames every file once. */
export const MAX_LOG_FILES = 1_000_000;

/**
 * The log annotations of a container: none for a plain file (the bundle is exactly what it was
 * before logs could rotate, and the start path does no more), the path and both limits for a
 * rotated one, the driver for `none`. Framed adds the format; a framed plain file is the path and
 * the format without a size, which the shim reads as one file it relays without limit.
 */
export function logAnnotations(logPath: string, log: ContainerLog): Record<string, string> {
  switch (log.kind) {
    case 'file':
      return log.framed === true ? { [LOG_ANNOTATIONS.path]: logPath, [LOG_ANNOTATIONS.format]: FRAMED_LOG_FORMAT } : {};
    case 'none':
      return { [LOG_ANNOTATIONS.driver]: 'none' };
    case 'rotate': {
      if (!Number.isSafeInteger(log.maxBytes) || log.maxBytes <= 0) throw new InvalidContainerConfigError(`log max-size must be a positive number of bytes, got ${log.maxBytes}`, 'log');
      if (!Number.isSafeInteger(log.maxFiles) || log.maxFiles < 1 || log.maxFiles > MAX_LOG_FILES) throw new InvalidContainerConfigError(`log max-file must be from 1 to ${MAX_LOG_FILES}, got ${log.maxFiles}`, 'log');
      const rotated = { [LOG_ANNOTATIONS.path]: logPath, [LOG_ANNOTATIONS.maxSize]: String(log.maxBytes), [LOG_ANNOTATIONS.maxFile]: String(log.maxFiles) };
      return log.framed === true ? { ...rotated, [LOG_ANNOTATIONS.format]: FRAMED_LOG_FORMAT } : rotated;
    }
  }
}

/**
 * Whether the node's `--userns-remap` applies: not for `userns_mode: host`; a privileged container
 * would be root on the host anyway, so like Docker it must say `userns_mode: host`.
 */
export function usernsForContainer(remap: UsernsRemap | undefined, r: RuntimeSettings): UsernsRemap | null {
  if (remap === undefined || r.usernsMode === 'host') return null;
  if (r.privileged) throw new InvalidContainerConfigError('privileged is incompatible with the node\'s user namespace remapping: add userns_mode: host to the service', 'privileged');
  return remap;
}

/** What the builder needs to know of the host. */
export interface HostFacts {
  /** `process.arch`. */
  arch: string;
  /** `os.release()`. */
  kernel: string;
  /** The device node at `path` (following symlinks), or null when it is not a device. */
  device(path: string): HostDevice | null;
  /** Every device node under /dev (for `privileged`). */
  allDevices(): { path: string; device: HostDevice }[];
  /** The static runtime binary, bound into containers that ask for `init`. */
  initBinary: string;
  /** The most open files a container may get by default (Docker's 1048576, unless this host cannot grant it). */
  maxOpenFiles: number;
  /** The capabilities the agent itself may pass on (its bounding set): all that `privileged` can mean here. */
  boundingCapabilities: readonly string[];
}

export interface HostDevice {
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** Permission bits of the node. */
  mode: number;
  uid: number;
  gid: number;
}

/** `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` are one capability; `ALL` stays `ALL`. */
export function normalizeCapability(name: string): string {
  const full = capabilityName(name);
  if (full === null) throw new InvalidContainerConfigError(`unknown capability ${JSON.stringify(name)}`, 'capabilities');
  return full;
}

/**
 * Docker's rules for cap_add / cap_drop over its default set (moby's TweakCapabilities): add ALL is
 * every capability but the dropped ones; drop ALL is exactly the added ones; otherwise the default
 * set without the dropped ones, then the added ones (so a capability both added and dropped stays).
 */
export function containerCapabilities(r: RuntimeSettings, bounding: readonly string[] = ALL_CAPABILITIES): string[] {
  // "Every capability" is every one this host can give (moby's GetAllCapabilities: its bounding set).
  const every = ALL_CAPABILITIES.filter((c) => bounding.includes(c));
  if (r.privileged) return every;
  const add = r.capAdd.map(normalizeCapability);
  const drop = r.capDrop.map(normalizeCapability);
  let caps: string[];
  if (add.includes('ALL')) caps = every.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return ALL_CAPABILITIES.filter((c) => caps.includes(c));
}

/** compose `ulimits` names onto the runtime-spec's: `nofile` -> `RLIMIT_NOFILE`. */
export function rlimits(r: RuntimeSettings, maxOpenFiles: number): OciRlimit[] {
  const cap = (l: OciRlimit): OciRlimit => (l.type === 'RLIMIT_NOFILE' ? { ...l, soft: Math.min(l.soft, maxOpenFiles), hard: Math.min(l.hard, maxOpenFiles) } : { ...l });
  const out = new Map<string, OciRlimit>(DEFAULT_RLIMITS.map((l) => [l.type, cap(l)]));
  for (const u of r.ulimits) {
    if (!ULIMIT_NAMES.includes(u.name)) throw new InvalidContainerConfigError(`unknown ulimit ${JSON.stringify(u.name)}`, 'ulimits');
    const type = `RLIMIT_${u.name.toUpperCase()}`;
    out.set(type, { type, soft: u.soft, hard: u.hard });
  }
  return [...out.values()];
}

function addEnvDefault(env: string[], key: string, value: string): void {
  if (!env.some((e) => e.startsWith(`${key}=`))) env.push(`${key}=${value}`);
}

function deviceRulesAndNodes(r: RuntimeSettings, host: HostFacts): { rules: OciDeviceRule[]; nodes: OciDevice[] } {
  if (r.privileged) {
    const nodes = host.allDevices().map(({ path, device: d }) => ({ path, type: d.type, major: d.major, minor: d.minor, fileMode: d.mode, uid: d.uid, gid: d.gid }));
    return { rules: [{ allow: true, access: 'rwm' }], nodes };
  }
  const rules = DEFAULT_DEVICE_RULES.map((x) => ({ ...x }));
  const nodes: OciDevice[] = [];
  for (const m of r.devices) {
    const d = deviceOf(m, host);
    nodes.push({ path: m.pathInContainer, type: d.type, major: d.major, minor: d.minor, fileMode: d.mode, uid: d.uid, gid: d.gid });
    rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access: m.permissions });
  }
  return { rules, nodes };
}

function deviceOf(m: DeviceMapping, host: HostFacts): HostDevice {
  if (!/^[rwm]{1,3}$/.test(m.permissions)) throw new InvalidContainerConfigError(`device ${m.pathOnHost}: invalid permissions ${JSON.stringify(m.permissions)}`, 'devices');
  const d = host.device(m.pathOnHost);
  if (d === null) throw new InvalidContainerConfigError(`error gathering device information while adding custom device "${m.pathOnHost}": not a device node`, 'devices');
  return d;
}

/** The flags a tmpfs option turns off, so `exec` replaces the default `noexec`. */
const OPPOSITE: Readonly<Record<string, string>> = { exec: 'noexec', suid: 'nosuid', dev: 'nodev', rw: 'ro', noexec: 'exec', nosuid: 'suid', nodev: 'dev', ro: 'rw' };

/**
 * One tmpfs (compose `tmpfs:` and a `mounts` entry of type tmpfs alike): Docker's nosuid, nodev,
 * noexec, each flag of `t.options` replacing its opposite, then size and mode.
 */
export function tmpfsMount(t: TmpfsMount): OciMount {
  let options = ['nosuid', 'nodev', 'noexec'];
  for (const o of t.options) options = [...options.filter((x) => x !== o && x !== OPPOSITE[o]), o];
  if (t.sizeBytes !== null) options.push(`size=${t.sizeBytes}`);
  if (t.mode !== null) options.push(`mode=${t.mode.toString(8).padStart(4, '0')}`);
  return { destination: t.target, type: 'tmpfs', source: 'tmpfs', options };
}

/** `/a/b/` and `/a//b` are `/a/b`: what destinations are compared and ordered by. */
function cleanDestination(p: string): string {
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  return `/${parts.join('/')}`;
}

function depth(p: string): number {
  return cleanDestination(p).split('/').length;
}

/**
 * The container's mounts: the standard ones first, except those a mount of the task replaces
 * (Docker: a user mount at /dev/shm replaces the default one, a user /dev every default under it),
 * then the task's own mounts ordered parents first (moby sorts by path depth) so `/data` is
 * mounted before `/data/logs`; the order of mounts of equal depth is kept.
 */
export function containerMounts(standard: readonly OciMount[], own: readonly OciMount[]): OciMount[] {
  const ownDest = new Set(own.map((m) => cleanDestination(m.destination)));
  const userDev = ownDest.has('/dev');
  const kept = standard.filter((m) => {
    const d = cleanDestination(m.destination);
    return !ownDest.has(d) && !(userDev && d.startsWith('/dev/'));
  });
  const ordered = own.map((m, i) => ({ m, i, d: depth(m.destination) })).sort((a, b) => a.d - b.d || a.i - b.i);
  return [...kept, ...ordered.map((x) => ({ ...x.m, options: [...x.m.options] }))];
}

const SHARED = new Set(['shared', 'rshared']);
const SLAVE = new Set(['slave', 'rslave']);

/**
 * A bind with shared (or slave) propagation only sees mounts come and go if the container's root
 * is shared (or slave) too: Docker sets rootfsPropagation accordingly (moby setMounts).
 */
function rootfsPropagation(mounts: readonly OciMount[]): string | undefined {
  if (mounts.some((m) => m.options.some((o) => SHARED.has(o)))) return 'rshared';
  if (mounts.some((m) => m.options.some((o) => SLAVE.has(o)))) return 'rslave';
  return undefined;
}

function seccompOf(r: RuntimeSettings, caps: string[], host: HostFacts): OciSpec['linux']['seccomp'] {
  if (r.privileged || r.seccomp.mode === 'unconfined') return undefined;
  if (r.seccomp.mode === 'custom') {
    if (r.seccomp.profile === null) throw new InvalidContainerConfigError('seccomp: a custom profile needs its text', 'seccomp');
    return ociSeccomp(parseSeccompProfile(r.seccomp.profile, 'security_opt seccomp'), { capabilities: caps, arch: host.arch, kernel: host.kernel });
  }
  return defaultOciSeccomp(caps, host.arch, host.kernel);
}

export function buildSpec(input: SpecInput, host: HostFacts): OciSpec {
  const r = input.runtime;
  const caps = containerCapabilities(r, host.boundingCapabilities);
  const root = input.identity.uid === 0;
  const env = [...input.env];
  addEnvDefault(env, 'PATH', DEFAULT_PATH);
  addEnvDefault(env, 'HOSTNAME', input.hostname);
  addEnvDefault(env, 'HOME', input.identity.home);
  // Docker's daemon gives a container with a terminal TERM=xterm unless the image or service sets it.
  if (input.tty) addEnvDefault(env, 'TERM', 'xterm');
  const mounts = containerMounts(standardMounts(r.shmSizeBytes ?? DEFAULT_SHM_BYTES, r.privileged), [...r.tmpfs.map(tmpfsMount), ...input.mounts]);
  const propagation = rootfsPropagation(input.mounts);
  let args = input.args;
  if (r.init) {
    mounts.push({ destination: INIT_PATH, type: 'bind', source: host.initBinary, options: ['bind', 'ro', 'nosuid', 'nodev'] });
    args = [INIT_PATH, '--', ...args];
  }
  const namespaces: OciNamespace[] = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
    input.netns === null ? { type: 'network' } : { type: 'network', path: input.netns },
    { type: 'cgroup' },
    ...(input.userns === null ? [] : [{ type: 'user' as const }]),
  ];
  const { rules, nodes } = deviceRulesAndNodes(r, host);
  const l = input.limits;
  const seccomp = seccompOf(r, caps, host);
  const annotations = { ...logAnnotations(input.logPath, input.log), ...(input.openStdin && !input.tty ? { [STDIN_ANNOTATION]: 'open' } : {}) };
  return {
    ociVersion: '1.1.0',
    process: {
      // No console socket: the shim makes the pty itself (in the container's devpts) and relays it to the log.
      terminal: input.tty,
      user: { uid: input.identity.uid, gid: input.identity.gid, additionalGids: input.identity.additionalGids },
      args,
      env,
      cwd: input.cwd,
      // Docker: a non-root user gets the bounding set only, as execve would give it (moby SetCapabilities).
      capabilities: { bounding: caps, effective: root ? caps : [], inheritable: [], permitted: root ? caps : [], ambient: [] },
      rlimits: rlimits(r, host.maxOpenFiles),
      noNewPrivileges: r.noNewPrivileges,
      ...(r.oomScoreAdj === null ? {} : { oomScoreAdj: r.oomScoreAdj }),
    },
    root: { path: 'rootfs', readonly: r.readOnly },
    hostname: input.hostname,
    mounts,
    ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
    linux: {
      namespaces,
      ...(input.userns === null
        ? {}
        : {
            uidMappings: [{ containerID: 0, hostID: input.userns.uid, size: input.userns.size }],
            gidMappings: [{ containerID: 0, hostID: input.userns.gid, size: input.userns.size }],
          }),
      devices: nodes,
      resources: {
        devices: rules,
        ...(l.memoryBytes === null ? {} : { memory: { limit: l.memoryBytes } }),
        ...(l.nanoCpus === null ? {} : { cpu: { quota: cpuQuotaUs(l.nanoCpus), period: CPU_PERIOD_US } }),
        ...(l.pids === null ? {} : { pids: { limit: l.pids } }),
      },
      cgroupsPath: `/${input.cgroupsPath}`,
      sysctl: { ...r.sysctls },
      ...(seccomp === undefined ? {} : { seccomp }),
      maskedPaths: r.privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: r.privileged ? [] : [...READONLY_PATHS],
      ...(propagation === undefined ? {} : { rootfsPropagation: propagation }),
    },
  };
}

/** CFS period used for CPU limits (Docker's default). */
export const CPU_PERIOD_US = 100_000;

/** CFS quota for a nanoCpus limit: 1.5 CPUs = 150000us per 100000us. Never below the kernel's 1ms. */
export function cpuQuotaUs(nanoCpus: number): number {
  return Math.max(1000, Math.round((nanoCpus * CPU_PERIOD_US) / 1e9));
}
