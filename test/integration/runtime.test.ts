/**
 * The native runtime on the real kernel: real namespaces, overlayfs, cgroups and the shim.
 * Needs root and a built addon (npm run build:native). Everything it creates lives under one temp
 * dir and one cgroup parent, and is removed in `after` even when assertions fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { NativeError } from '../../shared/errors';
import { createRuntime, InvalidContainerConfigError } from '../../agent/runtime';
import { defaultRuntimeSettings } from '../../shared/types';
import { detectCgroupDriver } from '../../agent/runtime/cgroups';
import { netnsCreate, umount } from '../../agent/runtime/native';
import { processStartTime } from '../../agent/runtime/state';
import type { ContainerConfig, Runtime } from '../../agent/runtime/types';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { cgroupParentDirs, containerConfig, makeScratch, mountsUnder, removeCgroupDirs, removeContainers, requireRootAndAddon, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/runtime.test.ts', 'namespaces, mounts and cgroups');

const scratch = makeScratch('rt', 'tsswarm-it');
const { tmp, cgroupParent, layer, webLayer } = scratch;
const root = join(tmp, 'state');
const cgroups = detectCgroupDriver();
const rt: Runtime = createRuntime({ root, cgroupParent });
/** A cgroup2 mount: the main one on v2 hosts, the (controller-less) hybrid one on v1 hosts. */
const v2Root = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find((r) => existsSync(join(r, 'cgroup.controllers'))) ?? null;
const rtV2: Runtime | null = v2Root === null ? null : createRuntime({ root: join(tmp, 'state-v2'), cgroupParent, cgroupRoot: v2Root });
/** A node with --userns-remap: container ids 0..65535 are the host's 100000..165535. */
const REMAP = { uid: 100000, gid: 100000, size: 65536 };
const rtUserns: Runtime = createRuntime({ root: join(tmp, 'state-userns'), cgroupParent, usernsRemap: REMAP });

const cfg = (id: string, args: string[], over: Partial<ContainerConfig> = {}): ContainerConfig => containerConfig(scratch, id, args, over);

const logOf = (id: string): string => readFileSync(join(tmp, 'logs', `${id}.log`), 'utf8');

/** Runs `args` to completion and returns its exit status and output. */
async function runToEnd(id: string, args: string[], over: Partial<ContainerConfig> = {}): Promise<{ exitCode: number; out: string }> {
  await rt.run(cfg(id, args, over));
  const st = await rt.wait(id);
  const out = logOf(id);
  await rt.remove(id);
  return { exitCode: st.exitCode, out };
}

const ourMounts = (): string[] => mountsUnder(tmp);

/** `mountpoint -> "fstype options"` from a container's mountinfo. */
function mountsOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    out.set(f[4] ?? '', `${r[0]} ${f[5]}`);
  }
  return out;
}

async function eventually<T>(what: string, fn: () => T | null, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = fn();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(() => {
  makeBusyboxRootfs(layer);
  mkdirSync(join(webLayer, 'www'), { recursive: true });
  writeFileSync(join(webLayer, 'www', 'index.html'), 'hello from tsswarm\n');
});

after(async () => {
  const problems: string[] = [];
  await removeContainers(rtV2 === null ? [rt, rtUserns] : [rt, rtV2, rtUserns], problems);
  unmountLeftovers(tmp, problems);
  const parents = cgroupParentDirs(cgroupParent);
  if (v2Root !== null) parents.push(join(v2Root, cgroupParent));
  removeCgroupDirs(parents, problems);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('native runtime (root)', () => {
  it('runs PID 1 in new pid/mnt/uts/ipc/net namespaces on an overlay root with the limits applied', async () => {
    const id = 'ns';
    const limits = { memoryBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000, pids: 77 };
    const info = await rt.run(cfg(id, ['sleep', '1000'], { limits, hostname: 'box-ns' }));
    assert.equal(info.status, 'running');
    const pid = info.pid;
    assert.ok(pid !== null && pid > 0);
    try {
      for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net']) {
        assert.notEqual(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), `${ns} namespace`);
      }
      // PID 1 inside its namespace.
      assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m);

      const mounts = mountsOf(pid);
      assert.match(mounts.get('/') ?? '', /^overlay /, 'root is overlay');
      assert.match(mounts.get('/proc') ?? '', /^proc /);
      assert.match(mounts.get('/dev') ?? '', /^tmpfs /);
      assert.match(mounts.get('/dev/pts') ?? '', /^devpts /);
      assert.match(mounts.get('/dev/shm') ?? '', /^tmpfs /);
      assert.match(mounts.get('/sys') ?? '', /^sysfs ro,/, '/sys is read-only');
      assert.equal([...mounts.keys()].some((m) => m.startsWith(tmp)), false, 'old root is gone');

      const [cg] = cgroups.plan(cgroupParent, id).dirs;
      assert.ok(cg !== undefined);
      if (cgroups.version === 1) {
        const base = dirname(dirname(dirname(cg)));
        const dir = (c: string): string => join(base, c, cgroupParent, id);
        assert.equal(readFileSync(join(dir('memory'), 'memory.limit_in_bytes'), 'utf8').trim(), String(limits.memoryBytes));
        assert.equal(readFileSync(join(dir('pids'), 'pids.max'), 'utf8').trim(), '77');
        assert.equal(readFileSync(join(dir('cpu'), 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
        assert.equal(readFileSync(join(dir('cpu'), 'cpu.cfs_period_us'), 'utf8').trim(), '100000');
        for (const c of ['memory', 'cpu', 'pids', 'freezer']) {
          assert.ok(readFileSync(join(dir(c), 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), `pid in ${c} cgroup`);
        }
      } else {
        assert.equal(readFileSync(join(cg, 'memory.max'), 'utf8').trim(), String(limits.memoryBytes));
        assert.equal(readFileSync(join(cg, 'pids.max'), 'utf8').trim(), '77');
        assert.equal(readFileSync(join(cg, 'cpu.max'), 'utf8').trim(), '50000 100000');
        assert.ok(readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)));
      }

      const hostname = execFileSync('nsenter', ['-u', '-t', String(pid), 'hostname'], { encoding: 'utf8' }).trim();
      assert.equal(hostname, 'box-ns');
      // Docker's default capability set, nothing inheritable.
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      assert.match(status, /^CapEff:\s+00000000a80425fb$/m);
      assert.match(status, /^CapBnd:\s+00000000a80425fb$/m);
      assert.match(status, /^CapInh:\s+0+$/m);
      // Docker's default: no no_new_privs (setuid binaries of the image work), a seccomp filter.
      assert.match(status, /^NoNewPrivs:\s+0$/m);
      assert.match(status, /^Seccomp:\s+2$/m);

      // SIGTERM is ignored by a PID 1 without a handler (Linux semantics); SIGKILL is not.
      await rt.kill(id, 'SIGKILL');
      assert.deepEqual(await rt.wait(id), { exitCode: 137, signal: 'SIGKILL' });
      const after = await rt.inspect(id);
      assert.equal(after?.status, 'exited');
    } finally {
      await rt.remove(id);
    }
    // Nothing left behind.
    assert.equal(await rt.inspect(id), null);
    assert.equal(existsSync(join(root, id)), false, 'state dir');
    for (const d of cgroups.plan(cgroupParent, id).dirs) assert.equal(existsSync(d), false, d);
    assert.deepEqual(ourMounts(), []);
    assert.equal(processStartTime(pid), null, 'PID 1 is gone');
  });

  it('serves HTTP on loopback inside its network namespace, from a second image layer', async () => {
    const id = 'web';
    const info = await rt.run(cfg(id, ['httpd', '-f', '-p', '8080', '-h', '/www'], { lowerDirs: [webLayer, layer] }));
    try {
      const body = await eventually('httpd', () => {
        const r = spawnSync('nsenter', [`--net=/proc/${info.pid}/ns/net`, 'wget', '-qO-', 'http://127.0.0.1:8080/'], { encoding: 'utf8', timeout: 2000 });
        return r.status === 0 ? r.stdout : null;
      });
      assert.equal(body, 'hello from tsswarm\n');
      // Not reachable from the host's namespace.
      const host = spawnSync('wget', ['-qO-', '-T', '1', 'http://127.0.0.1:8080/'], { encoding: 'utf8', timeout: 3000 });
      assert.notEqual(host.status, 0);
    } finally {
      await rt.remove(id);
    }
  });

  it('joins a prepared network namespace (setns) instead of a new one, with sysfs showing it', async () => {
    const nsFile = join(tmp, 'netns-prepared');
    netnsCreate(nsFile);
    try {
      // A device only the prepared namespace has, so the container's view can be told apart.
      execFileSync('nsenter', [`--net=${nsFile}`, 'ip', 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
      const info = await rt.run(cfg('joined', ['sleep', '1000'], { netns: nsFile }));
      try {
        const pid = info.pid ?? -1;
        const inode = (p: string): number => Number(/\[(\d+)\]/.exec(readlinkSync(p))?.[1] ?? NaN);
        // /proc/<pid>/ns/net names the namespace by its nsfs inode: the prepared one's.
        assert.equal(inode(`/proc/${pid}/ns/net`), statSync(nsFile).ino);
        const links = execFileSync('nsenter', ['-t', String(pid), '-m', 'ls', '/sys/class/net'], { encoding: 'utf8' }).split(/\s+/);
        assert.ok(links.includes('probe0') && links.includes('lo'), `sysfs in the container: ${links.join(' ')}`);
        const lo = execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-o', 'link', 'show', 'lo'], { encoding: 'utf8' });
        assert.match(lo, /[<,]UP[,>]/);
      } finally {
        await rt.remove('joined');
      }
    } finally {
      umount(nsFile, 2 /* MNT_DETACH */);
      rmSync(nsFile, { force: true });
    }
    await assert.rejects(rt.run(cfg('nons', ['true'], { netns: join(tmp, 'no-such-netns') })), (e: unknown) => {
      assert.ok(e instanceof NativeError, String(e));
      assert.equal(e.syscall, 'open network namespace');
      return true;
    });
    assert.equal(existsSync(join(root, 'nons')), false);
  });

  it('reports the exit code', async () => {
    const r = await runToEnd('exit3', ['sh', '-c', 'exit 3']);
    assert.equal(r.exitCode, 3);
  });

  it('fails run() with a NativeError naming the exec step for a missing command, leaving nothing', async () => {
    await assert.rejects(rt.run(cfg('nocmd', ['no-such-command'])), (e: unknown) => {
      assert.ok(e instanceof NativeError, String(e));
      assert.equal(e.syscall, 'exec');
      assert.equal(e.errno, 2);
      assert.match(e.message, /^exec: ENOENT .*no-such-command/);
      return true;
    });
    assert.equal(existsSync(join(root, 'nocmd')), false);
    for (const d of cgroups.plan(cgroupParent, 'nocmd').dirs) assert.equal(existsSync(d), false, d);
    assert.deepEqual(ourMounts(), []);
    await assert.rejects(rt.run(cfg('nouser', ['true'], { user: 'ghost' })), (e: unknown) => e instanceof InvalidContainerConfigError && /unable to find user ghost/.test(e.message));
    assert.equal(existsSync(join(root, 'nouser')), false);
    assert.deepEqual(ourMounts(), []);
  });

  it('runs as the configured user', async () => {
    const r = await runToEnd('nobody', ['sh', '-c', 'id -u; id -g; grep CapEff /proc/self/status'], { user: 'nobody' });
    assert.equal(r.exitCode, 0);
    assert.equal(r.out, '65534\n65534\nCapEff:\t0000000000000000\n');
    const numeric = await runToEnd('numeric', ['sh', '-c', 'id -u; id -g'], { user: '1000:1001' });
    assert.equal(numeric.out, '1000\n1001\n');
  });

  it('passes env, cwd and hostname, with PATH defaulted and argv[0] found along it', async () => {
    const r = await runToEnd('env', ['sh', '-c', 'echo "$FOO|$PATH|$HOME"; pwd; cat /proc/sys/kernel/hostname; ls /dev'], {
      env: ['FOO=bar baz'],
      cwd: '/tmp',
      hostname: 'envbox',
    });
    assert.equal(r.exitCode, 0);
    const [vars, cwd, host, ...dev] = r.out.trim().split('\n');
    assert.equal(vars, 'bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root');
    assert.equal(cwd, '/tmp');
    assert.equal(host, 'envbox');
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'fd', 'stdin', 'stdout', 'stderr', 'ptmx', 'pts', 'shm']) {
      assert.ok(dev.includes(d), `/dev/${d}`);
    }
  });

  it('with userns remapping, root in the container is an unprivileged user of the host', async () => {
    // A remapped root must be able to reach its bundle (the scratch dir is 0700 from mkdtemp).
    chmodSync(tmp, 0o711);
    const id = 'userns';
    await rtUserns.run(cfg(id, ['sh', '-c', 'id -u; cat /proc/self/uid_map; touch /made-here; echo more >> /etc/passwd && echo wrote; stat -c %u /etc/passwd; grep CapEff /proc/self/status'], { logPath: join(tmp, 'logs', `${id}.log`) }));
    const st = await rtUserns.wait(id);
    const out = logOf(id);
    try {
      assert.equal(st.exitCode, 0, out);
      const [uid, map, wrote, owner, caps] = out.trim().split('\n');
      assert.equal(uid, '0', 'root inside');
      assert.deepEqual(map?.trim().split(/\s+/), ['0', '100000', '65536']);
      assert.equal(wrote, 'wrote', "root owns the image's files (idmapped layers), so it can change them");
      assert.equal(owner, '0');
      assert.match(caps ?? '', /a80425fb$/, "Docker's capabilities, inside its own user namespace");
      // On the host, what it made belongs to the mapped id, not to root.
      const upper = join(tmp, 'state-userns', id, 'upper');
      assert.equal(statSync(join(upper, 'made-here')).uid, 100000);
      assert.equal(statSync(join(upper, 'etc', 'passwd')).uid, 100000, 'the copied-up file too');
      assert.equal(statSync(join(layer, 'etc', 'passwd')).uid, 0, 'the layer itself is untouched');
    } finally {
      await rtUserns.remove(id);
    }
    assert.deepEqual(ourMounts(), [], 'idmapped layer mounts are gone with the container');
  });

  it('userns_mode: host opts a service out of the node\'s remapping', async () => {
    const r = await (async () => {
      const id = 'userns-host';
      await rtUserns.run(cfg(id, ['cat', '/proc/self/uid_map'], { runtime: { ...defaultRuntimeSettings(), usernsMode: 'host' } }));
      await rtUserns.wait(id);
      const out = logOf(id);
      await rtUserns.remove(id);
      return out;
    })();
    assert.deepEqual(r.trim().split(/\s+/), ['0', '0', '4294967295']);
    await assert.rejects(rtUserns.run(cfg('userns-priv', ['true'], { runtime: { ...defaultRuntimeSettings(), privileged: true } })), /userns_mode: host/);
  });

  it('outlives the process that started it', async () => {
    const id = 'orphan';
    const script = join(tmp, 'start-and-exit.js');
    const runtimeModule = resolve(__dirname, '..', '..', 'agent', 'runtime', 'index.js');
    writeFileSync(
      script,
      `const { createRuntime } = require(${JSON.stringify(runtimeModule)});
       createRuntime({ root: ${JSON.stringify(root)}, cgroupParent: ${JSON.stringify(cgroupParent)} })
         .run(${JSON.stringify(cfg(id, ['sleep', '1000']))})
         .then((info) => { process.stdout.write(JSON.stringify(info)); process.exit(0); },
               (e) => { console.error(e); process.exit(1); });`,
    );
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(child.status, 0, child.stderr);
    const started = JSON.parse(child.stdout) as { pid: number; shimPid: number };
    try {
      const info = await rt.inspect(id);
      assert.equal(info?.status, 'running');
      assert.equal(info?.pid, started.pid);
      // The shim is neither the starter's child nor in its session.
      const stat = readFileSync(`/proc/${started.shimPid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      assert.notEqual(Number(fields[1]), child.pid ?? -1, 'ppid');
      const ours = readFileSync('/proc/self/stat', 'utf8');
      const ourSession = Number(ours.slice(ours.lastIndexOf(')') + 2).split(' ')[3]);
      assert.notEqual(Number(fields[3]), ourSession, 'session');
      await rt.kill(id, 'SIGKILL');
      assert.equal((await rt.wait(id)).signal, 'SIGKILL');
    } finally {
      await rt.remove(id);
    }
  });

  it('clones PID 1 straight into a cgroup v2 cgroup (CLONE_INTO_CGROUP)', async (t) => {
    if (rtV2 === null || v2Root === null) return t.skip('this host has no cgroup2 mount');
    const info = await rtV2.run(cfg('v2', ['sleep', '1000']));
    const pid = info.pid ?? -1;
    try {
      const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
      assert.ok(lines.includes(`0::/${cgroupParent}/v2`), lines.join('; '));
      assert.ok(readFileSync(join(v2Root, cgroupParent, 'v2', 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)));
    } finally {
      await rtV2.remove('v2');
    }
    assert.equal(existsSync(join(v2Root, cgroupParent, 'v2')), false);
    assert.equal(processStartTime(pid), null);
  });

  it('lists, and remove is idempotent', async () => {
    await rt.run(cfg('l1', ['sleep', '1000']));
    await rt.run(cfg('l2', ['true']));
    assert.deepEqual(await rt.list(), ['l1', 'l2']);
    await rt.remove('l1');
    await rt.remove('l1');
    await rt.remove('l2');
    await rt.remove('never-existed');
    assert.deepEqual(await rt.list(), []);
  });
});
