/**
 * "A container cannot touch its host": a container with Docker's default confinement (the default
 * RuntimeSettings) runs a probe (probe/escape-probe.c, built static at test time) that tries the
 * known ways out, through /proc and /sys, device nodes, mounts, syscalls, other processes and
 * symlinks in the image, and every attempt must be refused. Each refusal has a control: the same
 * probe in a container that is given the one thing Docker withholds (privileged, a capability, no
 * seccomp) gets through, so a probe that cannot reach the kernel at all cannot pass the test. The
 * confinement is tested by attacking it, never by switching it off in the harness.
 *
 * The device check runs on both cgroup versions: the v1 devices controller, and the v2 device
 * program on the (controller-less on hybrid hosts) cgroup2 mount.
 *
 * Needs root, gcc with a static libc and the built addon. Everything it creates lives under one temp
 * dir and one cgroup parent, and is removed in `after` even when assertions fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NativeError } from '../../shared/errors';
import { defaultRuntimeSettings, type DeviceMapping, type RuntimeSettings } from '../../shared/types';
import { createRuntime, InvalidContainerConfigError } from '../../agent/runtime';
import type { ContainerConfig, Runtime } from '../../agent/runtime/types';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { cgroupParentDirs, containerConfig, makeScratch, mountsUnder, removeCgroupDirs, removeContainers, requireRootAndAddon, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/confinement.test.ts', 'namespaces, mounts and cgroups');

/** A shell step: a probe invocation (its argv) or a line of shell. */
type Step = string[] | string;

const PROBE_SOURCE = resolve(__dirname, '..', '..', '..', 'test', 'integration', 'probe', 'escape-probe.c');
const PROBE = '/bin/escape-probe';

/** Set in this process's environment, so in the agent's: no container may find it in any environ. */
const HOST_MARKER = `tsswarm-host-${randomBytes(8).toString('hex')}`;
process.env.TSSWARM_CONF_IT_MARKER = HOST_MARKER;
/** Set in the probe container's own environment: the control that the environ scan reads anything. */
const OWN_MARKER = `tsswarm-own-${randomBytes(8).toString('hex')}`;

const readTrim = (p: string): string => readFileSync(p, 'utf8').trim();
const CORE_PATTERN = '/proc/sys/kernel/core_pattern';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const YAMA_SCOPE = '/proc/sys/kernel/yama/ptrace_scope';
const hostCorePattern = readTrim(CORE_PATTERN);
const hostIpForward = readTrim(IP_FORWARD);
/** Written inside containers: the opposite of the host's, so a write that leaked would show. */
const otherIpForward = hostIpForward === '1' ? '0' : '1';

/** A block device node of the host, with its numbers. */
interface HostDisk {
  path: string;
  major: number;
  minor: number;
}

const majorOf = (dev: bigint): number => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
const minorOf = (dev: bigint): number => Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));

/**
 * The block device the container must fail to open: the host's root disk if this process can open
 * it, else loop0 (7:0). A sandbox may refuse the host itself its root disk (this one does, EPERM
 * for /dev/vda): a refusal the test process shares would prove nothing about the container.
 */
function hostDisk(): HostDisk {
  const rootDev = statSync('/', { bigint: true }).dev;
  const nodes = readdirSync('/dev')
    .map((name) => ({ path: join('/dev', name), st: statSync(join('/dev', name), { bigint: true, throwIfNoEntry: false }) }))
    .filter((n) => n.st?.isBlockDevice() === true);
  const candidates = [...nodes.filter((n) => n.st?.rdev === rootDev), ...nodes.filter((n) => n.path === '/dev/loop0')];
  const tried: string[] = [];
  for (const n of candidates) {
    try {
      closeSync(openSync(n.path, 'r'));
      const rdev = n.st?.rdev ?? 0n;
      return { path: n.path, major: majorOf(rdev), minor: minorOf(rdev) };
    } catch (e) {
      tried.push(`${n.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  throw new Error(`no block device this host can open for the device-cgroup check (tried ${tried.join(', ') || 'none'})`);
}
const disk = hostDisk();
const mknodDisk: Step = ['mknod', '/disk', 'b', String(disk.major), String(disk.minor)];
/** The control: the same device given to the container (compose `devices: - <disk>:/disk:r`). */
const diskMapping = (): DeviceMapping => ({ pathOnHost: disk.path, pathInContainer: '/disk', permissions: 'r' });

/** This process's bounding set: what a privileged container gets. */
const hostBounding = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);

/** Docker's defaults (defaultRuntimeSettings) with `over` changed. */
const runtimeWith = (over: Partial<RuntimeSettings>): RuntimeSettings => ({ ...defaultRuntimeSettings(), ...over });

// The host facts above are read before anything is created: a host the test cannot use fails
// here with nothing to clean up.
const scratch = makeScratch('conf', 'tsswarm-conf-it');
const { tmp, cgroupParent, layer } = scratch;
const rt: Runtime = createRuntime({ root: join(tmp, 'state'), cgroupParent });
/** The cgroup2 mount beside a v1 host's hierarchies (hybrid); on a v2 host `rt` already is v2. */
const V2_ROOT = '/sys/fs/cgroup/unified';
const rtV2: Runtime | null = existsSync(join(V2_ROOT, 'cgroup.controllers')) ? createRuntime({ root: join(tmp, 'state-v2'), cgroupParent, cgroupRoot: V2_ROOT }) : null;

/** Host directories an image's symlinks point at; each must stay empty. */
const hostAbs = join(tmp, 'host-abs');
const hostSbin = join(tmp, 'host-sbin');
const hostEtc = join(tmp, 'host-etc');
const hostRel = join(tmp, 'host-rel');
const hostDirs = [hostAbs, hostSbin, hostEtc, hostRel];

/** Layers on top of busybox + probe; see before(). */
const evilLayer = join(tmp, 'layer-evil');
const evilEtcLayer = join(tmp, 'layer-evil-etc');
const evilHostsLayer = join(tmp, 'layer-evil-hosts');
const evilPasswdLayer = join(tmp, 'layer-evil-passwd');
/** A host file an image's /etc/passwd points at, naming a user only the host has. */
const hostPasswd = join(tmp, 'host-passwd');
/** The symlinks' targets as directories *inside* the rootfs, so containers using them can start. */
const decoyLayer = join(tmp, 'layer-decoy');

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

interface ProbeRun {
  /** `label -> "ok ..." | "errno=E..."`, one per probe line. */
  results: Map<string, string>;
  log: string;
  exitCode: number;
}

/** Runs `steps` in one container to completion, removes it and returns what the probe printed. */
async function runProbe(runtime: Runtime, id: string, steps: Step[], over: Partial<ContainerConfig> = {}): Promise<ProbeRun> {
  const script = steps.map((s) => (typeof s === 'string' ? s : [PROBE, ...s].map(shQuote).join(' '))).join('\n');
  const cfg = containerConfig(scratch, id, ['sh', '-c', script], over);
  await runtime.run(cfg);
  try {
    const st = await runtime.wait(id, AbortSignal.timeout(10_000));
    const log = readFileSync(cfg.logPath, 'utf8');
    const results = new Map<string, string>();
    for (const line of log.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) results.set(line.slice(0, space), line.slice(space + 1));
    }
    return { results, log, exitCode: st.exitCode };
  } finally {
    await runtime.remove(id);
  }
}

/** What the probe printed for `label`; fails with the whole log when it printed nothing. */
function result(run: ProbeRun, label: string): string {
  const r = run.results.get(label);
  assert.ok(r !== undefined, `the probe printed nothing for ${label}; log:\n${run.log}`);
  return r;
}

/** Asserts `label` ended as `expected` (exact, or matching), with the reason in the message. */
function expectResult(run: ProbeRun, label: string, expected: string | RegExp, why: string): void {
  const r = result(run, label);
  if (typeof expected === 'string') assert.equal(r, expected, `${label}: ${why}`);
  else assert.match(r, expected, `${label}: ${why}`);
}

function assertHostUntouched(what: string): void {
  for (const d of hostDirs) {
    assert.deepEqual(readdirSync(d), [], `${what}: ${d} on the host stays empty`);
    assert.deepEqual(mountsUnder(d), [], `${what}: nothing mounted on ${d} on the host`);
  }
}

before(() => {
  makeBusyboxRootfs(layer);
  const built = join(tmp, 'escape-probe');
  try {
    execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', built, PROBE_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`building the probe needs gcc and a static libc (gcc -static -O2 ${PROBE_SOURCE}): ${String(e)}`);
  }
  copyFileSync(built, join(layer, PROBE));
  chmodSync(join(layer, PROBE), 0o755);
  for (const d of hostDirs) mkdirSync(d);

  // Absolute symlinks at host paths: /run/secret-target (a tmpfs target) and /sbin (where `init`
  // binds its binary).
  mkdirSync(join(evilLayer, 'run'), { recursive: true });
  symlinkSync(hostAbs, join(evilLayer, 'run', 'secret-target'));
  symlinkSync(hostSbin, join(evilLayer, 'sbin'));
  // A relative one that climbs out of any rootfs: the rootfs lives a few levels below /tmp.
  symlinkSync(`../../../../../../../../..${hostRel}`, join(evilLayer, 'escape'));
  // /etc itself a link to the host (the agent writes /etc/hosts into the rootfs).
  mkdirSync(evilEtcLayer);
  symlinkSync(hostEtc, join(evilEtcLayer, 'etc'));
  // Only /etc/hosts a link to the host.
  mkdirSync(join(evilHostsLayer, 'etc'), { recursive: true });
  symlinkSync(join(hostEtc, 'hosts'), join(evilHostsLayer, 'etc', 'hosts'));
  // /etc/passwd a link to a host file (the agent reads it to resolve `user`).
  writeFileSync(hostPasswd, 'hostonly:x:4242:4242:host only:/:/bin/sh\n');
  mkdirSync(join(evilPasswdLayer, 'etc'), { recursive: true });
  symlinkSync(hostPasswd, join(evilPasswdLayer, 'etc', 'passwd'));
  for (const d of [hostAbs, hostSbin, hostRel]) mkdirSync(join(decoyLayer, d), { recursive: true });
});

after(async () => {
  const problems: string[] = [];
  await removeContainers(rtV2 === null ? [rt] : [rt, rtV2], problems);
  unmountLeftovers(tmp, problems);
  removeCgroupDirs(cgroupParentDirs(cgroupParent), problems);
  rmSync(tmp, { recursive: true, force: true });
  delete process.env.TSSWARM_CONF_IT_MARKER;
  assert.deepEqual(problems, [], 'cleanup');
  assert.equal(readTrim(CORE_PATTERN), hostCorePattern, "the host's core_pattern is unchanged");
  assert.equal(readTrim(IP_FORWARD), hostIpForward, "the host's ip_forward is unchanged");
});

describe('a container cannot touch its host', () => {
  it('with Docker\'s default confinement every escape is refused', async () => {
    const hostPid = String(process.pid);
    const hasSysrq = existsSync('/proc/sysrq-trigger');
    const hasKcore = existsSync('/proc/kcore');
    const run = await runProbe(
      rt,
      'confined',
      [
        ['status'],
        ['rewrite', CORE_PATTERN],
        ['open-write', '/proc/sysrq-trigger'],
        ['write', IP_FORWARD, otherIpForward],
        mknodDisk,
        ['open-read', '/disk'],
        ['stat', '/proc/kcore'],
        ['read', '/proc/kcore'],
        ['ls', '/sys/firmware'],
        ['read', '/proc/keys'],
        ['read', '/proc/timer_list'],
        ['mount-tmpfs', '/mnt'],
        ['umount', '/proc'],
        ['swapon', '/nonexistent-swap'],
        ['kexec-load'],
        ['init-module'],
        ['finit-module'],
        ['ptrace-child'],
        ['ptrace-other-user'],
        ['ptrace-pid', hostPid],
        ['keyctl'],
        ['bpf-map'],
        ['unshare-user'],
        ['unshare-ns'],
        ['clone-newns'],
        ['open-by-handle', '/dev/shm'],
        ['environ-scan', HOST_MARKER],
        ['environ-scan', OWN_MARKER],
      ],
      { env: [`OWN_MARKER=${OWN_MARKER}`] },
    );
    assert.equal(run.exitCode, 0, run.log);

    expectResult(run, 'status', 'ok Seccomp=2 CapEff=00000000a80425fb', "Docker's seccomp filter and default capability set");

    // /proc: the kernel's knobs are read-only, the leaky files masked.
    expectResult(run, `rewrite:${CORE_PATTERN}`, 'errno=EROFS', 'core_pattern runs a program as root on the host');
    expectResult(run, 'open-write:/proc/sysrq-trigger', hasSysrq ? 'errno=EROFS' : 'errno=ENOENT', 'sysrq-trigger reboots the host');
    expectResult(run, `write:${IP_FORWARD}`, 'errno=EROFS', '/proc/sys is read-only even for namespaced knobs (sysctls: is the way)');
    assert.equal(readTrim(CORE_PATTERN), hostCorePattern, "the host's core_pattern");
    if (hasKcore) {
      expectResult(run, 'stat:/proc/kcore', 'ok type=c rdev=1:3', '/proc/kcore is masked with /dev/null');
      expectResult(run, 'read:/proc/kcore', 'ok bytes=0', '/proc/kcore reads empty');
    } else {
      expectResult(run, 'stat:/proc/kcore', 'errno=ENOENT', 'this kernel has no /proc/kcore, the container none either');
    }
    expectResult(run, 'ls:/sys/firmware', 'ok entries=0', '/sys/firmware is an empty tmpfs');
    if (existsSync('/proc/keys')) expectResult(run, 'read:/proc/keys', 'ok bytes=0', "/proc/keys (the host's keys) is masked");
    expectResult(run, 'read:/proc/timer_list', 'ok bytes=0', '/proc/timer_list is masked');

    // The device cgroup: creating a node is allowed (Docker's "m"), opening the host's disk is not.
    expectResult(run, 'mknod:/disk', 'ok', 'Docker allows mknod (CAP_MKNOD, cgroup "m")');
    expectResult(run, 'open-read:/disk', 'errno=EPERM', `${disk.path} (b ${disk.major}:${disk.minor}), which the test process opens, cannot be opened`);

    // Mounts: no CAP_SYS_ADMIN, and seccomp refuses mount/umount before the kernel asks.
    expectResult(run, 'mount-tmpfs:/mnt', 'errno=EPERM', 'mount');
    expectResult(run, 'umount:/proc', 'errno=EPERM', 'umount /proc (would reveal what is masked)');

    // Syscalls Docker's seccomp profile refuses outright (EPERM, not the kernel's ENOSYS).
    expectResult(run, 'swapon:/nonexistent-swap', 'errno=EPERM', 'swapon');
    expectResult(run, 'kexec-load', 'errno=EPERM', 'kexec_load');
    expectResult(run, 'init-module', 'errno=EPERM', 'init_module');
    expectResult(run, 'finit-module', 'errno=EPERM', 'finit_module');
    expectResult(run, 'keyctl', 'errno=EPERM', 'keyctl: the kernel keyring is not namespaced');
    expectResult(run, 'bpf-map', 'errno=EPERM', 'bpf');
    expectResult(run, 'unshare-user', 'errno=EPERM', 'unshare(CLONE_NEWUSER): a user namespace would give back every capability');
    expectResult(run, 'unshare-ns', 'errno=EPERM', 'unshare(CLONE_NEWNS)');
    expectResult(run, 'clone-newns', 'errno=EPERM', 'clone(CLONE_NEWNS): the seccomp rule on clone flags');
    expectResult(run, 'open-by-handle:/dev/shm', 'errno=EPERM', 'open_by_handle_at (the "shocker" escape)');

    // ptrace as Docker has it: its profile allows ptrace on kernels >= 4.8 (seccomp re-checks a
    // traced syscall), and without CAP_SYS_PTRACE the kernel's own rules decide. So root may trace
    // its own child (same uid, no more capabilities than the tracer): that is Docker's behaviour,
    // asserted so a change shows. It may not trace another user's process, and the host's processes
    // do not exist for it (its pid namespace).
    // (Yama's ptrace_scope 2 and 3 want CAP_SYS_PTRACE even for that, in Docker as here.)
    const yama = existsSync(YAMA_SCOPE) ? Number(readTrim(YAMA_SCOPE)) : 0;
    expectResult(run, 'ptrace-child', yama >= 2 ? 'errno=EPERM' : 'ok', `Docker allows ptrace of a same-uid child in the container (Yama scope ${yama})`);
    expectResult(run, 'ptrace-other-user', 'errno=EPERM', 'ptrace of another uid needs CAP_SYS_PTRACE');
    expectResult(run, `ptrace-pid:${hostPid}`, 'errno=ESRCH', "the test's own (host) pid is not visible in the container");

    // The host's environment: nothing of it in any environ the container can read, while the
    // container's own is readable (the control).
    expectResult(run, `environ-scan:${HOST_MARKER}`, /^ok readable=[1-9]\d* found=0$/, "no process environment of the host is readable");
    expectResult(run, `environ-scan:${OWN_MARKER}`, /^ok readable=[1-9]\d* found=[1-9]\d*$/, "the container's own environment is");
  });

  it('the probe gets through where Docker would let it: cap_add, seccomp unconfined, a device mapping', async () => {
    // The one capability each refused syscall is gated on, with Docker's seccomp profile still
    // loaded (the profile allows what a capability covers). With CAP_SYS_ADMIN a container can
    // also unmount what makes /proc/sys read-only, and with CAP_NET_ADMIN (which the kernel wants
    // for ip_forward) the write that was EROFS then lands, in the container's own network namespace.
    const caps = await runProbe(
      rt,
      'capadd',
      [
        ['mount-tmpfs', '/mnt'],
        ['unshare-user'],
        ['unshare-ns'],
        ['clone-newns'],
        ['ptrace-other-user'],
        ['open-by-handle', '/dev/shm'],
        mknodDisk,
        ['open-read', '/disk'],
        ['umount', '/proc/sys'],
        ['write', IP_FORWARD, otherIpForward],
        `echo "ip_forward $(cat ${IP_FORWARD})"`,
      ],
      { runtime: runtimeWith({ capAdd: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH'] }) },
    );
    expectResult(caps, 'mount-tmpfs:/mnt', 'ok', 'mount with CAP_SYS_ADMIN');
    expectResult(caps, 'unshare-user', 'ok', 'unshare(CLONE_NEWUSER) with CAP_SYS_ADMIN');
    expectResult(caps, 'unshare-ns', 'ok', 'unshare(CLONE_NEWNS) with CAP_SYS_ADMIN');
    expectResult(caps, 'clone-newns', 'ok', 'clone(CLONE_NEWNS) with CAP_SYS_ADMIN');
    expectResult(caps, 'ptrace-other-user', 'ok', 'ptrace of another uid with CAP_SYS_PTRACE');
    expectResult(caps, 'open-by-handle:/dev/shm', 'ok', 'open_by_handle_at with CAP_DAC_READ_SEARCH');
    expectResult(caps, 'umount:/proc/sys', 'ok', 'umount with CAP_SYS_ADMIN');
    expectResult(caps, `write:${IP_FORWARD}`, 'ok', 'the EROFS came from the read-only /proc/sys mount');
    assert.equal(result(caps, 'ip_forward'), otherIpForward, "the write landed in the container's network namespace");
    assert.equal(readTrim(IP_FORWARD), hostIpForward, "and not in the host's");
    // Capabilities do not open devices: the device cgroup is a wall of its own.
    expectResult(caps, 'mknod:/disk', 'ok', 'mknod');
    expectResult(caps, 'open-read:/disk', 'errno=EPERM', 'the device cgroup holds with CAP_SYS_ADMIN too');

    // Without seccomp but with Docker's capabilities: keyctl (gated by nothing else) gets through,
    // mount still meets the missing capability, /proc/sys the read-only mount.
    const unconfined = await runProbe(rt, 'unconfined', [['status'], ['keyctl'], ['mount-tmpfs', '/mnt'], ['rewrite', CORE_PATTERN]], {
      runtime: runtimeWith({ seccomp: { mode: 'unconfined', profile: null } }),
    });
    expectResult(unconfined, 'status', 'ok Seccomp=0 CapEff=00000000a80425fb', 'no filter, the default capabilities');
    expectResult(unconfined, 'keyctl', 'ok', 'keyctl reaches the kernel without the filter');
    expectResult(unconfined, 'mount-tmpfs:/mnt', 'errno=EPERM', 'the kernel still wants CAP_SYS_ADMIN');
    expectResult(unconfined, `rewrite:${CORE_PATTERN}`, 'errno=EROFS', '/proc/sys stays read-only without seccomp');
    assert.equal(readTrim(CORE_PATTERN), hostCorePattern, "the host's core_pattern");

    // The device cgroup refuses per device: the host's disk given to the container opens.
    const mapped = await runProbe(rt, 'mapped-disk', [['open-read', '/disk']], { runtime: runtimeWith({ devices: [diskMapping()] }) });
    expectResult(mapped, 'open-read:/disk', 'ok', `${disk.path} mapped with "r" opens`);
  });

  it('opening the host\'s disk is refused by the cgroup v2 device program too', async (t) => {
    if (rtV2 === null) return t.skip(`no cgroup2 mount at ${V2_ROOT}: the tests above already ran on v2`);
    const confined = await runProbe(rtV2, 'v2-confined', [mknodDisk, ['open-read', '/disk'], ['status']]);
    expectResult(confined, 'mknod:/disk', 'ok', 'Docker allows mknod');
    expectResult(confined, 'open-read:/disk', 'errno=EPERM', "the v2 device program refuses the host's disk");
    expectResult(confined, 'status', 'ok Seccomp=2 CapEff=00000000a80425fb', "Docker's confinement on v2 as well");
    // The control: the same runtime, the disk mapped; the v1 devices cgroup of this container is
    // the test's own (allow-all), so the refusal above was the v2 program's.
    const mapped = await runProbe(rtV2, 'v2-mapped-disk', [['open-read', '/disk']], { runtime: runtimeWith({ devices: [diskMapping()] }) });
    expectResult(mapped, 'open-read:/disk', 'ok', `${disk.path} mapped with "r" opens`);
  });

  // Docker gives a privileged container the capabilities of the host's bounding set (moby's
  // caps.GetAllCapabilities), so it also starts where that set is smaller than the kernel's list
  // (this sandbox lacks CAP_SYS_RESOURCE).
  it('privileged: the same probe reaches the kernel (mount, /proc/sys, devices, syscalls)', async () => {
    const firmware = readdirSync('/sys/firmware').length;
    const priv = await runProbe(
      rt,
      'privileged',
      [
        ['status'],
        ['mount-tmpfs', '/mnt'],
        ['write', IP_FORWARD, otherIpForward],
        `echo "ip_forward $(cat ${IP_FORWARD})"`,
        mknodDisk,
        ['open-read', '/disk'],
        ['ls', '/sys/firmware'],
        ['read', '/proc/timer_list'],
        ['swapon', '/nonexistent-swap'],
        ['kexec-load'],
        ['init-module'],
        ['bpf-map'],
        ['keyctl'],
        ['umount', '/proc'],
      ],
      { runtime: runtimeWith({ privileged: true }) },
    );
    expectResult(priv, 'status', `ok Seccomp=0 CapEff=${hostBounding.toString(16).padStart(16, '0')}`, "no filter, the host's bounding set");
    expectResult(priv, 'mount-tmpfs:/mnt', 'ok', 'mount reaches the kernel');
    expectResult(priv, `write:${IP_FORWARD}`, 'ok', '/proc/sys is writable when privileged');
    assert.equal(result(priv, 'ip_forward'), otherIpForward, "the write landed in the container's network namespace");
    assert.equal(readTrim(IP_FORWARD), hostIpForward, "and not in the host's");
    expectResult(priv, 'mknod:/disk', 'ok', 'mknod');
    expectResult(priv, 'open-read:/disk', 'ok', 'every device is open to a privileged container');
    expectResult(priv, 'ls:/sys/firmware', `ok entries=${firmware}`, 'nothing is masked');
    expectResult(priv, 'read:/proc/timer_list', /^ok bytes=[1-9]/, 'nothing is masked');
    expectResult(priv, 'swapon:/nonexistent-swap', 'errno=ENOENT', 'swapon gets past its capability check');
    expectResult(priv, 'kexec-load', /^errno=(?!EPERM)/, 'kexec_load reaches the kernel (EINVAL for its flags, ENOSYS without kexec)');
    expectResult(priv, 'init-module', /^errno=(?!EPERM)/, 'init_module reaches the kernel');
    expectResult(priv, 'bpf-map', 'ok', 'bpf');
    expectResult(priv, 'keyctl', 'ok', 'keyctl');
    expectResult(priv, 'umount:/proc', 'ok', 'umount');
  });

  it('an image\'s symlinks cannot point a mount or a written file at the host', async () => {
    const tmpfs = (target: string): ContainerConfig['runtime']['tmpfs'] => [{ target, sizeBytes: null, mode: null, options: [] }];

    // The link's target does not exist inside the rootfs: the mount is refused (the runtime does not
    // create a path by following a link), and nothing is made on the host.
    for (const [id, over] of [
      ['abs-tmpfs', { tmpfs: tmpfs('/run/secret-target/x') }],
      ['abs-init', { init: true }],
      ['rel-tmpfs', { tmpfs: tmpfs('/escape/y') }],
    ] as const) {
      await assert.rejects(
        rt.run(containerConfig(scratch, id, ['true'], { lowerDirs: [evilLayer, layer], runtime: runtimeWith(over) })),
        (e: unknown) => {
          assert.ok(e instanceof NativeError, String(e));
          assert.match(e.syscall, /^mount /, String(e));
          assert.equal(e.errno, 2 /* ENOENT */, String(e));
          return true;
        },
        id,
      );
      assertHostUntouched(id);
    }

    // The targets exist inside the rootfs: the container starts, with the mounts there.
    const tmpfsBoth = tmpfs('/run/secret-target/x').concat(tmpfs('/escape/y'));
    const run = await runProbe(rt, 'symlinks', [['stat', '/run/secret-target/x'], ['stat', '/escape/y'], 'cat /proc/self/mountinfo'], {
      lowerDirs: [decoyLayer, evilLayer, layer],
      runtime: runtimeWith({ tmpfs: tmpfsBoth, init: true }),
    });
    assert.equal(run.exitCode, 0, run.log);
    expectResult(run, 'stat:/run/secret-target/x', 'ok type=d rdev=0:0', 'the tmpfs target, through the absolute link');
    expectResult(run, 'stat:/escape/y', 'ok type=d rdev=0:0', 'the tmpfs target, through the relative link');
    const mountPoints = run.log.split('\n').map((l) => l.split(' ')).filter((f) => f.length > 5).map((f) => `${f[4]} ${f[f.indexOf('-') + 1]}`);
    assert.ok(mountPoints.includes(`${hostAbs}/x tmpfs`), `tmpfs at ${hostAbs}/x inside the rootfs: ${mountPoints.join(', ')}`);
    assert.ok(mountPoints.includes(`${hostRel}/y tmpfs`), `tmpfs at ${hostRel}/y inside the rootfs: ${mountPoints.join(', ')}`);
    assert.ok(mountPoints.some((m) => m.startsWith(`${hostSbin}/docker-init `)), `init bound at ${hostSbin}/docker-init inside the rootfs: ${mountPoints.join(', ')}`);
    assertHostUntouched('symlinks resolved inside the rootfs');

    // The agent's own writes (/etc/hosts) do not follow links either: through a linked /etc it
    // refuses; a linked /etc/hosts is replaced by a file in the container.
    await assert.rejects(
      rt.run(containerConfig(scratch, 'etc-link', ['true'], { lowerDirs: [evilEtcLayer, layer], files: [{ path: '/etc/hosts', content: '127.0.0.1 localhost\n' }] })),
      (e: unknown) => e instanceof InvalidContainerConfigError && e.field === 'files',
    );
    await assert.rejects(
      rt.run(containerConfig(scratch, 'rel-link', ['true'], { lowerDirs: [evilLayer, layer], files: [{ path: '/escape/hosts', content: 'x\n' }] })),
      (e: unknown) => e instanceof InvalidContainerConfigError && e.field === 'files',
    );
    const hosts = await runProbe(rt, 'hosts-link', [['stat', '/etc/hosts'], 'cat /etc/hosts'], {
      lowerDirs: [evilHostsLayer, layer],
      files: [{ path: '/etc/hosts', content: '127.0.0.1 localhost\n' }],
    });
    expectResult(hosts, 'stat:/etc/hosts', 'ok type=f rdev=0:0', '/etc/hosts is a file of the container');
    assert.match(hosts.log, /^127\.0\.0\.1 localhost$/m);
    assertHostUntouched('/etc and /etc/hosts links');
    // Nor do its reads: the image's /etc/passwd is read inside the rootfs, so a link to a host file
    // finds nothing there (and the host's user is unknown).
    await assert.rejects(
      rt.run(containerConfig(scratch, 'passwd-link', ['true'], { lowerDirs: [evilPasswdLayer, layer], user: 'hostonly' })),
      (e: unknown) => e instanceof InvalidContainerConfigError && /unable to find user hostonly/.test(e.message),
    );
    assert.deepEqual(await rt.list(), [], 'refused containers leave nothing');
    assert.deepEqual(mountsUnder(tmp), [], 'and no mount');
  });
});
