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
import { NativeRuntime, buildShimArgs, validateConfig } from '../../../agent/runtime/runtime';
import { parseRuntimeRecord, parseShimState, toContainerInfo } from '../../../agent/runtime/state';
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
    netns: null,
    files: [],
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

describe('buildShimArgs', () => {
  it('passes everything the shim needs, command last', () => {
    const p = containerPaths('/run/tsswarm', 'c1');
    const v1 = { version: 1 as const, dirs: ['/cg/memory/t/c1', '/cg/pids/t/c1'] };
    const args = buildShimArgs(config({ user: 'nobody', env: ['A=1', 'B=x y'] }), p, v1, ['/cg/memory/t/c1/cgroup.procs', '/cg/pids/t/c1/cgroup.procs']);
    assert.deepEqual(args, [
      '--state-dir', '/run/tsswarm/c1',
      '--rootfs', '/run/tsswarm/c1/rootfs',
      '--log', '/var/log/c1.log',
      '--hostname', 'web',
      '--cwd', '/',
      '--user', 'nobody',
      '--cgroup-procs', '/cg/memory/t/c1/cgroup.procs',
      '--cgroup-procs', '/cg/pids/t/c1/cgroup.procs',
      '--env', 'A=1',
      '--env', 'B=x y',
      '--', 'httpd', '-f',
    ]);
  });
  it('passes --netns only when a network namespace is given', () => {
    const p = containerPaths('/r', 'c1');
    const none = buildShimArgs(config(), p, { version: 1, dirs: [] }, []);
    assert.equal(none.includes('--netns'), false);
    const args = buildShimArgs(config({ netns: '/run/tsswarm/netns/sb1' }), p, { version: 1, dirs: [] }, []);
    assert.deepEqual(args.slice(args.indexOf('--netns'), args.indexOf('--netns') + 2), ['--netns', '/run/tsswarm/netns/sb1']);
    assert.ok(args.indexOf('--netns') < args.indexOf('--'));
  });
  it('keeps arguments that look like options after --', () => {
    const args = buildShimArgs(config({ args: ['--', '--user', 'x'] }), containerPaths('/r', 'c1'), { version: 1, dirs: [] }, []);
    assert.deepEqual(args.slice(args.indexOf('--')), ['--', '--', '--user', 'x']);
    assert.equal(args.includes('--user') && args.indexOf('--user') < args.indexOf('--'), false);
  });
  it('asks the shim to clone into the cgroup on v2', () => {
    const args = buildShimArgs(config(), containerPaths('/r', 'c1'), { version: 2, dirs: ['/cg/t/c1'] }, ['/cg/t/c1/cgroup.procs']);
    assert.deepEqual(args.slice(args.indexOf('--cgroup-v2-dir'), args.indexOf('--cgroup-v2-dir') + 4), ['--cgroup-v2-dir', '/cg/t/c1', '--cgroup-procs', '/cg/t/c1/cgroup.procs']);
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
    const running = parseShimState('{"status":"running","shimPid":10,"shimStartTime":5,"pid":11,"pidStartTime":6}');
    assert.ok(running);
    const alive = (pid: number, st: number): boolean => (pid === 10 && st === 5) || (pid === 11 && st === 6);
    assert.deepEqual(toContainerInfo('c', running, false, alive), { id: 'c', status: 'running', pid: 11, shimPid: 10, exitCode: null, signal: null });
    assert.equal(toContainerInfo('c', running, false, () => false).status, 'exited', 'shim and pid 1 both gone');
    assert.equal(toContainerInfo('c', running, false, (pid) => pid === 11).shimPid, null, 'orphaned pid 1 still runs');
    const killed = parseShimState('{"status":"exited","shimPid":10,"shimStartTime":5,"pid":11,"pidStartTime":6,"exitCode":137,"signal":9}');
    assert.deepEqual(toContainerInfo('c', killed, false, alive), { id: 'c', status: 'exited', pid: null, shimPid: null, exitCode: 137, signal: 'SIGKILL' });
    assert.equal(parseShimState('{"status":"weird"}'), null);
    assert.equal(parseShimState('not json'), null);
    assert.equal(parseRuntimeRecord('{"id":"c","cgroup":{"version":3,"dirs":[]}}'), null);
  });
});

/** A fake kernel: records mounts, starts "shims" that write state.json like the real one. */
class FakeSys implements RuntimeSys {
  readonly MNT_DETACH = 2;
  mounts = new Set<string>();
  calls: string[] = [];
  failMount: NativeError | null = null;
  failShim: NativeError | null = null;
  signals: Array<[number, number]> = [];
  mount(_s: string | null, target: string, fstype: string | null, _f: number, data: string | null): void {
    this.calls.push(`mount ${fstype} ${target} ${data}`);
    if (this.failMount) throw this.failMount;
    this.mounts.add(target);
  }
  umount(target: string): void {
    this.calls.push(`umount ${target}`);
    if (!this.mounts.delete(target)) throw new NativeError(22, 'umount2', 'not mounted');
  }
  async startShim(args: string[]): Promise<ShimStarted> {
    this.calls.push(`shim ${args.join(' ')}`);
    if (this.failShim) throw this.failShim;
    const dir = args[args.indexOf('--state-dir') + 1] ?? '';
    writeState(dir, { status: 'running', shimPid: 900, shimStartTime: 1, pid: 901, pidStartTime: 2 });
    return { shimPid: 900, pid: 901 };
  }
  signalProcess(pid: number, _st: number, sig: number): void {
    this.signals.push([pid, sig]);
  }
}

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
    live = new Set([900, 901]);
    rt = new NativeRuntime(
      { root, cgroupParent: 'tsswarm' },
      { sys, cgroups: new CgroupV2Driver(cgRoot), isSameProcess: (pid) => live.has(pid), waitPollMs: 20 },
    );
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const cfg = (over: Partial<ContainerConfig> = {}): ContainerConfig =>
    config({ lowerDirs: ['/layers/a'], logPath: join(tmp, 'logs', 'c1.log'), ...over });

  it('runs in the documented order: cgroup, overlay mount, shim', async () => {
    const info = await rt.run(cfg({ limits: { memoryBytes: 1 << 26, nanoCpus: null, pids: 64 } }));
    assert.deepEqual(info, { id: 'c1', status: 'running', pid: 901, shimPid: 900, exitCode: null, signal: null });
    const p = containerPaths(root, 'c1');
    assert.equal(sys.calls[0], `mount overlay ${p.rootfs} lowerdir=/layers/a,upperdir=${p.upper},workdir=${p.work}`);
    assert.match(sys.calls[1] ?? '', new RegExp(`--cgroup-v2-dir ${join(cgRoot, 'tsswarm', 'c1')} --cgroup-procs ${join(cgRoot, 'tsswarm', 'c1', 'cgroup.procs')}`));
    assert.equal(readFileSync(join(cgRoot, 'tsswarm', 'c1', 'memory.max'), 'utf8'), String(1 << 26));
    assert.deepEqual(parseRuntimeRecord(readFileSync(p.runtimeFile, 'utf8'))?.cgroup, { version: 2, dirs: [join(cgRoot, 'tsswarm', 'c1')] });
    assert.deepEqual(await rt.list(), ['c1']);
    assert.equal((await rt.inspect('c1'))?.status, 'running');
    await assert.rejects(rt.run(cfg()), ConflictError);
  });

  it('undoes mount, cgroup and state dir when the container fails to start', async () => {
    sys.failShim = new NativeError(2, 'exec', 'exec: ENOENT');
    await assert.rejects(rt.run(cfg()), (e: unknown) => e instanceof NativeError && e.syscall === 'exec');
    assert.equal(sys.mounts.size, 0);
    assert.ok(sys.calls.includes(`umount ${containerPaths(root, 'c1').rootfs}`));
    assert.equal(existsSync(join(cgRoot, 'tsswarm', 'c1')), false, 'cgroup removed');
    assert.equal(existsSync(containerPaths(root, 'c1').dir), false, 'state dir removed');
    assert.deepEqual(await rt.list(), []);
  });

  it('undoes the cgroup when the mount fails', async () => {
    sys.failMount = new NativeError(19, 'mount', 'no overlay');
    await assert.rejects(rt.run(cfg()), NativeError);
    assert.equal(existsSync(join(cgRoot, 'tsswarm', 'c1')), false);
    assert.ok(!sys.calls.some((c) => c.startsWith('shim')), 'never started the shim');
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
    writeState(containerPaths(root, 'c1').dir, { status: 'exited', shimPid: 900, shimStartTime: 1, pid: 901, pidStartTime: 2, exitCode: 143, signal: 15 });
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
      writeState(containerPaths(root, 'c1').dir, { status: 'exited', shimPid: 900, shimStartTime: 1, pid: 901, pidStartTime: 2, exitCode: 137, signal: 9 });
      live.clear();
    };
    await rt.remove('c1');
    assert.deepEqual(sys.signals, [[901, 9]]);
    assert.equal(sys.mounts.size, 0);
    assert.equal(existsSync(join(cgRoot, 'tsswarm', 'c1')), false);
    assert.equal(existsSync(containerPaths(root, 'c1').dir), false);
    assert.equal(await rt.inspect('c1'), null);
    await rt.remove('c1');
  });

  it('a new runtime over the same root sees the same containers', async () => {
    await rt.run(cfg());
    const again = new NativeRuntime({ root, cgroupParent: 'tsswarm' }, { sys, cgroups: new CgroupV2Driver(cgRoot), isSameProcess: (pid) => live.has(pid) });
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
