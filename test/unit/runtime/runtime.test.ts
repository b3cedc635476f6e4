import { ALL_CAPABILITIES } from '../../../shared/capabilities';
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, NativeError, NotFoundError } from '../../../shared/errors';
import { CgroupV2Driver } from '../../../agent/runtime/cgroups';
import { InvalidContainerConfigError } from '../../../agent/runtime/errors';
import { parseShimReport } from '../../../agent/runtime/native';
import { containerPaths, overlayOptions, unmountRootfs } from '../../../agent/runtime/rootfs';
import { NativeRuntime, runtimeArgs, validateConfig } from '../../../agent/runtime/runtime';
import { parseShimState, toContainerInfo } from '../../../agent/runtime/state';
import type { HostFacts } from '../../../agent/runtime/oci/spec';
import type { OciSpec } from '../../../agent/runtime/oci/spec-types';
import { defaultRuntimeSettings } from '../../../shared/types';
import type { RuntimeSys, ShimStarted } from '../../../agent/runtime/sys';
import type { ContainerConfig } from '../../../agent/runtime/types';

function config(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    id: 'c1',
    lowerDirs: ['/layers/b', '/layers/a'],
    args: ['httpd', '-f'],
    env: ['A=1'],
    cwd: '/',
    user: null,
    hostname: 'web',
    limits: { memoryBytes: null, nanoCpus: null, pids: null },
    logPath: '/var/log/c1.log',
    log: { kind: 'file' },
    tty: false,
    openStdin: false,
    netns: null,
    files: [],
    runtime: defaultRuntimeSettings(),
    mounts: [],
    ...over,
  };
}

describe('validateConfig', () => {
  it('accepts a normal config', () => {
    validateConfig(config());
    validateConfig(config({ user: 'nobody:nogroup', limits: { memoryBytes: 1 << 20, nanoCpus: 1e9, pids: 10 } }));
  });
  const bad: Array<[string, Partial<ContainerConfig>]> = [
    ['id', { id: '../x' }],
    ['id', { id: '' }],
    ['args', { args: [] }],
    ['args', { args: ['a\0b'] }],
    ['env', { env: ['NOVALUE'] }],
    ['env', { env: ['=x'] }],
    ['cwd', { cwd: 'relative' }],
    ['user', { user: '' }],
    ['user', { user: 'a:b:c' }],
    ['hostname', { hostname: 'h'.repeat(65) }],
    ['logPath', { logPath: 'log' }],
    ['netns', { netns: 'run/netns/x' }],
    ['netns', { netns: '/run/netns/a\0b' }],
    ['memoryBytes', { limits: { memoryBytes: 0, nanoCpus: null, pids: null } }],
    ['pids', { limits: { memoryBytes: null, nanoCpus: null, pids: 1.5 } }],
    ['lowerDirs', { lowerDirs: [] }],
    ['lowerDirs', { lowerDirs: ['/a:b'] }],
    ['mounts', { mounts: [{ destination: 'rel', type: 'tmpfs', source: 'tmpfs', options: [] }] }],
    ['mounts', { mounts: [{ destination: '/x', type: 'bind', source: 'relative/src', options: ['rbind'] }] }],
    ['mounts', { mounts: [{ destination: '/x', type: 'none', source: 'src', options: ['rbind'] }] }],
    ['mounts', { mounts: [{ destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['size=1,mode=2'] }] }],
  ];
  for (const [field, over] of bad) {
    it(`rejects a bad ${field}: ${JSON.stringify(over)}`, () => {
      assert.throws(
        () => validateConfig(config(over)),
        (e: unknown) => e instanceof InvalidContainerConfigError && e.field === field,
      );
    });
  }
});

describe('overlayOptions', () => {
  it('joins lowerdirs top first', () => {
    assert.equal(overlayOptions(['/l/2', '/l/1'], '/s/u', '/s/w'), 'lowerdir=/l/2:/l/1,upperdir=/s/u,workdir=/s/w');
  });
  it('refuses more layers than fit in a page', () => {
    const many = Array.from({ length: 200 }, (_, i) => `/var/lib/tsswarm/layers/${'x'.repeat(20)}${i}`);
    assert.throws(() => overlayOptions(many, '/u', '/w'), InvalidContainerConfigError);
  });
});

describe('runtimeArgs', () => {
  it('runs the bundle detached with the state under <root>/.state, the outcome on fd 3', () => {
    const p = containerPaths('/run/tsswarm', 'c1');
    assert.deepEqual(runtimeArgs(p, 'c1', undefined), ['--root', '/run/tsswarm/.state', 'run', '--detach', '--bundle', '/run/tsswarm/c1', '--report-fd', '3', 'c1']);
    assert.deepEqual(runtimeArgs(p, 'c1', '/cg').slice(0, 4), ['--root', '/run/tsswarm/.state', '--cgroup-root', '/cg']);
  });
});

describe('shim report and state files', () => {
  it('parses success', () => {
    assert.deepEqual(parseShimReport('ok\t100\t101\n'), { shimPid: 100, pid: 101 });
  });
  it('turns a failed step into a NativeError naming it', () => {
    assert.throws(
      () => parseShimReport('err\t1\tmount /proc\tOperation not permitted\n'),
      (e: unknown) => e instanceof NativeError && e.syscall === 'mount /proc' && e.errno === 1 && /^mount \/proc: EPERM/.test(e.message),
    );
  });
  it('reports a shim that died silently', () => {
    assert.throws(() => parseShimReport(''), (e: unknown) => e instanceof NativeError && e.syscall === 'shim');
  });
  it('parses state.json and maps it to ContainerInfo', () => {
    const running = parseShimState('{"status":"running","shimPid":10,"shimStartTime":5,"pid":11,"pidStartTime":6,"cgroup":{"version":1,"dirs":["/cg/a","/cg/b"]}}');
    assert.ok(running);
    const alive = (pid: number, st: number): boolean => (pid === 10 && st === 5) || (pid === 11 && st === 6);
    assert.deepEqual(toContainerInfo('c', running, false, alive), { id: 'c', status: 'running', pid: 11, shimPid: 10, exitCode: null, signal: null });
    assert.equal(toContainerInfo('c', running, false, () => false).status, 'exited', 'shim and pid 1 both gone');
    assert.equal(toContainerInfo('c', running, false, (pid) => pid === 11).shimPid, null, 'orphaned pid 1 still runs');
    assert.deepEqual(running.cgroupDirs, ['/cg/a', '/cg/b']);
    const killed = parseShimState('{"status":"stopped","shimPid":10,"shimStartTime":5,"pid":11,"pidStartTime":6,"exitCode":137,"signal":9}');
    assert.deepEqual(toContainerInfo('c', killed, false, alive), { id: 'c', status: 'exited', pid: null, shimPid: null, exitCode: 137, signal: 'SIGKILL' });
    assert.equal(parseShimState('{"status":"weird"}'), null);
    assert.equal(parseShimState('not json'), null);
    const creating = parseShimState('{"status":"creating","shimPid":10,"shimStartTime":5,"pid":0,"pidStartTime":0}');
    assert.equal(toContainerInfo('c', creating, false, alive).status, 'running', 'a shim still making the container');
    assert.equal(toContainerInfo('c', creating, false, () => false).status, 'exited', 'a shim that died while making it');
  });
});

/** A fake kernel: records mounts, starts "runtimes" that write state.json like the real one. */
class FakeSys implements RuntimeSys {
  readonly MNT_DETACH = 2;
  mounts = new Set<string>();
  calls: string[] = [];
  failMount: NativeError | null = null;
  failShim: NativeError | null = null;
  signals: Array<[number, number]> = [];
  files = new Map<string, string>();
  /** config.json of the last start. */
  spec: OciSpec | null = null;
  /** cgroup dirs the fake shim records as made. */
  cgroupDirs: string[] = [];
  mount(_s: string | null, target: string, fstype: string | null, _f: number, data: string | null): void {
    this.calls.push(`mount ${fstype} ${target} ${data}`);
    if (this.failMount) throw this.failMount;
    this.mounts.add(target);
  }
  umount(target: string): void {
    this.calls.push(`umount ${target}`);
    if (!this.mounts.delete(target)) throw new NativeError(22, 'umount2', 'not mounted');
  }
  async startRuntime(args: string[], logPath: string): Promise<ShimStarted> {
    this.calls.push(`runtime ${args.join(' ')} > ${logPath}`);
    const bundle = args[args.indexOf('--bundle') + 1] ?? '';
    this.spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as OciSpec;
    if (this.failShim) throw this.failShim; // the real runtime removes its own state dir and cgroup
    const dir = join(args[args.indexOf('--root') + 1] ?? '', args[args.length - 1] ?? '');
    for (const d of this.cgroupDirs) mkdirSync(d, { recursive: true });
    mkdirSync(dir, { recursive: true });
    writeState(dir, { status: 'running', shimPid: 900, shimStartTime: 1, pid: 901, pidStartTime: 2, cgroup: { version: 2, dirs: this.cgroupDirs } });
    return { shimPid: 900, pid: 901 };
  }
  signalProcess(pid: number, _st: number, sig: number): void {
    this.signals.push([pid, sig]);
  }
  commands: string[][] = [];
  idmapped: Array<[string, string]> = [];
  idmapMount(source: string, target: string): void {
    this.idmapped.push([source, target]);
  }
  async runtimeCommand(args: string[]): Promise<void> {
    this.commands.push(args);
  }
  readFileInRoot(root: string, path: string): string | null {
    return this.files.get(join(root, path)) ?? null;
  }
}

const fakeHost: HostFacts = {
  arch: 'x64',
  kernel: '6.1.0',
  device: (path) => (path === '/dev/fuse' ? { type: 'c', major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 } : null),
  allDevices: () => [],
  initBinary: '/opt/tsswarm-runtime',
  maxOpenFiles: 1048576,
  boundingCapabilities: ALL_CAPABILITIES,
};

function writeState(dir: string, state: object): void {
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify(state));
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

describe('NativeRuntime on a fake kernel', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rt-unit-'));
  let cgRoot = '';
  let root = '';
  let sys = new FakeSys();
  let live = new Set<number>();
  let rt: NativeRuntime;
  let n = 0;
  beforeEach(() => {
    n++;
    cgRoot = join(tmp, `cg${n}`);
    root = join(tmp, `state${n}`);
    rmSync(cgRoot, { recursive: true, force: true });
    mkdirSync(cgRoot, { recursive: true });
    writeFileSync(join(cgRoot, 'cgroup.controllers'), 'cpu memory pids');
    sys = new FakeSys();
    sys.cgroupDirs = [join(cgRoot, 'tsswarm', 'c1')];
    live = new Set([900, 901]);
    rt = new NativeRuntime(
      { root, cgroupParent: 'tsswarm' },
      { sys, cgroups: new CgroupV2Driver(cgRoot), isSameProcess: (pid) => live.has(pid), waitPollMs: 20, host: fakeHost },
    );
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const cfg = (over: Partial<ContainerConfig> = {}): ContainerConfig =>
    config({ lowerDirs: ['/layers/a'], logPath: join(tmp, 'logs', 'c1.log'), ...over });

  it('runs in the documented order: overlay mount, config.json, runtime', async () => {
    const p = containerPaths(root, 'c1');
    sys.files.set(join(p.rootfs, '/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n');
    sys.files.set(join(p.rootfs, '/etc/group'), 'root:x:0:\nweb:x:33:\nlogs:x:4:web\n');
    const info = await rt.run(cfg({ user: 'web', limits: { memoryBytes: 1 << 26, nanoCpus: null, pids: 64 } }));
    assert.deepEqual(info, { id: 'c1', status: 'running', pid: 901, shimPid: 900, exitCode: null, signal: null });
    assert.equal(sys.calls[0], `mount overlay ${p.rootfs} lowerdir=/layers/a,upperdir=${p.upper},workdir=${p.work}`);
    assert.equal(sys.calls[1], `runtime ${runtimeArgs(p, 'c1', undefined).join(' ')} > ${join(tmp, 'logs', 'c1.log')}`);
    const spec = sys.spec;
    assert.ok(spec);
    assert.deepEqual(spec.process.user, { uid: 33, gid: 33, additionalGids: [4] });
    assert.ok(spec.process.env.includes('HOME=/var/www'));
    assert.deepEqual(spec.linux.resources.memory, { limit: 1 << 26 });
    assert.deepEqual(spec.linux.resources.pids, { limit: 64 });
    assert.equal(spec.linux.cgroupsPath, '/tsswarm/c1');
    assert.equal(spec.root.path, 'rootfs');
    assert.deepEqual(await rt.list(), ['c1']);
    assert.equal((await rt.inspect('c1'))?.status, 'running');
    await assert.rejects(rt.run(cfg()), ConflictError);
  });

  it('writes the task\'s mounts into config.json after the standard ones', async () => {
    const p = containerPaths(root, 'c1');
    sys.files.set(join(p.rootfs, '/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    const data = { destination: '/data', type: 'bind', source: '/var/lib/tsswarm/volumes/data/_data', options: ['rbind', 'rprivate'] };
    await rt.run(cfg({ mounts: [data] }));
    assert.deepEqual(sys.spec?.mounts.at(-1), data);
  });

  it('undoes the mount and the bundle when the container fails to start', async () => {
    sys.failShim = new NativeError(2, 'exec', 'exec: ENOENT');
    await assert.rejects(rt.run(cfg()), (e: unknown) => e instanceof NativeError && e.syscall === 'exec');
    assert.equal(sys.mounts.size, 0);
    assert.ok(sys.calls.includes(`umount ${containerPaths(root, 'c1').rootfs}`));
    assert.equal(existsSync(containerPaths(root, 'c1').dir), false, 'bundle removed');
    assert.deepEqual(await rt.list(), []);
  });

  it('a user the image does not know fails before the runtime runs, and is undone', async () => {
    await assert.rejects(rt.run(cfg({ user: 'ghost' })), /unable to find user ghost/);
    assert.ok(!sys.calls.some((c) => c.startsWith('runtime')), 'never started the runtime');
    assert.equal(sys.mounts.size, 0);
    assert.equal(existsSync(containerPaths(root, 'c1').dir), false);
  });

  it('never starts the runtime when the mount fails', async () => {
    sys.failMount = new NativeError(19, 'mount', 'no overlay');
    await assert.rejects(rt.run(cfg()), NativeError);
    assert.ok(!sys.calls.some((c) => c.startsWith('runtime')), 'never started the runtime');
    assert.equal(existsSync(containerPaths(root, 'c1').dir), false);
  });

  it('rejects a bad config before creating anything', async () => {
    await assert.rejects(rt.run(cfg({ cwd: 'x' })), InvalidContainerConfigError);
    assert.equal(existsSync(root), false);
  });

  it('kill signals PID 1 only while running; wait sees the recorded exit', async () => {
    await rt.run(cfg());
    await rt.kill('c1', 'SIGTERM');
    assert.deepEqual(sys.signals, [[901, 15]]);
    const waited = rt.wait('c1');
    writeState(containerPaths(root, 'c1').stateDir, { status: 'stopped', shimPid: 900, shimStartTime: 1, pid: 901, pidStartTime: 2, exitCode: 143, signal: 15 });
    live.clear();
    assert.deepEqual(await waited, { exitCode: 143, signal: 'SIGTERM' });
    await rt.kill('c1', 'SIGKILL');
    assert.equal(sys.signals.length, 1, 'no signal after exit');
    await assert.rejects(rt.kill('nope', 'SIGKILL'), NotFoundError);
  });

  it('wait notices a shim that died without recording an exit', async () => {
    await rt.run(cfg());
    const waited = rt.wait('c1');
    live.clear();
    assert.deepEqual(await waited, { exitCode: 255, signal: null });
  });

  it('wait is cancelled by its AbortSignal and rejects for unknown ids', async () => {
    await rt.run(cfg());
    const ac = new AbortController();
    const waited = rt.wait('c1', ac.signal);
    ac.abort();
    await assert.rejects(waited, { name: 'AbortError' });
    await assert.rejects(rt.wait('nope'), NotFoundError);
  });

  it('remove kills a running container, unmounts, removes cgroup and state; twice is fine', async () => {
    await rt.run(cfg());
    sys.signalProcess = (pid, _st, sig): void => {
      sys.signals.push([pid, sig]);
      writeState(containerPaths(root, 'c1').stateDir, { status: 'stopped', shimPid: 900, shimStartTime: 1, pid: 901, pidStartTime: 2, exitCode: 137, signal: 9, cgroup: { version: 2, dirs: sys.cgroupDirs } });
      live.clear();
    };
    await rt.remove('c1');
    assert.deepEqual(sys.signals, [[901, 9]]);
    assert.equal(sys.mounts.size, 0);
    assert.equal(existsSync(join(cgRoot, 'tsswarm', 'c1')), false);
    assert.equal(existsSync(containerPaths(root, 'c1').dir), false);
    assert.equal(existsSync(containerPaths(root, 'c1').stateDir), false);
    assert.equal(await rt.inspect('c1'), null);
    await rt.remove('c1');
  });

  it('a new runtime over the same root sees the same containers', async () => {
    await rt.run(cfg());
    const again = new NativeRuntime({ root, cgroupParent: 'tsswarm' }, { sys, cgroups: new CgroupV2Driver(cgRoot), isSameProcess: (pid) => live.has(pid), host: fakeHost });
    assert.deepEqual(await again.list(), ['c1']);
    assert.equal((await again.inspect('c1'))?.pid, 901);
  });
});

describe('unmountRootfs', () => {
  it('detaches a busy mount and ignores one that is not mounted', () => {
    const calls: Array<[string, number]> = [];
    const ops = {
      MNT_DETACH: 2,
      mount: (): void => undefined,
      umount: (t: string, f: number): void => {
        calls.push([t, f]);
        if (t === '/busy' && f === 0) throw new NativeError(16, 'umount2', 'busy');
        if (t === '/none') throw new NativeError(22, 'umount2', 'not mounted');
      },
    };
    unmountRootfs(ops, '/busy');
    unmountRootfs(ops, '/none');
    assert.deepEqual(calls, [['/busy', 0], ['/busy', 2], ['/none', 0]]);
    assert.throws(() => unmountRootfs({ ...ops, umount: () => { throw new NativeError(1, 'umount2', 'perm'); } }, '/x'), NativeError);
  });
});
