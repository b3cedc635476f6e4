/**
 * Every runtime key of a stack (RuntimeSettings: cap_add, cap_drop, ulimits, read_only, tmpfs,
 * shm_size, sysctls, init, stop_signal, security_opt, oom_score_adj, devices, privileged), checked
 * from inside a real container of the native runtime, as Docker would behave: the container reads
 * its own /proc, tries what the key allows or forbids, and prints what happened. Each key has a
 * control (the same container without it), so a check the kernel would pass anyway proves nothing.
 *
 * Needs root and the built addon. Everything it creates lives under one temp dir and one cgroup
 * parent, and is removed in `after` even when assertions fail.
 */
import { defaultContainerSpec, taskSpecOf } from '../../shared/task-spec';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../../agent/runtime';
import { maxOpenFiles, splitDev } from '../../agent/runtime/oci/host';
import type { ContainerConfig, Runtime } from '../../agent/runtime/types';
import { ContainerController } from '../../agent/executor/container-controller';
import type { ImageSource, PreparedImage } from '../../agent/image/types';
import type { AssignedTask } from '../../shared/proto/codec';
import { defaultRuntimeSettings, type DeviceMapping, type RuntimeSettings } from '../../shared/types';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { cgroupParentDirs, containerConfig, eventually, makeScratch, removeCgroupDirs, removeContainers, logValues as values, requireRootAndAddon, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/runtime-keys.test.ts', 'namespaces, mounts and cgroups');

const readTrim = (p: string): string => readFileSync(p, 'utf8').trim();
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const SHM_RMID_FORCED = '/proc/sys/kernel/shm_rmid_forced';
// Read before anything is created: after() checks that no container changed them.
const hostIpForward = readTrim(IP_FORWARD);
const hostShmRmidForced = readTrim(SHM_RMID_FORCED);
const hostStatus = readFileSync('/proc/self/status', 'utf8');
/** This process's bounding set, in /proc's hex: what a privileged container gets as CapEff. */
const hostCapBnd = /^CapBnd:\s+([0-9a-f]+)$/m.exec(hostStatus)?.[1] ?? '';
/** Docker's default capability set (runtime.test.ts checks it), as /proc prints it. */
const DOCKER_CAPS = 0xa80425fbn;
const CAP_CHOWN = 0;
const CAP_NET_ADMIN = 12;

const scratch = makeScratch('keys', 'tsswarm-keys-it');
const { tmp, cgroupParent, layer } = scratch;
const rt: Runtime = createRuntime({ root: join(tmp, 'state'), cgroupParent });

/** Docker's defaults (defaultRuntimeSettings) with `over` changed. */
const runtimeWith = (over: Partial<RuntimeSettings>): RuntimeSettings => ({ ...defaultRuntimeSettings(), ...over });
const cfg = (id: string, script: string, over: Partial<RuntimeSettings> = {}, init = false): ContainerConfig =>
  containerConfig(scratch, id, ['sh', '-c', script], { runtime: runtimeWith({ ...over, init }) });
const logOf = (id: string): string => readFileSync(join(tmp, 'logs', `${id}.log`), 'utf8');

interface Run {
  exitCode: number;
  /** The container's stdout and stderr. */
  log: string;
  /** `key -> value` of every `key=value` line it printed. */
  vals: Map<string, string>;
}


/** Runs `sh -c script` with the runtime keys `over` to completion, removes it, returns what it printed. */
async function runSh(id: string, script: string, over: Partial<RuntimeSettings> = {}): Promise<Run> {
  await rt.run(cfg(id, script, over, over.init ?? false));
  try {
    const st = await rt.wait(id, AbortSignal.timeout(10_000));
    const log = logOf(id);
    return { exitCode: st.exitCode, log, vals: values(log) };
  } finally {
    await rt.remove(id);
  }
}

/** The value the container printed for `key`; fails with its whole log when it printed none. */
function val(r: Run, key: string): string {
  const v = r.vals.get(key);
  assert.ok(v !== undefined, `the container printed no ${key}=...; its log:\n${r.log}`);
  return v;
}

const capBits = (hex: string): bigint => BigInt(`0x${hex}`);
const hasCap = (hex: string, bit: number): boolean => ((capBits(hex) >> BigInt(bit)) & 1n) === 1n;

/** Prints the container's own status fields as `CapEff=...` lines. */
const STATUS = "sed -n 's/^\\(CapEff\\|CapPrm\\|CapBnd\\|NoNewPrivs\\|Seccomp\\):[[:space:]]*/\\1=/p' /proc/self/status";

interface MountRow {
  fstype: string;
  /** Per-mount options (ro, nosuid, ...). */
  opts: string[];
  /** The filesystem's options (size=, mode=). */
  superOpts: string[];
}

/** `mount point -> row` from a mountinfo text the container printed (lines starting with a mount id). */
function mountinfo(text: string): Map<string, MountRow> {
  const out = new Map<string, MountRow>();
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined || !/^\d+ \d+ /.test(left)) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    out.set(f[4] ?? '', { fstype: r[0] ?? '', opts: (f[5] ?? '').split(','), superOpts: (r[2] ?? '').split(',') });
  }
  return out;
}

function mountAt(rows: Map<string, MountRow>, target: string): MountRow {
  const m = rows.get(target);
  assert.ok(m !== undefined, `nothing mounted at ${target} in the container: ${[...rows.keys()].join(' ')}`);
  return m;
}


const untilLogHas = (id: string, marker: string): Promise<true> => eventually(`${marker} in ${id}'s log`, () => (existsSync(join(tmp, 'logs', `${id}.log`)) && logOf(id).includes(marker) ? true : null));

/** Whether the container is still running `ms` from now. */
async function stillRunningAfter(id: string, ms: number): Promise<boolean> {
  await new Promise((r) => setTimeout(r, ms));
  return (await rt.inspect(id))?.status === 'running';
}

/** `pid state comm` of every process in the pid namespace of host PID `pid`, read from the host. */
function processesInPidNsOf(pid: number): string[] {
  const ns = readlinkSync(`/proc/${pid}/ns/pid`);
  const out: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${p}/ns/pid`) !== ns) continue;
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.push(`${p} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '?'} ${comm}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** A sh loop that prints `ready`, then waits for `sig` and prints `got <sig>` (a trap, so also as PID 1). */
const trapScript = (sig: string): string => `trap "echo got ${sig}; exit 0" ${sig}; echo ready; while :; do sleep 0.1; done`;

before(() => {
  makeBusyboxRootfs(layer);
});

after(async () => {
  const problems: string[] = [];
  await removeContainers([rt], problems);
  unmountLeftovers(tmp, problems);
  removeCgroupDirs(cgroupParentDirs(cgroupParent), problems);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
  assert.equal(readTrim(IP_FORWARD), hostIpForward, "the host's net.ipv4.ip_forward is unchanged");
  assert.equal(readTrim(SHM_RMID_FORCED), hostShmRmidForced, "the host's kernel.shm_rmid_forced is unchanged");
});

describe('runtime keys, seen from inside the container (root)', () => {
  it('cap_add CAP_NET_ADMIN: CapEff gains bit 12 and ip link add works in its own netns; the default cannot', async () => {
    // A veth pair rather than `type dummy`: some kernels (this test's CI) have no dummy driver,
    // and either needs CAP_NET_ADMIN in the netns alike.
    const script = `${STATUS}; ip link add v0 type veth peer name v1 2>&1; echo "add=$?"; ip -o link show v0 >/dev/null 2>&1; echo "shown=$?"`;
    const added = await runSh('cap-add', script, { capAdd: ['CAP_NET_ADMIN'] });
    const eff = val(added, 'CapEff');
    assert.ok(hasCap(eff, CAP_NET_ADMIN), `CapEff ${eff} has CAP_NET_ADMIN (bit 12)`);
    assert.equal(capBits(eff), DOCKER_CAPS | (1n << BigInt(CAP_NET_ADMIN)), `CapEff ${eff} is Docker's default set plus CAP_NET_ADMIN`);
    assert.equal(val(added, 'add'), '0', `ip link add with CAP_NET_ADMIN: ${added.log}`);
    assert.equal(val(added, 'shown'), '0', 'the new link exists in the container\'s netns');
    assert.equal(existsSync('/sys/class/net/v0'), false, "the link is not in the host's netns");

    const plain = await runSh('cap-add-ctl', script);
    assert.equal(hasCap(val(plain, 'CapEff'), CAP_NET_ADMIN), false, 'by default no CAP_NET_ADMIN');
    assert.notEqual(val(plain, 'add'), '0', 'ip link add without CAP_NET_ADMIN fails');
    assert.match(plain.log, /Operation not permitted/, 'and says why');
  });

  it('cap_drop CAP_CHOWN: chown fails with Operation not permitted; the default may chown', async () => {
    const script = `${STATUS}; touch /tmp/x; chown 1 /tmp/x 2>&1; echo "chown=$?"`;
    const dropped = await runSh('cap-drop', script, { capDrop: ['CAP_CHOWN'] });
    assert.equal(hasCap(val(dropped, 'CapEff'), CAP_CHOWN), false, 'CapEff without CAP_CHOWN (bit 0)');
    assert.notEqual(val(dropped, 'chown'), '0', 'chown without CAP_CHOWN fails');
    assert.match(dropped.log, /chown: \/tmp\/x: Operation not permitted/, 'with EPERM');

    const plain = await runSh('cap-drop-ctl', script);
    assert.equal(val(plain, 'chown'), '0', `chown with Docker's default caps works: ${plain.log}`);
  });

  it('cap_drop ALL: no capabilities in any set', async () => {
    const r = await runSh('cap-drop-all', STATUS, { capDrop: ['ALL'] });
    assert.equal(capBits(val(r, 'CapEff')), 0n, 'CapEff is 0');
    assert.equal(capBits(val(r, 'CapPrm')), 0n, 'CapPrm is 0');
    assert.equal(capBits(val(r, 'CapBnd')), 0n, 'CapBnd is 0');
  });

  it('ulimits nofile/nproc/core are what the shell sees; the default nofile is min(1048576, what this host grants)', async () => {
    const script = 'echo "n=$(ulimit -n)"; echo "Hn=$(ulimit -Hn)"; echo "u=$(ulimit -u)"; echo "Hu=$(ulimit -Hu)"; echo "c=$(ulimit -c)"; echo "Hc=$(ulimit -Hc)"';
    const ulimits = [
      { name: 'nofile', soft: 1000, hard: 2000 },
      { name: 'nproc', soft: 500, hard: 600 },
      { name: 'core', soft: 0, hard: 0 },
    ];
    const r = await runSh('ulimits', script, { ulimits });
    assert.equal(val(r, 'n'), '1000', 'nofile soft');
    assert.equal(val(r, 'Hn'), '2000', 'nofile hard');
    assert.equal(val(r, 'u'), '500', 'nproc soft');
    assert.equal(val(r, 'Hu'), '600', 'nproc hard');
    assert.equal(val(r, 'c'), '0', 'core soft');
    assert.equal(val(r, 'Hc'), '0', 'core hard');

    const expected = String(maxOpenFiles());
    const plain = await runSh('ulimits-default', script);
    assert.equal(val(plain, 'n'), expected, `default nofile soft is maxOpenFiles() = ${expected}`);
    assert.equal(val(plain, 'Hn'), expected, `default nofile hard is maxOpenFiles() = ${expected}`);
  });

  it('read_only: / is mounted ro and cannot be written, while a tmpfs /tmp can', async () => {
    const script = 'touch /x 2>&1; echo "root=$?"; touch /tmp/y; echo "tmp=$?"; mount | grep " on / "; cat /proc/self/mountinfo';
    const r = await runSh('read-only', script, { readOnly: true, tmpfs: [{ target: '/tmp', sizeBytes: null, mode: 0o1777, options: [] }] });
    assert.notEqual(val(r, 'root'), '0', 'touch /x on a read-only root fails');
    assert.match(r.log, /touch: \/x: Read-only file system/, 'with EROFS');
    assert.equal(val(r, 'tmp'), '0', `touch /tmp/y on the tmpfs works: ${r.log}`);
    assert.match(r.log, /^overlay on \/ type overlay \(ro,/m, '`mount` shows / ro');
    const rows = mountinfo(r.log);
    assert.ok(mountAt(rows, '/').opts.includes('ro'), 'mountinfo: / ro');
    assert.equal(mountAt(rows, '/tmp').fstype, 'tmpfs', '/tmp is the tmpfs');
    assert.ok(mountAt(rows, '/tmp').opts.includes('rw'), '/tmp rw');

    const plain = await runSh('read-only-ctl', 'touch /x; echo "root=$?"');
    assert.equal(val(plain, 'root'), '0', `by default the root is writable: ${plain.log}`);
  });

  it('tmpfs: size, mode and exec as given; without options noexec,nosuid,nodev', async () => {
    const runScript = (dir: string, key: string): string => `printf '#!/bin/sh\\necho ran\\n' > ${dir}/s; chmod +x ${dir}/s; ${dir}/s 2>&1; echo "${key}=$?"`;
    const script = `${runScript('/run/t', 'exec_t')}; ${runScript('/run/d', 'exec_d')}; stat -c 'mode_t=%a' /run/t; cat /proc/self/mountinfo`;
    const r = await runSh('tmpfs', script, {
      tmpfs: [
        { target: '/run/t', sizeBytes: 1048576, mode: 0o1770, options: ['exec'] },
        { target: '/run/d', sizeBytes: null, mode: null, options: [] },
      ],
    });
    const rows = mountinfo(r.log);
    const t = mountAt(rows, '/run/t');
    assert.equal(t.fstype, 'tmpfs', '/run/t is a tmpfs');
    assert.ok(t.superOpts.includes('size=1024k'), `/run/t size=1024k: ${t.superOpts.join(',')}`);
    assert.ok(t.superOpts.includes('mode=1770'), `/run/t mode=1770: ${t.superOpts.join(',')}`);
    assert.equal(t.opts.includes('noexec'), false, `/run/t without noexec: ${t.opts.join(',')}`);
    assert.equal(val(r, 'mode_t'), '1770', 'stat sees mode 1770');
    assert.equal(val(r, 'exec_t'), '0', `a script on the exec tmpfs runs: ${r.log}`);
    const d = mountAt(rows, '/run/d');
    for (const o of ['noexec', 'nosuid', 'nodev']) assert.ok(d.opts.includes(o), `default tmpfs /run/d has ${o}: ${d.opts.join(',')}`);
    assert.notEqual(val(r, 'exec_d'), '0', 'a script on the noexec tmpfs does not run');
    assert.match(r.log, /\/run\/d\/s: Permission denied/, 'with EACCES');
  });

  it('shm_size 128 MiB: /dev/shm is a tmpfs of size=131072k (default 65536k)', async () => {
    const r = await runSh('shm', 'cat /proc/self/mountinfo', { shmSizeBytes: 128 * 1024 * 1024 });
    const shm = mountAt(mountinfo(r.log), '/dev/shm');
    assert.equal(shm.fstype, 'tmpfs');
    assert.ok(shm.superOpts.includes('size=131072k'), `/dev/shm size=131072k: ${shm.superOpts.join(',')}`);
    const plain = mountAt(mountinfo((await runSh('shm-ctl', 'cat /proc/self/mountinfo')).log), '/dev/shm');
    assert.ok(plain.superOpts.includes('size=65536k'), `default /dev/shm size=65536k: ${plain.superOpts.join(',')}`);
  });

  it('sysctls: namespaced values are set inside, the host keeps its own', async () => {
    const script = `echo "fwd=$(cat ${IP_FORWARD})"; echo "rmid=$(cat ${SHM_RMID_FORCED})"; echo 0 > ${IP_FORWARD} 2>&1; echo "write=$?"`;
    const r = await runSh('sysctls', script, { sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.shm_rmid_forced': '1' } });
    assert.equal(val(r, 'fwd'), '1', 'net.ipv4.ip_forward inside');
    assert.equal(val(r, 'rmid'), '1', 'kernel.shm_rmid_forced inside');
    // Applied before /proc/sys goes read-only: the container itself still may not change it.
    assert.notEqual(val(r, 'write'), '0', '/proc/sys stays read-only for the container');
    assert.match(r.log, /Read-only file system/);
    // A new netns may inherit the host's ip_forward; 0 tells the key from the inheritance.
    const zero = await runSh('sysctls-0', `echo "fwd=$(cat ${IP_FORWARD})"`, { sysctls: { 'net.ipv4.ip_forward': '0' } });
    assert.equal(val(zero, 'fwd'), '0', 'net.ipv4.ip_forward=0 inside');
    const plain = await runSh('sysctls-ctl', `echo "rmid=$(cat ${SHM_RMID_FORCED})"`);
    assert.equal(val(plain, 'rmid'), '0', "without the key, a new ipc namespace has the kernel's default 0");
    assert.equal(readTrim(IP_FORWARD), hostIpForward, "the host's ip_forward");
    assert.equal(readTrim(SHM_RMID_FORCED), hostShmRmidForced, "the host's shm_rmid_forced");
  });

  it('init: /sbin/docker-init is PID 1 with the command as its child, and reaps orphans', async () => {
    const r = await runSh('init', 'echo "cmdline=$(tr "\\0" " " < /proc/1/cmdline)"; echo "pid=$$"; echo "ppid=$(sed -n "s/^PPid:[[:space:]]*//p" /proc/$$/status)"', { init: true });
    assert.match(val(r, 'cmdline'), /^\/sbin\/docker-init -- sh -c /, 'PID 1 is docker-init running the command');
    assert.notEqual(val(r, 'pid'), '1', 'the command is not PID 1');
    assert.equal(val(r, 'ppid'), '1', 'the command is the child of PID 1');

    // An orphan (its parent sh exits at once) is reparented to PID 1 and exits after 0.1 s.
    const reaped = await runSh('init-zombie', 'sh -c "sleep 0.1 &"; sleep 1; ps -o stat,pid,comm', { init: true });
    const rows = reaped.log.trim().split('\n').slice(1);
    assert.ok(rows.some((l) => /^\S+\s+1\s+docker-init/.test(l)), `ps shows docker-init as PID 1: ${reaped.log}`);
    assert.deepEqual(rows.filter((l) => l.startsWith('Z')), [], 'no zombie remains under init');

    // The control: a PID 1 that never waits (sleep) keeps the orphan as a zombie.
    for (const init of [false, true]) {
      const id = init ? 'zombie-init' : 'zombie-noinit';
      const info = await rt.run(cfg(id, 'sh -c "sleep 0.1 &"; exec sleep 1000', {}, init));
      try {
        await new Promise((res) => setTimeout(res, 800));
        const zombies = processesInPidNsOf(info.pid ?? -1).filter((p) => p.split(' ')[1] === 'Z');
        if (init) assert.deepEqual(zombies, [], 'docker-init reaps the orphan');
        else assert.equal(zombies.length, 1, `without init the orphan stays a zombie of PID 1 (sleep): ${processesInPidNsOf(info.pid ?? -1).join('; ')}`);
      } finally {
        await rt.remove(id);
      }
    }
  });

  it('init: SIGTERM reaches the command and the container exits; without init a PID 1 sleep ignores it', async () => {
    const trapped = 'init-term';
    await rt.run(cfg(trapped, trapScript('TERM'), {}, true));
    try {
      await untilLogHas(trapped, 'ready');
      await rt.kill(trapped, 'SIGTERM');
      const st = await rt.wait(trapped, AbortSignal.timeout(5000));
      assert.match(logOf(trapped), /got TERM/, "the command's trap ran");
      assert.equal(st.exitCode, 0, 'the container exits with the command\'s status');
    } finally {
      await rt.remove(trapped);
    }

    // No handler: under init the signal's default action ends sleep; as PID 1 the kernel ignores it.
    for (const init of [true, false]) {
      const id = init ? 'init-sleep' : 'noinit-sleep';
      await rt.run(containerConfig(scratch, id, ['sleep', '1000'], { runtime: runtimeWith({ init }) }));
      try {
        await rt.kill(id, 'SIGTERM');
        if (init) {
          const st = await rt.wait(id, AbortSignal.timeout(5000));
          assert.equal(st.exitCode, 143, `under init, sleep dies of SIGTERM (128+15): ${JSON.stringify(st)}`);
        } else {
          assert.equal(await stillRunningAfter(id, 500), true, 'a PID 1 sleep ignores SIGTERM');
          await rt.kill(id, 'SIGKILL');
          assert.equal((await rt.wait(id, AbortSignal.timeout(5000))).exitCode, 137);
        }
      } finally {
        await rt.remove(id);
      }
    }
  });

  it('stop_signal: runtime.kill delivers SIGUSR1 to a trap, and ContainerController.shutdown sends the service\'s stop_signal', async () => {
    const id = 'usr1';
    await rt.run(cfg(id, trapScript('USR1')));
    try {
      await untilLogHas(id, 'ready');
      await rt.kill(id, 'SIGUSR1');
      assert.equal((await rt.wait(id, AbortSignal.timeout(5000))).exitCode, 0, 'the trap exits 0');
      assert.match(logOf(id), /got USR1/, 'the trap saw SIGUSR1');
    } finally {
      await rt.remove(id);
    }
    // A real-time stop_signal (SIGRTMIN+3 = 37 with glibc), also through docker-init's forwarding.
    for (const init of [false, true]) {
      const rtId = init ? 'rtmin-init' : 'rtmin';
      await rt.run(cfg(rtId, trapScript('37'), {}, init));
      try {
        await untilLogHas(rtId, 'ready');
        await rt.kill(rtId, 'SIGRTMIN+3' as NodeJS.Signals);
        assert.equal((await rt.wait(rtId, AbortSignal.timeout(5000))).exitCode, 0, `SIGRTMIN+3 reached the trap${init ? ' through init' : ''}`);
        assert.match(logOf(rtId), /got 37/);
      } finally {
        await rt.remove(rtId);
      }
    }

    const images: ImageSource = {
      prepare: async (ref: string): Promise<PreparedImage> => ({
        ref,
        digest: `sha256:${'0'.repeat(64)}`,
        layers: [layer],
        config: { entrypoint: null, cmd: ['sh'], env: [], workingDir: null, user: null },
      }),
    };
    const task = (taskId: string, stopSignal: string | null, graceMs: number, init: boolean): AssignedTask => ({
      id: taskId,
      serviceId: 'svc',
      serviceName: 'keys',
      slot: 1,
      desiredState: 'running',
      spec: taskSpecOf({
        ...defaultContainerSpec('busybox:latest'),
        command: ['sh', '-c', trapScript('USR1')],
        hostname: 'keys',
        stopGracePeriodMs: graceMs,
        runtime: runtimeWith({ stopSignal, init }),
      }),
      observedState: 'assigned',
      networks: [],
      paused: false,
      serviceLabels: {},
    });
    /** prepare, start, shutdown; returns the exit status and the log. */
    const lifecycle = async (taskId: string, stopSignal: string | null, graceMs: number, init = false): Promise<{ exitCode: number; log: string; ms: number }> => {
      const c = new ContainerController(task(taskId, stopSignal, graceMs, init), rt, images, join(tmp, 'logs'), null);
      await c.prepare(AbortSignal.timeout(5000));
      await c.start();
      try {
        await untilLogHas(taskId, 'ready');
        const t0 = Date.now();
        await c.shutdown();
        const ms = Date.now() - t0;
        const st = await c.wait(AbortSignal.timeout(5000));
        return { exitCode: st.exitCode, log: logOf(taskId), ms };
      } finally {
        await c.remove();
      }
    };
    const usr1 = await lifecycle('ctl-usr1', 'SIGUSR1', 5000);
    assert.match(usr1.log, /got USR1/, 'shutdown() sent stop_signal SIGUSR1');
    assert.equal(usr1.exitCode, 0, 'the container stopped by its trap, not by SIGKILL');
    assert.ok(usr1.ms < 4000, `shutdown returned on exit, not after the grace period (${usr1.ms} ms)`);
    const withInit = await lifecycle('ctl-usr1-init', 'SIGUSR1', 5000, true);
    assert.match(withInit.log, /got USR1/, 'with init: true, docker-init forwards the stop_signal to the command');
    assert.equal(withInit.exitCode, 0);
    // The control: without stop_signal, SIGTERM, which the USR1-only PID 1 ignores: SIGKILL after the grace period.
    const term = await lifecycle('ctl-term', null, 300);
    assert.doesNotMatch(term.log, /got USR1/);
    assert.equal(term.exitCode, 137, 'SIGTERM ignored, SIGKILL after the grace period');
  });

  it('security_opt no-new-privileges: NoNewPrivs 1 (default 0)', async () => {
    assert.equal(val(await runSh('nnp', STATUS, { noNewPrivileges: true }), 'NoNewPrivs'), '1', 'no-new-privileges sets NoNewPrivs');
    assert.equal(val(await runSh('nnp-ctl', STATUS), 'NoNewPrivs'), '0', 'by default NoNewPrivs is 0');
  });

  it('security_opt seccomp: unconfined is mode 0, the default 2, a custom profile denies what it names', async () => {
    const script = `${STATUS}; mkdir /tmp/d 2>&1; echo "mkdir=$?"; touch /tmp/f; echo "touch=$?"; echo "ls=$(ls /tmp | tr '\\n' ' ')"`;
    const unconfined = await runSh('seccomp-unconfined', script, { seccomp: { mode: 'unconfined', profile: null } });
    assert.equal(val(unconfined, 'Seccomp'), '0', 'seccomp=unconfined: no filter');
    const plain = await runSh('seccomp-default', script);
    assert.equal(val(plain, 'Seccomp'), '2', "Docker's default profile is a filter");
    assert.equal(val(plain, 'mkdir'), '0', 'the default profile allows mkdir');

    const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    const custom = await runSh('seccomp-custom', script, { seccomp: { mode: 'custom', profile } });
    assert.equal(val(custom, 'Seccomp'), '2', 'the custom profile is a filter');
    assert.notEqual(val(custom, 'mkdir'), '0', 'mkdir is denied by the profile');
    assert.match(custom.log, /mkdir: can't create directory '\/tmp\/d': Operation not permitted/, 'with EPERM (SCMP_ACT_ERRNO)');
    assert.equal(val(custom, 'touch'), '0', 'other syscalls are allowed (defaultAction)');
    assert.equal(val(custom, 'ls'), 'f ', 'and the shell still lists what it made');
  });

  it('oom_score_adj 500 is the container\'s', async () => {
    const script = 'echo "adj=$(cat /proc/self/oom_score_adj)"';
    assert.equal(val(await runSh('oom', script, { oomScoreAdj: 500 }), 'adj'), '500', '/proc/self/oom_score_adj');
  });

  it('devices: mapped nodes exist with the host\'s major:minor and open; an unmapped one does not', async () => {
    const hex = (path: string): string => {
      const { major, minor } = splitDev(statSync(path).rdev);
      return `${major.toString(16)} ${minor.toString(16)}`;
    };
    const devices: DeviceMapping[] = [{ pathOnHost: '/dev/zero', pathInContainer: '/dev/myzero', permissions: 'rwm' }];
    const fuse = existsSync('/dev/fuse');
    if (fuse) devices.push({ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rwm' });
    const script = [
      `echo "zero=$(stat -c '%F %t %T' /dev/myzero)"`,
      `echo "byte=$(head -c 1 /dev/myzero | od -An -tx1 | tr -d ' ')"`,
      `if [ -e /dev/fuse ]; then echo "fuse=$(stat -c '%F %t %T' /dev/fuse)"; (: <> /dev/fuse) 2>&1; echo "fuse_open=$?"; fi`,
      // 7:0 (loop0) is in no rule: mknod may create it, opening it is refused by the device cgroup.
      'mknod /tmp/loop b 7 0; (: < /tmp/loop) 2>&1; echo "loop_open=$?"',
    ].join('; ');
    const r = await runSh('devices', script, { devices });
    assert.equal(val(r, 'zero'), `character special file ${hex('/dev/zero')}`, "/dev/myzero has /dev/zero's numbers");
    assert.equal(val(r, 'byte'), '00', 'a byte read from /dev/myzero');
    if (fuse) {
      assert.equal(val(r, 'fuse'), `character special file ${hex('/dev/fuse')}`, "/dev/fuse has the host's numbers");
      assert.equal(val(r, 'fuse_open'), '0', `/dev/fuse opens: ${r.log}`);
    }
    assert.notEqual(val(r, 'loop_open'), '0', 'an unmapped device cannot be opened');
    assert.match(r.log, /\/tmp\/loop: Operation not permitted/, 'refused by the device cgroup');

    const plain = await runSh('devices-ctl', '[ -e /dev/myzero ]; echo "zero=$?"; [ -e /dev/fuse ]; echo "fuse=$?"');
    assert.notEqual(val(plain, 'zero'), '0', 'no /dev/myzero without the key');
    assert.notEqual(val(plain, 'fuse'), '0', 'no /dev/fuse without the key');
  });

  it("privileged: CapEff is the host's bounding set, no seccomp, /sys rw, /proc/sys writable for a namespaced knob", async () => {
    const other = hostIpForward === '1' ? '0' : '1';
    const script = `${STATUS}; echo ${other} > ${IP_FORWARD} 2>&1; echo "write=$?"; echo "fwd=$(cat ${IP_FORWARD})"; [ -b /dev/loop0 ]; echo "loop0=$?"; cat /proc/self/mountinfo`;
    const r = await runSh('privileged', script, { privileged: true });
    assert.equal(val(r, 'CapEff'), hostCapBnd, "CapEff is this host's CapBnd");
    assert.equal(val(r, 'CapBnd'), hostCapBnd, "CapBnd is this host's CapBnd");
    assert.equal(val(r, 'Seccomp'), '0', 'no seccomp filter');
    const rows = mountinfo(r.log);
    assert.ok(mountAt(rows, '/sys').opts.includes('rw'), `/sys rw: ${mountAt(rows, '/sys').opts.join(',')}`);
    assert.equal(val(r, 'write'), '0', `writing net.ipv4.ip_forward in its own netns works: ${r.log}`);
    assert.equal(val(r, 'fwd'), other, 'and reads back');
    assert.equal(readTrim(IP_FORWARD), hostIpForward, "the host's ip_forward is unchanged");
    if (existsSync('/dev/loop0')) assert.equal(val(r, 'loop0'), '0', "the host's devices are the container's (/dev/loop0)");

    const plain = await runSh('privileged-ctl', script);
    assert.notEqual(val(plain, 'write'), '0', 'by default /proc/sys is read-only');
    assert.ok(mountAt(mountinfo(plain.log), '/sys').opts.includes('ro'), 'by default /sys is ro');
  });
});
