/**
 * compose `tty` and `stdin_open` on the real runtime with real containers (ContainerConfig.tty and
 * .openStdin; native/src/log-relay.h): a tty task's stdio is a pty of the container's devpts, its
 * controlling terminal, relayed by the shim into the log for every log mode (the plain file, a
 * rotated one, none) with the exit code still right; without tty nothing is a terminal; with
 * stdin_open stdin is a pipe that never ends (`cat` stays), without it `cat` ends at once.
 *
 * Needs root and the built addon. Everything it creates lives under one temp dir and one cgroup
 * parent, and is removed in `after` even when assertions fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../../agent/runtime';
import { runtimePath } from '../../agent/runtime/native';
import { containerPaths } from '../../agent/runtime/rootfs';
import type { ContainerConfig, ContainerLog, Runtime } from '../../agent/runtime/types';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { awkLines, cgroupParentDirs, containerConfig, eventually, makeScratch, removeCgroupDirs, removeContainers, requireRootAndAddon, runToEnd, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/tty.test.ts', 'namespaces, mounts and cgroups');

const scratch = makeScratch('tty', 'tsswarm-tty-it');
const { tmp, cgroupParent, layer } = scratch;
const root = join(tmp, 'state');
const rt: Runtime = createRuntime({ root, cgroupParent });
const rtUserns: Runtime = createRuntime({ root: join(tmp, 'state-userns'), cgroupParent, usernsRemap: { uid: 100000, gid: 100000, size: 65536 } });
const logsDir = join(tmp, 'logs');
/** A tty task's config.json, kept by one test for another. */
const ttySpec = join(tmp, 'tty-config.json');

const cfg = (id: string, args: string[], over: Partial<ContainerConfig> = {}): ContainerConfig => containerConfig(scratch, id, args, over);
const sh = (id: string, script: string, over: Partial<ContainerConfig> = {}): ContainerConfig => cfg(id, ['sh', '-c', script], over);
const read = (f: string): string => readFileSync(join(logsDir, f), 'utf8');
/** The log's files, newest first: `<id>.log`, `<id>.log.1`, ... */
const filesOf = (id: string): string[] =>
  readdirSync(logsDir)
    .filter((f) => f === `${id}.log` || f.startsWith(`${id}.log.`))
    .sort((a, b) => generation(a) - generation(b));
const generation = (f: string): number => Number(/\.log\.(\d+)$/.exec(f)?.[1] ?? 0);

/** The same lines as a terminal gives them: its line discipline turns each \n into \r\n. */
const ptyLines = (from: number, n: number): string => Array.from({ length: n }, (_, k) => `line ${from + k}`.padEnd(99) + '\r\n').join('');



/** Field 3 of /proc/<pid>/stat (R, S, D, Z, ...), or null once it is gone. */
function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * Runs `cat` as PID 1 and checks it waits on its stdin: once it sleeps (blocked in its first read,
 * which at EOF would have ended it) and a moment later it is still there, running. Then kills and
 * removes it. Returns what its stdin is, as the host sees the fd.
 */
async function catWaits(id: string, over: Partial<ContainerConfig>): Promise<string> {
  const info = await rt.run(cfg(id, ['cat'], over));
  try {
    const pid = info.pid;
    assert.ok(pid !== null);
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'cat', 'PID 1 has exec\'d cat');
    await eventually('cat to block reading its stdin', () => (stateOf(pid) === 'S' ? true : null));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await rt.inspect(id))?.status, 'running', 'cat is still running: its stdin has not ended');
    assert.equal(stateOf(pid), 'S');
    const stdin = readlinkSync(`/proc/${pid}/fd/0`);
    await rt.kill(id, 'SIGKILL');
    const exit = await rt.wait(id, AbortSignal.timeout(30_000));
    assert.equal(exit.signal, 'SIGKILL');
    return stdin;
  } finally {
    await rt.remove(id);
  }
}

before(() => {
  makeBusyboxRootfs(layer);
  mkdirSync(logsDir, { recursive: true });
});

after(async () => {
  const problems: string[] = [];
  await removeContainers([rt, rtUserns], problems);
  unmountLeftovers(tmp, problems);
  removeCgroupDirs(cgroupParentDirs(cgroupParent), problems);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('tty: a pty as the container\'s stdio, relayed into its log (root)', () => {
  it('stdin, stdout and stderr are a terminal of the container\'s devpts, its controlling one; the log has the output, \\r\\n; the exit code is the container\'s', async () => {
    const script = '[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && tty; echo to-stderr >&2; : < /dev/tty && echo has-ctty; echo "TERM=$TERM"; exit 7';
    assert.equal(await runToEnd(rt, sh('t1', script, { tty: true })), 7);
    const log = read('t1.log');
    assert.match(log, /^\/dev\/pts\/\d+\r\nto-stderr\r\nhas-ctty\r\nTERM=xterm\r\n$/, JSON.stringify(log));
  });

  it('without tty nothing is a terminal, and the log is as the container wrote it', async () => {
    const script = 'for fd in 0 1 2; do if [ -t $fd ]; then echo "$fd=tty"; else echo "$fd=no"; fi; done; tty; echo "tty=$?"';
    assert.equal(await runToEnd(rt, sh('t2', script)), 0);
    assert.equal(read('t2.log'), '0=no\n1=no\n2=no\nnot a tty\ntty=1\n');
  });

  it('a non-root user owns its terminal (reopening it works after the switch)', async () => {
    const script = 'stat -c %u "$(tty)"; echo reopened > "$(tty)" && echo ok';
    assert.equal(await runToEnd(rt, sh('t3', script, { tty: true, user: '65534:65534' })), 0);
    assert.equal(read('t3.log'), '65534\r\nreopened\r\nok\r\n');
  });

  it('with user namespace remapping too: the pty is the remapped root\'s', async () => {
    // A remapped root must be able to reach its bundle (the scratch dir is 0700 from mkdtemp).
    chmodSync(tmp, 0o711);
    const c = sh('t3u', 'tty; id -u; stat -c %u "$(tty)"', { tty: true });
    await rtUserns.run(c);
    try {
      assert.equal((await rtUserns.wait(c.id, AbortSignal.timeout(30_000))).exitCode, 0);
    } finally {
      await rtUserns.remove(c.id);
    }
    assert.match(read('t3u.log'), /^\/dev\/pts\/\d+\r\n0\r\n0\r\n$/);
  });

  it('the plain file: the shim relays it all, more than the pty holds, before the exit is recorded', async () => {
    // 300 000 bytes, then exit at once: what is still in the pty is drained first.
    await rt.run(sh('t4', `${awkLines(0, 3000)}; echo last; exit 3`, { tty: true }));
    try {
      const text = readFileSync(containerPaths(root, 't4').configFile, 'utf8');
      const spec = JSON.parse(text) as { process: { terminal: boolean }; annotations?: unknown };
      assert.equal(spec.process.terminal, true);
      assert.equal(spec.annotations, undefined, 'no log annotations: the shim relays into its own stdout, the agent\'s file');
      writeFileSync(ttySpec, text);
      assert.equal((await rt.wait('t4', AbortSignal.timeout(30_000))).exitCode, 3);
    } finally {
      await rt.remove('t4');
    }
    assert.deepEqual(filesOf('t4'), ['t4.log']);
    assert.equal(read('t4.log'), `${ptyLines(0, 3000)}last\r\n`);
  });

  it('a rotated log rotates a tty task\'s output too: at most max-file files of at most max-size, lines whole', async () => {
    const log: ContainerLog = { kind: 'rotate', maxBytes: 20_000, maxFiles: 3 };
    assert.equal(await runToEnd(rt, sh('t5', `${awkLines(0, 1000)}; echo done`, { tty: true, log })), 0);
    const files = filesOf('t5');
    assert.deepEqual(files, ['t5.log', 't5.log.1', 't5.log.2']);
    for (const f of files) {
      assert.ok(statSync(join(logsDir, f)).size <= 20_000, `${f}: ${statSync(join(logsDir, f)).size} bytes`);
      assert.ok(read(f).endsWith('\r\n'), `${f} ends with a whole line`);
    }
    const kept = [...files].reverse().map(read).join('');
    const all = `${ptyLines(0, 1000)}done\r\n`;
    assert.ok(all.endsWith(kept), 'what is kept is the newest output, nothing lost or doubled between the files');
    assert.ok(kept.startsWith('line '), 'the oldest kept file starts at a line');
    assert.ok(kept.length > 40_000, `${kept.length} bytes kept`);
  });

  it('none: the pty is read and dropped, so a container that writes much still runs to its end', async () => {
    assert.equal(await runToEnd(rt, sh('t6', `${awkLines(0, 3000)}; exit 5`, { tty: true, log: { kind: 'none' } })), 5);
    assert.deepEqual(filesOf('t6').map((f) => statSync(join(logsDir, f)).size), [0], 'the agent\'s file, empty');
  });

  it('stdin is the pty, which nobody writes: cat waits, with or without stdin_open', async () => {
    assert.doesNotMatch(await catWaits('t7', { tty: true }), /^pipe:|null/);
    await catWaits('t8', { tty: true, openStdin: true });
  });

  it('tsswarm-runtime create (runc\'s command line) still wants a --console-socket for process.terminal', () => {
    const bundle = join(tmp, 'cli-bundle');
    mkdirSync(bundle);
    // The config.json of a tty task (saved above), on the busybox layer.
    const spec = JSON.parse(readFileSync(ttySpec, 'utf8')) as { root: { path: string } };
    spec.root.path = layer;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const ociRoot = join(tmp, 'oci-root');
    const r = spawnSync(runtimePath, ['--root', ociRoot, 'create', '--bundle', bundle, 'tty-cli'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /process\.terminal needs --console-socket/);
    assert.equal(existsSync(join(ociRoot, 'tty-cli')), false, 'nothing was created');
  });

  it('a stdin annotation the shim does not know fails the create, naming it, and leaves nothing', () => {
    const bundle = join(tmp, 'cli-bundle-stdin');
    mkdirSync(bundle);
    const spec = JSON.parse(readFileSync(ttySpec, 'utf8')) as { root: { path: string }; process: { terminal: boolean }; annotations?: Record<string, string> };
    spec.root.path = layer;
    spec.process.terminal = false;
    spec.annotations = { 'tsswarm.stdin': 'shut' };
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const ociRoot = join(tmp, 'oci-root');
    const r = spawnSync(runtimePath, ['--root', ociRoot, 'run', '--detach', '--bundle', bundle, 'stdin-cli'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /annotations\.tsswarm\.stdin: unknown value "shut" \(open\)/);
    assert.equal(existsSync(join(ociRoot, 'stdin-cli')), false, 'nothing was created');
  });
});

describe('stdin_open: a stdin that never ends (root)', () => {
  it('with it, stdin is a pipe the shim holds open: cat waits on it until it is killed', async () => {
    assert.match(await catWaits('s1', { openStdin: true }), /^pipe:\[\d+\]$/);
  });

  it('the stdin annotation is in the bundle, and the container sees a pipe', async () => {
    await rt.run(sh('s2', 'if [ -p /dev/stdin ]; then echo stdin=pipe; else echo stdin=other; fi; [ -t 1 ] || echo no-tty', { openStdin: true }));
    try {
      const spec = JSON.parse(readFileSync(containerPaths(root, 's2').configFile, 'utf8')) as { annotations?: Record<string, string> };
      assert.deepEqual(spec.annotations, { 'tsswarm.stdin': 'open' });
      assert.equal((await rt.wait('s2', AbortSignal.timeout(30_000))).exitCode, 0);
    } finally {
      await rt.remove('s2');
    }
    assert.equal(read('s2.log'), 'stdin=pipe\nno-tty\n');
  });

  it('without it, cat ends at once with status 0 (stdin is /dev/null)', async () => {
    const script = 'if [ -p /dev/stdin ]; then echo stdin=pipe; else echo stdin=other; fi; cat; echo "cat=$?"';
    assert.equal(await runToEnd(rt, sh('s3', script)), 0);
    assert.equal(read('s3.log'), 'stdin=other\ncat=0\n');
  });
});
