/**
 * Docker's default confinement, as facts: the capability set, the masked and read-only paths, the
 * device allowlist, the standard mounts and rlimits a container gets when its service says nothing.
 * spec.ts is the one place that applies them.
 */
import type { OciDeviceRule, OciMount, OciRlimit } from './spec-types';

/** Docker's default capabilities. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export { ALL_CAPABILITIES } from '../../../shared/capabilities';

/** Hidden from the container: bound over with /dev/null (files) or an empty read-only tmpfs (dirs). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Readable but not writable: the kernel's knobs that are not namespaced. */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * The device cgroup: nothing but the standard nodes may be opened; mknod of any node may *create* it
 * (`m`), so images that make their own nodes work, but opening one that is not listed fails.
 */
export const DEFAULT_DEVICE_RULES: readonly OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts/*
];

export const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

/** The filesystems every container has (Docker's, in its order). `shmBytes` sizes /dev/shm. */
export function standardMounts(shmBytes: number, privileged: boolean): OciMount[] {
  const sysRo = privileged ? [] : ['ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...sysRo] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ...sysRo] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmBytes}`] },
  ];
}

/**
 * The open-file limit a container gets from dockerd on a systemd host (its unit's
 * LimitNOFILE=infinity gives 1048576), rather than whatever the agent happens to run with. Other
 * rlimits are inherited from the agent, as a container inherits dockerd's.
 */
export const DEFAULT_RLIMITS: readonly OciRlimit[] = [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }];

/** Where the minimal init is bound when a service asks for `init: true` (Docker's path). */
export const INIT_PATH = '/sbin/docker-init';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
