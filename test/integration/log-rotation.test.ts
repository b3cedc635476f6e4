/**
 * A container's stdout and stderr as its logging driver says (ContainerConfig.log, relayed by the
 * shim: native/src/log-relay.h), on the real runtime with real containers: rotation by max-size and
 * max-file with the oldest bytes dropped, everything a short-lived container wrote in the log once
 * its exit is recorded, a full disk dropping bytes without holding the container up, `none` keeping nothing, no limit keeping today's plain file (and bundle),
 * and the relay going on after the process that started the container has exited.
 *
 * Needs root and the built addon. Everything it creates lives under one temp dir and one cgroup
 * parent, and is removed in `after` even when assertions fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRuntime } from '../../agent/runtime';
import { containerPaths } from '../../agent/runtime/rootfs';
import type { ContainerConfig, ContainerInfo, ContainerLog, Runtime } from '../../agent/runtime/types';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { awkLines, cgroupParentDirs, containerConfig, eventually, makeScratch, removeCgroupDirs, removeContainers, requireRootAndAddon, runToEnd, stop, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/log-rotation.test.ts', 'namespaces, mounts and cgroups');

const scratch = makeScratch('logs', 'tsswarm-logs-it');
const { tmp, cgroupParent, layer } = scratch;
const root = join(tmp, 'state');
const rt: Runtime = createRuntime({ root, cgroupParent });
const logsDir = join(tmp, 'logs');
const started: ChildProcess[] = [];

const cfg = (id: string, script: string, log: ContainerLog, over: Partial<ContainerConfig> = {}): ContainerConfig =>
  containerConfig(scratch, id, ['sh', '-c', script], { log, ...over });
const logPath = (id: string): string => join(logsDir, `${id}.log`);
/** The log's files, newest first: `<id>.log`, `<id>.log.1`, ... */
const filesOf = (id: string): string[] =>
  readdirSync(logsDir)
    .filter((f) => f === `${id}.log` || f.startsWith(`${id}.log.`))
    .sort((a, b) => generation(a) - generation(b));
const generation = (f: string): number => Number(/\.log\.(\d+)$/.exec(f)?.[1] ?? 0);
const read = (f: string): string => readFileSync(join(logsDir, f), 'utf8');
/** Everything the files hold, oldest first: what the container wrote, minus what was dropped. */
const kept = (id: string): string => filesOf(id).reverse().map(read).join('');

const expectedLines = (from: number, n: number): string => Array.from({ length: n }, (_, k) => `line ${from + k}`.padEnd(99) + '\n').join('');



before(() => {
  makeBusyboxRootfs(layer);
  mkdirSync(logsDir, { recursive: true });
});

after(async () => {
  const problems: string[] = [];
  for (const c of started) stop(c);
  await removeContainers([rt], problems);
  unmountLeftovers(tmp, problems);
  removeCgroupDirs(cgroupParentDirs(cgroupParent), problems);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('container logs: rotation, draining, none, the plain file (root)', () => {
  it('max-size 100k, max-file 3: exactly log, log.1, log.2, each at most 100k, the newest in log, the oldest dropped', async () => {
    // 350 000 bytes in 100-byte lines: files of 1000 lines each, so lines 0-999 are dropped.
    const code = await runToEnd(rt, cfg('rot', `${awkLines(0, 3500)}; echo to-stderr >&2`, { kind: 'rotate', maxBytes: 100_000, maxFiles: 3 }));
    assert.equal(code, 0);
    assert.deepEqual(filesOf('rot'), ['rot.log', 'rot.log.1', 'rot.log.2']);
    for (const f of filesOf('rot')) assert.ok(statSync(join(logsDir, f)).size <= 100_000, `${f}: ${statSync(join(logsDir, f)).size} bytes`);
    assert.ok(read('rot.log').endsWith(`${'line 3499'.padEnd(99)}\nto-stderr\n`), 'the newest bytes, stderr too, are in log');
    // Nothing lost or doubled between the kept files, and lines whole across them.
    assert.equal(kept('rot'), `${expectedLines(1000, 2500)}to-stderr\n`);
    assert.ok(read('rot.log.2').startsWith('line 1000 '), 'the oldest kept file starts at a line');
  });

  it('a line longer than a whole file is cut at max-size exactly; max-file 1 starts the one file again', async () => {
    await runToEnd(rt, cfg('long', "head -c 250000 /dev/zero | tr '\\0' x", { kind: 'rotate', maxBytes: 100_000, maxFiles: 5 }));
    assert.deepEqual(filesOf('long').map((f) => statSync(join(logsDir, f)).size), [50_000, 100_000, 100_000]);
    assert.equal(kept('long'), 'x'.repeat(250_000));

    await runToEnd(rt, cfg('one', awkLines(0, 2500), { kind: 'rotate', maxBytes: 100_000, maxFiles: 1 }));
    assert.deepEqual(filesOf('one'), ['one.log']);
    assert.equal(read('one.log'), expectedLines(2000, 500));
  });

  it('all of a short-lived container\'s output is in the log once its exit is recorded', async () => {
    // Three times the pipe's capacity, then exit at once: what is still in the pipe is drained first.
    const code = await runToEnd(rt, cfg('short', `${awkLines(0, 2000)}; echo last; exit 3`, { kind: 'rotate', maxBytes: 1_000_000, maxFiles: 2 }));
    assert.equal(code, 3);
    assert.deepEqual(filesOf('short'), ['short.log']);
    assert.equal(read('short.log'), `${expectedLines(0, 2000)}last\n`);
  });

  it('a full disk drops bytes and holds nothing up: the container runs to its end', async () => {
    const full = join(tmp, 'full');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', full]);
    try {
      const c = cfg('full', `${awkLines(0, 10_000)}; echo done`, { kind: 'rotate', maxBytes: 10_000_000, maxFiles: 2 }, { logPath: join(full, 'full.log') });
      assert.equal(await runToEnd(rt, c), 0, 'every write of the container succeeded');
      const size = statSync(join(full, 'full.log')).size;
      assert.ok(size > 0 && size <= 128 * 1024, `${size} bytes: what fitted`);
      assert.ok(readFileSync(join(full, 'full.log'), 'utf8').startsWith(expectedLines(0, 10)), 'the bytes that fitted are the first ones');
    } finally {
      execFileSync('umount', [full]);
    }
  });

  it('none keeps nothing', async () => {
    const code = await runToEnd(rt, cfg('none', `${awkLines(0, 3000)}; echo to-stderr >&2`, { kind: 'none' }));
    assert.equal(code, 0);
    assert.deepEqual(filesOf('none').map((f) => statSync(join(logsDir, f)).size), [0], 'the agent\'s file, empty');
  });

  it('no limit: the plain file, unrotated, and a bundle without log annotations', async () => {
    await rt.run(cfg('plain', `${awkLines(0, 3000)}; echo to-stderr >&2`, { kind: 'file' }));
    try {
      const spec = JSON.parse(readFileSync(containerPaths(root, 'plain').configFile, 'utf8')) as { annotations?: unknown };
      assert.equal(spec.annotations, undefined);
      await rt.wait('plain', AbortSignal.timeout(30_000));
    } finally {
      await rt.remove('plain');
    }
    assert.deepEqual(filesOf('plain'), ['plain.log']);
    assert.equal(read('plain.log'), `${expectedLines(0, 3000)}to-stderr\n`);
  });

  it('the relay goes on after the process that started the container has exited (the shim is nobody\'s child)', async () => {
    const trigger = join(tmp, 'trigger');
    mkdirSync(trigger);
    // The container says it runs, waits for the go file, then writes 250 000 bytes: rotated, after
    // its starter is gone.
    const script = `printf "%-99s\\n" started; while [ ! -e /trigger/go ]; do sleep 0.05; done; ${awkLines(0, 2500)}; echo after`;
    const c = cfg('later', script, { kind: 'rotate', maxBytes: 100_000, maxFiles: 2 }, {
      mounts: [{ destination: '/trigger', type: 'bind', source: trigger, options: ['rbind', 'ro'] }],
    });
    // A separate node process runs it with the same runtime and exits; TSSWARM_NATIVE_DIR and the
    // rest of the environment go with it.
    const runtimeModule = resolve(__dirname, '..', '..', 'agent', 'runtime');
    const starterCode = `require(${JSON.stringify(runtimeModule)}).createRuntime(${JSON.stringify({ root, cgroupParent })}).run(JSON.parse(process.argv[1])).then((i) => process.stdout.write(JSON.stringify(i), () => process.exit(0)), (e) => { console.error(e); process.exit(1); });`;
    const starter = spawn(process.execPath, ['-e', starterCode, JSON.stringify(c)], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(starter);
    let out = '';
    starter.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const exitCode = await new Promise<number | null>((r) => starter.on('exit', (code) => r(code)));
    assert.equal(exitCode, 0, 'the starter ran the container and exited');
    const info = JSON.parse(out) as ContainerInfo;
    assert.ok(info.shimPid !== null && existsSync(`/proc/${info.shimPid}`), 'the shim outlives its starter');
    const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${info.shimPid}/status`, 'utf8'))?.[1];
    assert.notEqual(Number(ppid), starter.pid, 'the shim is not the starter\'s child');

    await eventually('the container to start', () => (existsSync(logPath('later')) && read('later.log').includes('started') ? true : null));
    writeFileSync(join(trigger, 'go'), '');
    try {
      await rt.wait('later', AbortSignal.timeout(30_000));
    } finally {
      await rt.remove('later');
    }
    assert.deepEqual(filesOf('later'), ['later.log', 'later.log.1']);
    // 100-byte lines: "started" and lines 0-998 (dropped), 999-1998, then 1999-2499 and "after".
    assert.equal(kept('later'), `${expectedLines(999, 1501)}after\n`);
  });
});
