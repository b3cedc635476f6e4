import { ALL_CAPABILITIES } from '../../../shared/capabilities';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRuntimeSettings } from '../../../shared/types';
import type { RuntimeSettings } from '../../../shared/types';
import { InvalidContainerConfigError } from '../../../agent/runtime/errors';
import { buildSpec, containerCapabilities, cpuQuotaUs, logAnnotations, normalizeCapability, rlimits, usernsForContainer } from '../../../agent/runtime/oci/spec';
import type { HostDevice, HostFacts, SpecInput } from '../../../agent/runtime/oci/spec';
import type { OciSpec } from '../../../agent/runtime/oci/spec-types';
import type { OciSeccomp } from '../../../agent/runtime/oci/seccomp';

/** Docker's default capability set (moby oci/caps/defaults.go), in no particular order. */
const DOCKER_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const MASKED = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const FUSE: HostDevice = { type: 'c', major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 };
const NULL_DEV: HostDevice = { type: 'c', major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 };
const SDA: HostDevice = { type: 'b', major: 8, minor: 0, mode: 0o660, uid: 0, gid: 6 };

const fakeHost: HostFacts = {
  arch: 'x64',
  kernel: '6.1.0',
  device: (path) => (path === '/dev/fuse' ? FUSE : null),
  allDevices: () => [
    { path: '/dev/null', device: NULL_DEV },
    { path: '/dev/sda', device: SDA },
  ],
  initBinary: '/opt/tsswarm-runtime',
  maxOpenFiles: 1048576,
  boundingCapabilities: ALL_CAPABILITIES,
};

function runtime(over: Partial<RuntimeSettings> = {}): RuntimeSettings {
  return { ...defaultRuntimeSettings(), ...over };
}

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'c1',
    args: ['/app', '--serve'],
    env: [],
    cwd: '/',
    hostname: 'web-1',
    identity: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
    limits: { memoryBytes: null, nanoCpus: null, pids: null },
    netns: null,
    runtime: defaultRuntimeSettings(),
    cgroupsPath: 'parent/c1',
    userns: null,
    mounts: [],
    logPath: '/var/lib/tsswarm/logs/c1.log',
    log: { kind: 'file' },
    tty: false,
    openStdin: false,
    ...over,
  };
}

function spec(r: Partial<RuntimeSettings> = {}, over: Partial<SpecInput> = {}, host: HostFacts = fakeHost): OciSpec {
  return buildSpec(input({ ...over, runtime: runtime(r) }), host);
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

function allowedNames(s: OciSeccomp | undefined): Set<string> {
  return new Set((s?.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
}

function mount(s: OciSpec, destination: string): OciSpec['mounts'][number] {
  const m = s.mounts.find((x) => x.destination === destination);
  assert.ok(m, `no mount at ${destination}: ${s.mounts.map((x) => x.destination).join(', ')}`);
  return m;
}

function throwsConfig(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidContainerConfigError, `expected InvalidContainerConfigError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.message, message);
    return true;
  });
}

describe('buildSpec: Docker defaults', () => {
  const s = spec();

  it('gives root Docker’s 14 capabilities in bounding, effective and permitted, none inheritable or ambient', () => {
    const c = s.process.capabilities;
    assert.equal(c.bounding.length, 14);
    assert.deepEqual(sorted(c.bounding), sorted(DOCKER_CAPS));
    assert.deepEqual(c.effective, c.bounding);
    assert.deepEqual(c.permitted, c.bounding);
    assert.deepEqual(c.inheritable, []);
    assert.deepEqual(c.ambient, []);
  });

  it('gives a non-root identity only the bounding set, as execve would', () => {
    const c = spec({}, { identity: { uid: 1000, gid: 1000, additionalGids: [4], home: '/home/app' } }).process.capabilities;
    assert.deepEqual(sorted(c.bounding), sorted(DOCKER_CAPS));
    assert.deepEqual(c.effective, []);
    assert.deepEqual(c.permitted, []);
    assert.deepEqual(c.inheritable, []);
    assert.deepEqual(c.ambient, []);
  });

  it('passes the identity, args, cwd and hostname through', () => {
    const t = spec({}, { identity: { uid: 1000, gid: 1001, additionalGids: [4, 27], home: '/home/app' }, cwd: '/srv' });
    assert.deepEqual(t.process.user, { uid: 1000, gid: 1001, additionalGids: [4, 27] });
    assert.deepEqual(t.process.args, ['/app', '--serve']);
    assert.equal(t.process.cwd, '/srv');
    assert.equal(t.hostname, 'web-1');
    assert.equal(t.process.terminal, false);
  });

  it('creates pid, ipc, uts, mount, network and cgroup namespaces, and no user namespace', () => {
    assert.deepEqual(s.linux.namespaces, [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }, { type: 'cgroup' }]);
  });

  it('joins a prepared network namespace by path', () => {
    const ns = spec({}, { netns: '/run/tsswarm/netns/c1' }).linux.namespaces;
    assert.deepEqual(ns.find((n) => n.type === 'network'), { type: 'network', path: '/run/tsswarm/netns/c1' });
    assert.equal(ns.filter((n) => n.path !== undefined).length, 1);
  });

  it('masks and write-protects Docker’s paths', () => {
    assert.deepEqual(sorted(s.linux.maskedPaths), sorted(MASKED));
    assert.deepEqual(sorted(s.linux.readonlyPaths), sorted(READONLY));
  });

  it('denies every device first, then allows the standard nodes', () => {
    const rules = s.linux.resources.devices;
    assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
    assert.ok(rules.some((r) => r.allow && r.type === 'c' && r.major === 1 && r.minor === 3 && r.access === 'rwm'), 'c 1:3 (null) allowed');
    assert.ok(!rules.some((r) => r.allow && r.type === undefined), 'no allow-all rule');
    assert.deepEqual(s.linux.devices, []);
  });

  it('applies Docker’s seccomp profile: EPERM by default, no mount without CAP_SYS_ADMIN', () => {
    const sc = s.linux.seccomp;
    assert.ok(sc);
    assert.equal(sc.defaultAction, 'SCMP_ACT_ERRNO');
    const allowed = allowedNames(sc);
    assert.ok(allowed.has('read'));
    assert.ok(!allowed.has('mount'));
    assert.ok(sc.architectures?.includes('SCMP_ARCH_X86_64'));
  });

  const envCases: { name: string; env: string[]; want: string[] }[] = [
    {
      name: 'adds PATH, HOSTNAME and HOME when missing',
      env: ['A=1'],
      want: ['A=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=web-1', 'HOME=/root'],
    },
    {
      name: 'keeps the ones given',
      env: ['PATH=/bin', 'HOME=/data', 'HOSTNAME=other'],
      want: ['PATH=/bin', 'HOME=/data', 'HOSTNAME=other'],
    },
    {
      name: 'an empty value counts as given',
      env: ['HOME='],
      want: ['HOME=', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=web-1'],
    },
    {
      name: 'a variable that merely starts with the name does not',
      env: ['PATHS=x'],
      want: ['PATHS=x', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=web-1', 'HOME=/root'],
    },
  ];
  for (const c of envCases) {
    it(`env: ${c.name}`, () => {
      const given = [...c.env];
      assert.deepEqual(spec({}, { env: given }).process.env, c.want);
      assert.deepEqual(given, c.env, 'the input is not changed');
    });
  }

  it('uses the home of a non-root identity', () => {
    const env = spec({}, { identity: { uid: 1000, gid: 1000, additionalGids: [], home: '/home/app' } }).process.env;
    assert.ok(env.includes('HOME=/home/app'));
  });

  const nofileCases: { name: string; max: number; want: number }[] = [
    { name: 'Docker’s 1048576 where the host grants it', max: 1048576, want: 1048576 },
    { name: 'capped by the host', max: 524288, want: 524288 },
  ];
  for (const c of nofileCases) {
    it(`RLIMIT_NOFILE: ${c.name}`, () => {
      const t = spec({}, {}, { ...fakeHost, maxOpenFiles: c.max });
      assert.deepEqual(t.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: c.want, hard: c.want }]);
    });
  }

  type Resources = Omit<OciSpec['linux']['resources'], 'devices'>;
  const limitCases: { name: string; limits: SpecInput['limits']; want: Resources }[] = [
    { name: 'none', limits: { memoryBytes: null, nanoCpus: null, pids: null }, want: {} },
    {
      name: 'memory, 0.5 CPUs and pids',
      limits: { memoryBytes: 512 * 1024 * 1024, nanoCpus: 500_000_000, pids: 200 },
      want: { memory: { limit: 512 * 1024 * 1024 }, cpu: { quota: 50000, period: 100000 }, pids: { limit: 200 } },
    },
    { name: '1.5 CPUs', limits: { memoryBytes: null, nanoCpus: 1_500_000_000, pids: null }, want: { cpu: { quota: 150000, period: 100000 } } },
    {
      name: 'a tiny CPU share is raised to the kernel’s 1ms',
      limits: { memoryBytes: null, nanoCpus: 1_000_000, pids: null },
      want: { cpu: { quota: 1000, period: 100000 } },
    },
  ];
  for (const c of limitCases) {
    it(`resources: ${c.name}`, () => {
      const resources: Partial<OciSpec['linux']['resources']> = { ...spec({}, { limits: c.limits }).linux.resources };
      delete resources.devices;
      assert.deepEqual(resources, c.want);
    });
  }

  it('puts the cgroup under its parent, with the root filesystem writable', () => {
    assert.equal(s.linux.cgroupsPath, '/parent/c1');
    assert.deepEqual(s.root, { path: 'rootfs', readonly: false });
  });

  it('has the standard mounts, /dev/shm of 64 MiB and /sys read-only', () => {
    assert.deepEqual(
      s.mounts.map((m) => m.destination),
      ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm'],
    );
    assert.ok(mount(s, '/dev/shm').options.includes('size=67108864'));
    assert.ok(mount(s, '/sys').options.includes('ro'));
    assert.ok(mount(s, '/sys/fs/cgroup').options.includes('ro'));
  });

  it('sets nothing a service did not ask for', () => {
    assert.equal(s.process.noNewPrivileges, false);
    assert.equal('oomScoreAdj' in s.process, false);
    assert.deepEqual(s.linux.sysctl, {});
    assert.deepEqual(s.process.args, ['/app', '--serve']);
  });
});

describe('containerCapabilities: cap_add and cap_drop as Docker applies them', () => {
  const ALL_COUNT = 41;
  const cases: { name: string; add: string[]; drop: string[]; want: (all: string[]) => string[] }[] = [
    { name: 'nothing', add: [], drop: [], want: () => DOCKER_CAPS },
    { name: 'add NET_ADMIN', add: ['CAP_NET_ADMIN'], drop: [], want: () => [...DOCKER_CAPS, 'CAP_NET_ADMIN'] },
    { name: 'add one already there', add: ['CAP_CHOWN'], drop: [], want: () => DOCKER_CAPS },
    { name: 'drop CHOWN', add: [], drop: ['CAP_CHOWN'], want: () => DOCKER_CAPS.filter((c) => c !== 'CAP_CHOWN') },
    { name: 'drop one not there', add: [], drop: ['CAP_SYS_ADMIN'], want: () => DOCKER_CAPS },
    { name: 'drop ALL', add: [], drop: ['ALL'], want: () => [] },
    { name: 'drop ALL, add NET_BIND_SERVICE', add: ['CAP_NET_BIND_SERVICE'], drop: ['ALL'], want: () => ['CAP_NET_BIND_SERVICE'] },
    { name: 'drop ALL, add two', add: ['CAP_NET_ADMIN', 'CAP_CHOWN'], drop: ['ALL'], want: () => ['CAP_CHOWN', 'CAP_NET_ADMIN'] },
    { name: 'add ALL', add: ['ALL'], drop: [], want: (all) => all },
    { name: 'add ALL, drop SYS_ADMIN', add: ['ALL'], drop: ['CAP_SYS_ADMIN'], want: (all) => all.filter((c) => c !== 'CAP_SYS_ADMIN') },
    { name: 'add ALL, drop ALL', add: ['ALL'], drop: ['ALL'], want: (all) => all },
    { name: 'lowercase and CAP_-less names', add: ['net_admin', 'Sys_Time'], drop: ['chown', 'cap_kill'], want: () => [...DOCKER_CAPS.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_KILL'), 'CAP_NET_ADMIN', 'CAP_SYS_TIME'] },
    { name: 'lowercase all', add: ['all'], drop: ['sys_admin'], want: (all) => all.filter((c) => c !== 'CAP_SYS_ADMIN') },
    { name: 'added and dropped: the add wins, as in moby', add: ['CAP_NET_ADMIN', 'CAP_CHOWN'], drop: ['CAP_NET_ADMIN', 'CAP_CHOWN'], want: () => [...DOCKER_CAPS, 'CAP_NET_ADMIN'] },
  ];
  const all = containerCapabilities(runtime({ privileged: true }));

  it('knows every capability to Linux 6.x', () => {
    assert.equal(all.length, ALL_COUNT);
    assert.equal(new Set(all).size, ALL_COUNT);
    for (const c of ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_BPF', 'CAP_PERFMON', 'CAP_CHECKPOINT_RESTORE']) assert.ok(all.includes(c), c);
  });

  for (const c of cases) {
    it(c.name, () => {
      const got = containerCapabilities(runtime({ capAdd: c.add, capDrop: c.drop }));
      assert.deepEqual(sorted(got), sorted(c.want(all)));
      assert.equal(new Set(got).size, got.length, 'no duplicates');
    });
  }

  it('add ALL gives all 41 in the spec', () => {
    const caps = spec({ capAdd: ['ALL'] }).process.capabilities;
    assert.equal(caps.bounding.length, ALL_COUNT);
    assert.equal(caps.effective.length, ALL_COUNT);
  });

  const unknown: { name: string; add: string[]; drop: string[] }[] = [
    { name: 'in cap_add', add: ['NET_ADMINN'], drop: [] },
    { name: 'in cap_drop', add: [], drop: ['CAP_FOO'] },
    { name: 'empty', add: [''], drop: [] },
  ];
  for (const c of unknown) {
    it(`an unknown capability ${c.name} throws`, () => {
      throwsConfig(() => containerCapabilities(runtime({ capAdd: c.add, capDrop: c.drop })), 'capabilities', /unknown capability/);
      throwsConfig(() => spec({ capAdd: c.add, capDrop: c.drop }), 'capabilities', /unknown capability/);
    });
  }
});

describe('normalizeCapability', () => {
  const cases: [string, string][] = [
    ['NET_ADMIN', 'CAP_NET_ADMIN'],
    ['net_admin', 'CAP_NET_ADMIN'],
    ['CAP_NET_ADMIN', 'CAP_NET_ADMIN'],
    ['cap_net_admin', 'CAP_NET_ADMIN'],
    ['ALL', 'ALL'],
    ['all', 'ALL'],
    ['checkpoint_restore', 'CAP_CHECKPOINT_RESTORE'],
  ];
  for (const [given, want] of cases) {
    it(`${given} → ${want}`, () => assert.equal(normalizeCapability(given), want));
  }
  for (const bad of ['NET_ADMINN', 'CAP_', 'CAP_ALL', 'foo']) {
    it(`${JSON.stringify(bad)} throws`, () => throwsConfig(() => normalizeCapability(bad), 'capabilities', new RegExp(`unknown capability "${bad}"`)));
  }
});

describe('rlimits', () => {
  const cases: { name: string; ulimits: RuntimeSettings['ulimits']; max: number; want: { type: string; soft: number; hard: number }[] }[] = [
    { name: 'the default', ulimits: [], max: 1048576, want: [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }] },
    { name: 'the default capped by the host', ulimits: [], max: 4096, want: [{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 }] },
    { name: 'nofile replaces the default', ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }], max: 1048576, want: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }] },
    {
      name: 'others are added',
      ulimits: [{ name: 'nproc', soft: 64, hard: 128 }, { name: 'core', soft: 0, hard: 0 }],
      max: 1048576,
      want: [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }, { type: 'RLIMIT_NPROC', soft: 64, hard: 128 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(rlimits(runtime({ ulimits: c.ulimits }), c.max), c.want));
  }

  it('ulimits nofile soft/hard reach the spec as RLIMIT_NOFILE', () => {
    assert.deepEqual(spec({ ulimits: [{ name: 'nofile', soft: 1, hard: 2 }] }).process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 2 }]);
  });

  it('an unknown name throws', () => {
    throwsConfig(() => rlimits(runtime({ ulimits: [{ name: 'nofiles', soft: 1, hard: 1 }] }), 1048576), 'ulimits', /unknown ulimit "nofiles"/);
  });
});

describe('buildSpec: privileged', () => {
  const s = spec({ privileged: true, capDrop: ['ALL'], devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rwm' }] });

  it('has every capability, whatever cap_drop says', () => {
    assert.equal(s.process.capabilities.bounding.length, 41);
    assert.deepEqual(s.process.capabilities.effective, s.process.capabilities.bounding);
  });

  it('has no seccomp filter and no masked or read-only paths', () => {
    assert.equal(s.linux.seccomp, undefined);
    assert.equal('seccomp' in s.linux, false);
    assert.deepEqual(s.linux.maskedPaths, []);
    assert.deepEqual(s.linux.readonlyPaths, []);
  });

  it('may use every device, and gets the host’s device nodes', () => {
    assert.deepEqual(s.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
    assert.deepEqual(s.linux.devices, [
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
    ]);
  });

  it('mounts /sys and its cgroup writable', () => {
    assert.ok(!mount(s, '/sys').options.includes('ro'));
    assert.ok(!mount(s, '/sys/fs/cgroup').options.includes('ro'));
  });

  it('ignores a seccomp profile it was given', () => {
    assert.equal(spec({ privileged: true, seccomp: { mode: 'custom', profile: '{"defaultAction": "SCMP_ACT_KILL"}' } }).linux.seccomp, undefined);
  });
});

describe('buildSpec: seccomp', () => {
  it('unconfined has no linux.seccomp', () => {
    const s = spec({ seccomp: { mode: 'unconfined', profile: null } });
    assert.equal('seccomp' in s.linux, false);
    // The rest of the confinement stays.
    assert.deepEqual(sorted(s.linux.maskedPaths), sorted(MASKED));
    assert.equal(s.process.capabilities.bounding.length, 14);
  });

  const profileCases: { name: string; profile: object; r?: Partial<RuntimeSettings>; want: OciSeccomp }[] = [
    {
      name: 'a small Docker-format profile',
      profile: {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['ptrace', 'personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
          { name: 'reboot', action: 'SCMP_ACT_KILL' },
        ],
      },
      want: {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['ptrace', 'personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
          { names: ['reboot'], action: 'SCMP_ACT_KILL' },
        ],
      },
    },
    {
      name: 'archMap resolved for the host, caps conditions against the container’s set',
      profile: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        archMap: [
          { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
          { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
        ],
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
          { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['chown'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_CHOWN'] } },
        ],
      },
      want: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [{ names: ['read', 'write', 'chown'], action: 'SCMP_ACT_ALLOW' }],
      },
    },
    {
      name: 'the same profile with CAP_SYS_ADMIN added',
      r: { capAdd: ['CAP_SYS_ADMIN'] },
      profile: {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        ],
      },
      want: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'mount'], action: 'SCMP_ACT_ALLOW' }] },
    },
  ];
  for (const c of profileCases) {
    it(`custom: ${c.name}`, () => {
      const s = spec({ ...c.r, seccomp: { mode: 'custom', profile: JSON.stringify(c.profile) } });
      assert.deepEqual(s.linux.seccomp, c.want);
    });
  }

  it('custom without its text throws', () => {
    throwsConfig(() => spec({ seccomp: { mode: 'custom', profile: null } }), 'seccomp', /custom profile needs its text/);
  });

  it('custom with an invalid profile throws, naming the field', () => {
    assert.throws(
      () => spec({ seccomp: { mode: 'custom', profile: '{"defaultAction": "SCMP_ACT_DENY"}' } }),
      /defaultAction: unknown action "SCMP_ACT_DENY"/,
    );
  });

  const mountCases: { name: string; r: Partial<RuntimeSettings>; mount: boolean }[] = [
    { name: 'Docker’s default set', r: {}, mount: false },
    { name: 'CAP_SYS_ADMIN added', r: { capAdd: ['CAP_SYS_ADMIN'] }, mount: true },
    { name: 'SYS_ADMIN added by its short name', r: { capAdd: ['sys_admin'] }, mount: true },
    { name: 'add ALL', r: { capAdd: ['ALL'] }, mount: true },
    { name: 'add ALL, drop SYS_ADMIN', r: { capAdd: ['ALL'], capDrop: ['CAP_SYS_ADMIN'] }, mount: false },
  ];
  for (const c of mountCases) {
    it(`default profile, ${c.name}: mount ${c.mount ? 'allowed' : 'not allowed'}`, () => {
      const sc = spec(c.r).linux.seccomp;
      assert.ok(sc);
      assert.equal(sc.defaultAction, 'SCMP_ACT_ERRNO');
      assert.equal(allowedNames(sc).has('mount'), c.mount);
    });
  }

  it('the default profile for a non-root user still follows the bounding set', () => {
    const sc = spec({ capAdd: ['CAP_SYS_ADMIN'] }, { identity: { uid: 1000, gid: 1000, additionalGids: [], home: '/' } }).linux.seccomp;
    assert.ok(allowedNames(sc).has('mount'));
  });
});

describe('buildSpec: devices', () => {
  const cases: { name: string; mapping: { pathOnHost: string; pathInContainer: string; permissions: string }; node: OciSpec['linux']['devices'][number]; access: string }[] = [
    {
      name: '/dev/fuse:/dev/fuse:rwm',
      mapping: { pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rwm' },
      node: { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      access: 'rwm',
    },
    {
      name: 'under another path, read-only',
      mapping: { pathOnHost: '/dev/fuse', pathInContainer: '/dev/myfuse', permissions: 'r' },
      node: { path: '/dev/myfuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      access: 'r',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = spec({ devices: [c.mapping] });
      assert.deepEqual(s.linux.devices, [c.node]);
      const rules = s.linux.resources.devices;
      assert.deepEqual(rules[0], { allow: false, access: 'rwm' }, 'deny-all stays first');
      assert.deepEqual(rules[rules.length - 1], { allow: true, type: 'c', major: 10, minor: 229, access: c.access });
    });
  }

  const errors: { name: string; mapping: { pathOnHost: string; pathInContainer: string; permissions: string }; message: RegExp }[] = [
    { name: 'a path that is not a device', mapping: { pathOnHost: '/etc/passwd', pathInContainer: '/dev/x', permissions: 'rwm' }, message: /"\/etc\/passwd": not a device node/ },
    { name: 'a path that does not exist', mapping: { pathOnHost: '/dev/nope', pathInContainer: '/dev/nope', permissions: 'rwm' }, message: /"\/dev\/nope": not a device node/ },
    { name: 'bad permissions', mapping: { pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rwx' }, message: /invalid permissions "rwx"/ },
  ];
  for (const c of errors) {
    it(`${c.name} throws`, () => throwsConfig(() => spec({ devices: [c.mapping] }), 'devices', c.message));
  }
});

describe('buildSpec: the other runtime keys', () => {
  it('read_only makes the root filesystem read-only', () => {
    assert.deepEqual(spec({ readOnly: true }).root, { path: 'rootfs', readonly: true });
  });

  it('init runs the container’s args under docker-init, bound from the host', () => {
    const s = spec({ init: true });
    assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', '/app', '--serve']);
    const m = mount(s, '/sbin/docker-init');
    assert.equal(m.type, 'bind');
    assert.equal(m.source, '/opt/tsswarm-runtime');
    assert.ok(m.options.includes('bind'));
    assert.ok(m.options.includes('ro'));
  });

  const tmpfsCases: { name: string; mount: RuntimeSettings['tmpfs'][number]; options: string[] }[] = [
    { name: 'plain', mount: { target: '/tmp', sizeBytes: null, mode: null, options: [] }, options: ['nosuid', 'nodev', 'noexec'] },
    {
      name: 'exec instead of noexec, size and mode',
      mount: { target: '/run', sizeBytes: 1048576, mode: 0o1777, options: ['exec'] },
      options: ['nosuid', 'nodev', 'exec', 'size=1048576', 'mode=1777'],
    },
    { name: 'a three-digit mode', mount: { target: '/cache', sizeBytes: null, mode: 0o755, options: [] }, options: ['nosuid', 'nodev', 'noexec', 'mode=0755'] },
    { name: 'ro added, suid replaces nosuid', mount: { target: '/ro', sizeBytes: null, mode: null, options: ['ro', 'suid'] }, options: ['nodev', 'noexec', 'ro', 'suid'] },
    { name: 'a default flag given again is not doubled', mount: { target: '/x', sizeBytes: null, mode: null, options: ['noexec'] }, options: ['nosuid', 'nodev', 'noexec'] },
  ];
  for (const c of tmpfsCases) {
    it(`tmpfs: ${c.name}`, () => {
      const s = spec({ tmpfs: [c.mount] });
      assert.deepEqual(mount(s, c.mount.target), { destination: c.mount.target, type: 'tmpfs', source: 'tmpfs', options: c.options });
    });
  }

  it('shmSizeBytes sizes /dev/shm', () => {
    const opts = mount(spec({ shmSizeBytes: 128 * 1024 * 1024 }), '/dev/shm').options;
    assert.ok(opts.includes('size=134217728'));
    assert.ok(!opts.includes('size=67108864'));
  });

  it('sysctls are copied', () => {
    const sysctls = { 'net.core.somaxconn': '1024', 'net.ipv4.ip_forward': '1' };
    const s = spec({ sysctls });
    assert.deepEqual(s.linux.sysctl, sysctls);
    assert.notEqual(s.linux.sysctl, sysctls);
  });

  const oomCases: { value: number | null; want: number | undefined }[] = [
    { value: null, want: undefined },
    { value: 500, want: 500 },
    { value: -1000, want: -1000 },
    { value: 0, want: 0 },
  ];
  for (const c of oomCases) {
    it(`oomScoreAdj ${String(c.value)}`, () => assert.equal(spec({ oomScoreAdj: c.value }).process.oomScoreAdj, c.want));
  }

  for (const v of [true, false]) {
    it(`noNewPrivileges ${v}`, () => assert.equal(spec({ noNewPrivileges: v }).process.noNewPrivileges, v));
  }

  it('is plain JSON', () => {
    const s = spec({ init: true, tmpfs: [{ target: '/run', sizeBytes: 1, mode: 0o700, options: [] }], devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rw' }] });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
});

describe('buildSpec: user namespace remapping', () => {
  const remap = { uid: 100000, gid: 200000, size: 65536 };
  it('a remapped container gets a user namespace with the node\'s ranges', () => {
    const s = buildSpec(input({ userns: remap }), fakeHost);
    assert.ok(s.linux.namespaces.some((n) => n.type === 'user' && n.path === undefined));
    assert.deepEqual(s.linux.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
    assert.deepEqual(s.linux.gidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
  });
  it('without remapping there is no user namespace', () => {
    const s = buildSpec(input(), fakeHost);
    assert.ok(!s.linux.namespaces.some((n) => n.type === 'user'));
    assert.equal(s.linux.uidMappings, undefined);
  });
  it('userns_mode: host opts out; privileged must opt out', () => {
    assert.equal(usernsForContainer(remap, runtime({ usernsMode: 'host' })), null);
    assert.deepEqual(usernsForContainer(remap, runtime()), remap);
    assert.equal(usernsForContainer(undefined, runtime()), null);
    assert.throws(() => usernsForContainer(remap, runtime({ privileged: true })), InvalidContainerConfigError);
    assert.equal(usernsForContainer(remap, runtime({ privileged: true, usernsMode: 'host' })), null);
  });
});

describe('cpuQuotaUs', () => {
  it('turns nanoCpus into a quota per 100ms period, never below the kernel minimum of 1ms', () => {
    assert.equal(cpuQuotaUs(1.5e9), 150_000);
    assert.equal(cpuQuotaUs(5e8), 50_000);
    assert.equal(cpuQuotaUs(1), 1000);
  });
});

describe('buildSpec: the task\'s mounts', () => {
  const bind = (destination: string, source = '/srv/x', options = ['rbind', 'rprivate']): OciSpec['mounts'][number] => ({ destination, type: 'bind', source, options });
  const STANDARD = ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm'];

  it('come after the standard mounts, with the service\'s tmpfs, parents before children, equal depths in order', () => {
    const s = spec({ tmpfs: [{ target: '/data/cache/tmp', sizeBytes: null, mode: null, options: [] }] }, {
      mounts: [bind('/data/logs'), bind('/data'), bind('/b'), bind('/a/'), { destination: '/run/secrets/x', type: 'bind', source: '/run/t/secret-0', options: ['rbind', 'ro', 'rprivate'] }],
    });
    assert.deepEqual(s.mounts.map((m) => m.destination), [...STANDARD, '/data', '/b', '/a/', '/data/logs', '/data/cache/tmp', '/run/secrets/x']);
    assert.deepEqual(mount(s, '/run/secrets/x').options, ['rbind', 'ro', 'rprivate'], 'as given');
  });

  it('a mount of the task replaces the standard one at its destination; a /dev of its own replaces every one under /dev', () => {
    const shm = spec({}, { mounts: [bind('/dev/shm/', '/srv/shm')] });
    assert.equal(shm.mounts.filter((m) => m.destination.replace(/\/$/, '') === '/dev/shm').length, 1);
    assert.equal(mount(shm, '/dev/shm/').source, '/srv/shm');
    const dev = spec({}, { mounts: [bind('/dev', '/srv/dev')] });
    assert.deepEqual(dev.mounts.map((m) => m.destination), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
  });

  it('a shared (slave) bind makes the root rshared (rslave); otherwise the runtime\'s default', () => {
    assert.equal(spec({}, { mounts: [bind('/a', '/x', ['rbind', 'rshared']), bind('/b', '/y', ['rbind', 'rslave'])] }).linux.rootfsPropagation, 'rshared');
    assert.equal(spec({}, { mounts: [bind('/b', '/y', ['rbind', 'slave'])] }).linux.rootfsPropagation, 'rslave');
    assert.equal(spec({}, { mounts: [bind('/b')] }).linux.rootfsPropagation, undefined);
  });

  it('the input is not changed', () => {
    const mounts = [bind('/b'), bind('/a')];
    const s = spec({}, { mounts });
    s.mounts[s.mounts.length - 1]?.options.push('ro');
    assert.deepEqual(mounts, [bind('/b'), bind('/a')]);
  });
});

describe('buildSpec: the log annotations the shim reads (native/src/oci-config.h)', () => {
  const LOG = '/var/lib/tsswarm/logs/c1.log';

  it('a plain file has none: the bundle is what it was before logs rotated', () => {
    assert.equal(spec().annotations, undefined);
    assert.equal('annotations' in spec(), false);
  });

  it('a rotated file has its path and both limits, in bytes and files', () => {
    assert.deepEqual(spec({}, { log: { kind: 'rotate', maxBytes: 10_000_000, maxFiles: 3 } }).annotations, {
      'tsswarm.log.path': LOG,
      'tsswarm.log.max-size': '10000000',
      'tsswarm.log.max-file': '3',
    });
  });

  it('none has the driver alone', () => {
    assert.deepEqual(spec({}, { log: { kind: 'none' } }).annotations, { 'tsswarm.log.driver': 'none' });
  });

  it('framed: a rotated file adds the format to its path and limits', () => {
    assert.deepEqual(spec({}, { log: { kind: 'rotate', maxBytes: 10_000_000, maxFiles: 3, framed: true } }).annotations, {
      'tsswarm.log.path': LOG,
      'tsswarm.log.max-size': '10000000',
      'tsswarm.log.max-file': '3',
      'tsswarm.log.format': 'cri',
    });
  });

  it('framed: a plain file is its path and the format, no size (the shim relays it without limit)', () => {
    assert.deepEqual(spec({}, { log: { kind: 'file', framed: true } }).annotations, { 'tsswarm.log.path': LOG, 'tsswarm.log.format': 'cri' });
    assert.deepEqual(logAnnotations(LOG, { kind: 'file', framed: true }), { 'tsswarm.log.path': LOG, 'tsswarm.log.format': 'cri' });
  });

  it('framed false is the raw log: what it was without the field', () => {
    assert.equal('annotations' in spec({}, { log: { kind: 'file', framed: false } }), false);
    assert.deepEqual(logAnnotations(LOG, { kind: 'rotate', maxBytes: 100, maxFiles: 2, framed: false }), logAnnotations(LOG, { kind: 'rotate', maxBytes: 100, maxFiles: 2 }));
    assert.deepEqual(Object.keys(logAnnotations(LOG, { kind: 'rotate', maxBytes: 100, maxFiles: 2 })), ['tsswarm.log.path', 'tsswarm.log.max-size', 'tsswarm.log.max-file']);
  });

  it('framed beside stdin_open and tty: the format stays with the log annotations', () => {
    assert.deepEqual(spec({}, { openStdin: true, log: { kind: 'file', framed: true } }).annotations, { 'tsswarm.log.path': LOG, 'tsswarm.log.format': 'cri', 'tsswarm.stdin': 'open' });
    assert.deepEqual(spec({}, { tty: true, log: { kind: 'file', framed: true } }).annotations, { 'tsswarm.log.path': LOG, 'tsswarm.log.format': 'cri' });
  });

  it('framed rotation is checked as the raw one', () =>
    throwsConfig(() => logAnnotations(LOG, { kind: 'rotate', maxBytes: 0, maxFiles: 1, framed: true }), 'log', /max-size must be a positive number of bytes, got 0/));

  const bad: Array<[string, { maxBytes: number; maxFiles: number }, RegExp]> = [
    ['a zero size', { maxBytes: 0, maxFiles: 1 }, /max-size must be a positive number of bytes, got 0/],
    ['a fractional size', { maxBytes: 1.5, maxFiles: 1 }, /max-size/],
    ['no files', { maxBytes: 100, maxFiles: 0 }, /max-file must be from 1 to 1000000, got 0/],
    ['more files than the shim takes', { maxBytes: 100, maxFiles: 1_000_001 }, /max-file/],
  ];
  for (const [title, limits, message] of bad) {
    it(`refuses ${title}`, () => throwsConfig(() => logAnnotations(LOG, { kind: 'rotate', ...limits }), 'log', message));
  }
});

describe('buildSpec: tty and stdin_open', () => {
  it('without either: no terminal, no TERM, no stdin annotation (the bundle is what it was)', () => {
    const s = spec();
    assert.equal(s.process.terminal, false);
    assert.equal(s.process.env.some((e) => e.startsWith('TERM=')), false);
    assert.equal('annotations' in s, false);
  });

  it('tty is process.terminal, with Docker\'s TERM=xterm unless the env has a TERM', () => {
    const s = spec({}, { tty: true });
    assert.equal(s.process.terminal, true);
    assert.ok(s.process.env.includes('TERM=xterm'), s.process.env.join(' '));
    assert.equal('annotations' in s, false, 'the pty needs no annotation: the shim sees process.terminal');
    const own = spec({}, { tty: true, env: ['TERM=vt100'] }).process.env;
    assert.deepEqual(own.filter((e) => e.startsWith('TERM=')), ['TERM=vt100']);
  });

  it('openStdin alone is the stdin annotation, beside the log ones', () => {
    assert.deepEqual(spec({}, { openStdin: true }).annotations, { 'tsswarm.stdin': 'open' });
    assert.deepEqual(spec({}, { openStdin: true, log: { kind: 'none' } }).annotations, { 'tsswarm.log.driver': 'none', 'tsswarm.stdin': 'open' });
    assert.equal(spec({}, { openStdin: true }).process.terminal, false);
  });

  it('with tty, stdin is the pty: openStdin adds nothing', () => {
    const s = spec({}, { tty: true, openStdin: true });
    assert.equal(s.process.terminal, true);
    assert.equal('annotations' in s, false);
  });

  it('a tty task\'s log keeps its annotations (the shim relays the pty as it relays the pipe)', () => {
    assert.deepEqual(spec({}, { tty: true, log: { kind: 'rotate', maxBytes: 1000, maxFiles: 2 } }).annotations, {
      'tsswarm.log.path': '/var/lib/tsswarm/logs/c1.log',
      'tsswarm.log.max-size': '1000',
      'tsswarm.log.max-file': '2',
    });
  });
});
