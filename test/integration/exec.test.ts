/**
 * `tsswarm-runtime exec` (native/src/exec.cc) and the agent's execInContainer (agent/runtime/exec.ts)
 * on the real kernel: a process started in a running container must see exactly what the
 * container's PID 1 sees (hostname, pid namespace, root, cgroup, capabilities, seccomp) and report
 * its own exit status, or one clear line when it cannot start. Needs root and a built runtime.
 * Everything lives under one temp dir and one cgroup parent, removed in `after` even on failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../../agent/runtime';
import { detectCgroupDriver } from '../../agent/runtime/cgroups';
import { ExecError, execInContainer, type ExecOptions, type ExecResult } from '../../agent/runtime/exec';
import { runtimePath } from '../../agent/runtime/native';
import { containerPaths } from '../../agent/runtime/rootfs';
import type { Runtime } from '../../agent/runtime/types';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { cgroupParentDirs, containerConfig, makeScratch, removeCgroupDirs, removeContainers, requireRootAndAddon, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/exec.test.ts', 'namespaces, mounts and cgroups');

const scratch = makeScratch('exec', 'tsswarm-it');
const { tmp, cgroupParent, layer } = scratch;
const root = join(tmp, 'state');
const rt: Runtime = createRuntime({ root, cgroupParent });
const ID = 'box';
/** The runtime's --root for the containers under `root`. */
const stateRoot = containerPaths(root, ID).stateRoot;
/** Docker's default capability set, as the container's PID 1 has it. */
const DOCKER_CAPS = '00000000a80425fb';

/** Host pids of detached processes the tests started; killed in `after` if still there. */
const detached: number[] = [];
let pid1 = -1;

function runtime(args: string[], opts: { input?: string; stdio?: Array<'ignore' | 'pipe' | number> } = {}): SpawnSyncReturns<string> {
  return spawnSync(runtimePath, ['--root', stateRoot, ...args], { encoding: 'utf8', timeout: 20_000, ...opts });
}

function exec(args: string[], over: Partial<ExecOptions> = {}): Promise<ExecResult> {
  return execInContainer({ root: stateRoot, id: ID, args, ...over });
}

/** Runs and expects exit 0; returns stdout. */
async function out(args: string[], over: Partial<ExecOptions> = {}): Promise<string> {
  const r = await exec(args, over);
  assert.equal(r.exitCode, 0, `${args.join(' ')}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

const statusField = (status: string, field: string): string => new RegExp(`^${field}:\\s+(\\S+)$`, 'm').exec(status)?.[1] ?? `(no ${field})`;

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The pids in every cgroup directory of container `id`. */
function cgroupProcs(id: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const d of detectCgroupDriver().plan(cgroupParent, id).dirs) {
    m.set(d, readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '').map(Number));
  }
  return m;
}

before(async () => {
  makeBusyboxRootfs(layer);
  const info = await rt.run(containerConfig(scratch, ID, ['sleep', '1000'], { hostname: 'exec-box' }));
  assert.equal(info.status, 'running');
  pid1 = info.pid ?? -1;
});

after(async () => {
  const problems: string[] = [];
  for (const p of detached) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  // A test that failed between pause and resume must not leave a frozen container to remove.
  runtime(['resume', ID]);
  await removeContainers([rt], problems);
  unmountLeftovers(tmp, problems);
  removeCgroupDirs(cgroupParentDirs(cgroupParent), problems);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('exec in a running container (root)', () => {
  it('sees the container\'s hostname, pid namespace and root', async () => {
    assert.equal((await out(['hostname'])).trim(), 'exec-box');
    assert.equal(await out(['cat', '/proc/1/cmdline']), 'sleep\u00001000\u0000');
    assert.equal((await out(['readlink', '/proc/self/ns/pid'])).trim(), readlinkSync(`/proc/${pid1}/ns/pid`));
    for (const ns of ['mnt', 'net', 'ipc', 'uts', 'cgroup']) {
      assert.equal((await out(['readlink', `/proc/self/ns/${ns}`])).trim(), readlinkSync(`/proc/${pid1}/ns/${ns}`), ns);
    }
    // A file written into the rootfs from the host is there; the host's own files are not.
    writeFileSync(join(containerPaths(root, ID).rootfs, 'exec-probe.txt'), 'written by the test\n');
    assert.equal(await out(['cat', '/exec-probe.txt']), 'written by the test\n');
    assert.equal((await out(['sh', '-c', `test -e ${tmp} && echo visible || echo absent`])).trim(), 'absent');
    if (existsSync('/etc/hostname')) {
      const host = readFileSync('/etc/hostname', 'utf8');
      const inside = await exec(['cat', '/etc/hostname']);
      assert.notEqual(inside.stdout, host, "the host's /etc/hostname");
    }
    assert.equal((await out(['pwd'])).trim(), '/');
  });

  it('joins the container\'s cgroup, and -d --pid-file leaves the process running with its host pid written', async () => {
    const pidFile = join(tmp, 'detached.pid');
    // No pipes: the detached process keeps its stdio, and a pipe would keep spawnSync waiting for it.
    const errFile = join(tmp, 'detached.err');
    const errFd = openSync(errFile, 'w');
    const r = runtime(['exec', '-d', '--pid-file', pidFile, ID, 'sleep', '5'], { stdio: ['ignore', 'ignore', errFd] });
    closeSync(errFd);
    assert.equal(r.status, 0, readFileSync(errFile, 'utf8'));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(Number.isSafeInteger(pid) && pid > 0, `pid file: ${pid}`);
    detached.push(pid);
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\u00005\u0000$/);
    for (const [dir, pids] of cgroupProcs(ID)) assert.ok(pids.includes(pid), `${pid} in ${dir}/cgroup.procs: ${pids.join(' ')}`);
    assert.equal(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync(`/proc/${pid1}/ns/pid`));
    assert.equal(readlinkSync(`/proc/${pid}/root`), readlinkSync(`/proc/${pid1}/root`), 'its root, as the host sees it');
    // The container's own view: the process is in there with a small pid.
    const ps = await out(['ps', '-o', 'pid,args']);
    assert.match(ps, /^\s*\d+\s+sleep 5$/m);
    process.kill(pid, 'SIGKILL');
  });

  it('has the container\'s capabilities, seccomp filter and no_new_privs', async () => {
    const own = await out(['cat', '/proc/self/status']);
    const pid1Status = readFileSync(`/proc/${pid1}/status`, 'utf8');
    for (const f of ['CapEff', 'CapBnd', 'CapPrm']) {
      assert.equal(statusField(own, f), DOCKER_CAPS, f);
      assert.equal(statusField(own, f), statusField(pid1Status, f), `${f} as PID 1`);
    }
    assert.equal(statusField(own, 'CapInh'), '0000000000000000');
    assert.equal(statusField(own, 'Seccomp'), '2');
    assert.equal(statusField(own, 'NoNewPrivs'), statusField(pid1Status, 'NoNewPrivs'));

    const withNnp = runtime(['exec', '--no-new-privs', ID, 'cat', '/proc/self/status']);
    assert.equal(withNnp.status, 0, withNnp.stderr);
    assert.equal(statusField(withNnp.stdout, 'NoNewPrivs'), '1');
    assert.equal(statusField(withNnp.stdout, 'Seccomp'), '2');
    const withCap = runtime(['exec', '--cap', 'CAP_SYS_ADMIN', ID, 'cat', '/proc/self/status']);
    assert.equal(withCap.status, 0, withCap.stderr);
    assert.equal(statusField(withCap.stdout, 'CapEff'), '00000000a82425fb', '+CAP_SYS_ADMIN (bit 21)');
  });

  it('runs as another user (-u), with extra environment (-e) and working directory (--cwd)', async () => {
    const nobody = await out(['sh', '-c', 'id -u; grep CapEff /proc/self/status'], { user: '65534' });
    assert.match(nobody, /^65534\nCapEff:\s+0000000000000000\n$/);
    assert.equal((await out(['id', '-u', '-n'], { user: '65534:65534' })).trim(), 'nobody');
    assert.equal(await out(['sh', '-c', 'echo $FOO; pwd; echo $PATH'], { env: ['FOO=bar'], cwd: '/tmp' }), 'bar\n/tmp\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    // -e replaces a variable of the container's environment rather than adding a second one.
    const env = await out(['env'], { env: ['PATH=/bin'] });
    assert.deepEqual(env.split('\n').filter((l) => l.startsWith('PATH=')), ['PATH=/bin']);
  });

  it('takes a whole runtime-spec process with -p', async () => {
    const file = join(tmp, 'process.json');
    writeFileSync(
      file,
      JSON.stringify({ args: ['sh', '-c', 'id -u; echo $X; pwd'], env: ['X=from-json', 'PATH=/bin'], cwd: '/etc', user: { uid: 65534, gid: 65534 } }),
    );
    const r = runtime(['exec', '-p', file, ID]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '65534\nfrom-json\n/etc\n');
    writeFileSync(file, JSON.stringify({ args: [], cwd: '/' }));
    const bad = runtime(['exec', '-p', file, ID]);
    assert.equal(bad.status, 255);
    assert.match(bad.stderr, /^tsswarm-runtime: exec: --process .*process\.args: must name a program\n$/);
  });

  it('passes the process\'s exit status through, and its own stderr is no error', async () => {
    assert.equal((await exec(['sh', '-c', 'exit 7'])).exitCode, 7);
    const r = await exec(['sh', '-c', 'echo oops >&2; exit 255']);
    assert.deepEqual(r, { exitCode: 255, stdout: '', stderr: 'oops\n' });
    assert.equal((await exec(['sh', '-c', 'kill -9 $$'])).exitCode, 137);
    // The runtime in the foreground forwards signals and exits as the process did.
    const child = spawn(runtimePath, ['--root', stateRoot, 'exec', ID, 'sleep', '100'], { stdio: 'ignore' });
    await new Promise((r2) => setTimeout(r2, 300));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r2) => child.on('exit', (c) => r2(c)));
    assert.equal(code, 143);
  });

  it('reports a missing command as one clear line and an ExecError', async () => {
    const cli = runtime(['exec', ID, 'nosuch']);
    assert.equal(cli.status, 255);
    assert.equal(cli.stderr, 'tsswarm-runtime: exec: ENOENT ("nosuch": executable file not found in $PATH)\n');
    await assert.rejects(exec(['nosuch']), (e: unknown) => {
      assert.ok(e instanceof ExecError, String(e));
      assert.equal(e.code, 'EXEC');
      assert.equal(e.step, 'exec');
      assert.equal(e.errno, 'ENOENT');
      assert.match(e.message, /"nosuch": executable file not found in \$PATH/);
      return true;
    });
    const cwd = runtime(['exec', '--cwd', '/nonexistent', ID, 'true']);
    assert.equal(cwd.stderr, 'tsswarm-runtime: chdir /nonexistent: ENOENT (No such file or directory)\n');
    await assert.rejects(exec(['true'], { id: 'nosuch-container' }), /container "nosuch-container" does not exist/);
  });

  it('gives the process a terminal from the container\'s devpts (-t)', { skip: has('script') ? false : 'script(1) is not installed' }, async () => {
    // script(1) gives the runtime a terminal of its own, 33x111, which must reach the container's pty.
    const cmd = `stty rows 33 cols 111; ${runtimePath} --root ${stateRoot} exec -t ${ID} sh -c 'tty; [ -t 0 ] && echo stdin-is-a-tty; stty size; exit 3'`;
    const r = await underScript(cmd);
    assert.equal(r.status, 3, r.out);
    assert.match(r.out, /^\/dev\/pts\/\d+\r\nstdin-is-a-tty\r\n33 111\r\n$/);
    // The agent's side: no terminal of its own, the output still comes through the pty.
    const e = await exec(['sh', '-c', 'tty; [ -t 1 ] && echo stdout-is-a-tty'], { tty: true });
    assert.equal(e.exitCode, 0, e.stderr);
    assert.match(e.stdout, /^\/dev\/pts\/\d+\r\nstdout-is-a-tty\r\n$/);
  });

  it('sends the pty master to --console-socket', { skip: has('python3') ? false : 'python3 is not installed' }, async () => {
    // Node cannot receive SCM_RIGHTS; a few lines of python listen, take the master and read it to EOF.
    const sock = join(tmp, 'console.sock');
    const helper = [
      'import json, os, socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      's.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)',
      'c, _ = s.accept()',
      'msg, fds, _, _ = socket.recv_fds(c, 1024, 1)',
      'data = b""',
      'while True:',
      '    try: b = os.read(fds[0], 4096)',
      '    except OSError: break',
      '    if not b: break',
      '    data += b',
      'print(json.dumps({"name": msg.decode(), "fds": len(fds), "out": data.decode()}))',
    ].join('\n');
    const py = spawn('python3', ['-c', helper, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let pyOut = '';
    py.stdout.on('data', (b: Buffer) => (pyOut += b.toString()));
    const pyDone = new Promise<void>((r) => py.on('close', () => r()));
    try {
      for (let i = 0; i < 100 && !pyOut.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(pyOut.includes('ready'), 'the helper listens');
      const r = runtime(['exec', '-t', '--console-socket', sock, ID, 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-a-tty']);
      assert.equal(r.status, 0, r.stderr);
      await pyDone;
      const got = JSON.parse(pyOut.slice(pyOut.indexOf('\n') + 1)) as { name: string; fds: number; out: string };
      assert.equal(got.fds, 1);
      assert.equal(got.name, '/dev/ptmx');
      assert.match(got.out, /^\/dev\/pts\/\d+\r\nstdin-is-a-tty\r\n$/);
    } finally {
      if (py.exitCode === null) py.kill('SIGKILL');
    }
    const noTty = runtime(['exec', '--console-socket', sock, ID, 'true']);
    assert.equal(noTty.status, 255);
    assert.match(noTty.stderr, /--console-socket needs --tty/);
  });

  it('kills the process inside the container when the agent cancels', async () => {
    const ac = new AbortController();
    const running = exec(['sleep', '77'], { signal: ac.signal });
    // Until it runs: its pid shows up in the container's cgroup.
    const sleeping = (): number[] => [...(cgroupProcs(ID).values().next().value ?? [])].filter((p) => /^sleep\u000077\u0000$/.test(readCmdline(p)));
    for (let i = 0; i < 100 && sleeping().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sleeping().length, 1, 'sleep 77 runs in the container');
    ac.abort();
    await assert.rejects(running, { name: 'AbortError' });
    for (let i = 0; i < 100 && sleeping().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sleeping(), [], 'sleep 77 is gone');
  });

  it('refuses a paused container, and works again once it is resumed', async () => {
    const pause = runtime(['pause', ID]);
    assert.equal(pause.status, 0, pause.stderr);
    try {
      const cli = runtime(['exec', ID, 'true']);
      assert.equal(cli.status, 255);
      assert.match(cli.stderr, /^tsswarm-runtime: .*paused\n$/);
      await assert.rejects(exec(['true']), (e: unknown) => e instanceof ExecError && /paused/.test(e.message));
    } finally {
      const resume = runtime(['resume', ID]);
      assert.equal(resume.status, 0, resume.stderr);
    }
    assert.equal((await out(['echo', 'thawed'])).trim(), 'thawed');
  });

  it('refuses a container that has exited', async () => {
    const id = 'exited';
    await rt.run(containerConfig(scratch, id, ['true']));
    assert.equal((await rt.wait(id)).exitCode, 0);
    try {
      await assert.rejects(exec(['true'], { id }), (e: unknown) => e instanceof ExecError && /is stopped, not running/.test(e.message));
    } finally {
      await rt.remove(id);
    }
  });
});

/**
 * Runs `cmd` under script(1), which gives it a terminal of its own. Its stdin stays open until it
 * exits: at EOF script would type a byte into that terminal, which exec passes on as input.
 */
function underScript(cmd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', () => {
      clearTimeout(timer);
      child.stdin.end();
    });
    child.on('close', (status) => resolve({ status, out }));
  });
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
