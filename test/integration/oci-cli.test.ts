/**
 * tsswarm-runtime's OCI command line (runc's commands and flags) on bundles this test writes: a
 * config.json shaped like `runc spec`'s over a copy of a busybox root filesystem. Needs root and a
 * built runtime (npm run build:native); runc is not needed.
 *
 * Every command gets `--root <scratch>/state`, every container a cgroup below one random parent.
 * Each test removes its own containers; `after` then deletes (`delete --force`) whatever is still
 * in the state dir, kills what still runs in the cgroup parent, removes the parent in every
 * hierarchy and the scratch dir, and fails listing each thing it had to clean up.
 *
 * Container stdio goes to files, never to pipes: a created container inherits the caller's stdio
 * and would keep a pipe (and spawnSync) open for as long as it lives, as it would with runc.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { until } from '../../bench/poll';
import { processesMentioning } from './harness/leftovers';
import { makeScratch, mountsUnder, requireRootAndAddon, unmountLeftovers } from './harness/scratch';

requireRootAndAddon('test/integration/oci-cli.test.ts', 'namespaces, mounts and cgroups');

const RUNTIME = resolve(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'tsswarm-runtime');
if (!existsSync(RUNTIME)) throw new Error(`${RUNTIME} missing: run npm run build:native first`);

const scratch = makeScratch('oci', 'tsswarm-it-oci');
const { tmp, cgroupParent, layer } = scratch;
const root = join(tmp, 'state');

const CGROUP = '/sys/fs/cgroup';
const hostIsV2 = existsSync(join(CGROUP, 'cgroup.controllers'));
/** The v1 hierarchies the runtime uses by default: every cgroup v1 mount under /sys/fs/cgroup. */
const v1Hierarchies = hostIsV2
  ? []
  : readdirSync(CGROUP)
      .map((n) => join(CGROUP, n))
      .filter((d) => existsSync(join(d, 'cgroup.procs')) && !existsSync(join(d, 'cgroup.controllers')));
/** Where the default --cgroup-root puts a cgroupsPath. */
const defaultCgroupDirs = (cgroupsPath: string): string[] => (hostIsV2 ? [CGROUP + cgroupsPath] : v1Hierarchies.map((h) => h + cgroupsPath));
/** A cgroup2 mount for --cgroup-root: the hybrid (controller-less) one on a v1 host, else the main one. */
const v2Root = [join(CGROUP, 'unified'), CGROUP].find((r) => existsSync(join(r, 'cgroup.controllers'))) ?? null;

// ---------------------------------------------------------------------------------------------
// Bundles.

interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted', string[]>;
    rlimits: Array<{ type: string; hard: number; soft: number }>;
    noNewPrivileges: boolean;
  };
  root?: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    cgroupsPath: string;
    namespaces: Array<{ type: string }>;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

const cgroupsPathOf = (id: string): string => `/${cgroupParent}/${id}`;

/** What `runc spec` writes (runtime-spec 1.0.2), with our args, cgroupsPath and hostname. */
function runcSpec(id: string, args: string[], writable: boolean): OciSpec {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: !writable },
    hostname: id,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      cgroupsPath: cgroupsPathOf(id),
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

interface BundleOptions {
  /** A writable root (root.readonly false); the default is runc spec's read-only one. */
  writable?: boolean;
  /** Changes the spec before it is written. */
  edit?: (s: OciSpec) => void;
  /** config.json's text as is, instead of the spec. */
  rawConfig?: string;
  /** Leave out the rootfs directory. */
  noRootfs?: boolean;
}

/** <scratch>/bundles/<id>: config.json and rootfs/, a plain-directory copy of the busybox layer. */
function makeBundle(id: string, args: string[], o: BundleOptions = {}): string {
  const dir = join(tmp, 'bundles', id);
  mkdirSync(dir, { recursive: true });
  // verbatimSymlinks: the applets are relative links to busybox, which must stay relative.
  if (o.noRootfs !== true) cpSync(layer, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  const spec = runcSpec(id, args, o.writable === true);
  o.edit?.(spec);
  writeFileSync(join(dir, 'config.json'), o.rawConfig ?? JSON.stringify(spec, null, 2));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Running the runtime.

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let calls = 0;

/** Runs a command to completion with stdout and stderr in files (see the header), stdin /dev/null. */
function execute(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result {
  mkdirSync(join(tmp, 'out'), { recursive: true });
  const base = join(tmp, 'out', String(++calls));
  const out = openSync(`${base}.out`, 'w');
  const err = openSync(`${base}.err`, 'w');
  const started = Date.now();
  try {
    const r = spawnSync(file, args, { stdio: ['ignore', out, err], env, timeout: 20_000 });
    if (r.error !== undefined) throw new Error(`${file} ${args.join(' ')}: ${String(r.error)}`);
    return { status: r.status, stdout: readFileSync(`${base}.out`, 'utf8'), stderr: readFileSync(`${base}.err`, 'utf8'), ms: Date.now() - started };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** tsswarm-runtime --root <scratch>/state [global...] args... */
const runtime = (args: string[], global: string[] = []): Result => execute(RUNTIME, ['--root', root, ...global, ...args]);

/** Runs the command, asserts exit 0 and returns stdout. */
function ok(args: string[], global: string[] = []): string {
  const r = runtime(args, global);
  assert.equal(r.status, 0, `${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Runs the command, asserts exit 1 with exactly one line on stderr and returns that line. */
function fails(args: string[], global: string[] = []): string {
  const r = runtime(args, global);
  assert.equal(r.status, 1, `${args.join(' ')} should fail with 1: exit ${r.status}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, /^[^\n]+\n$/, `${args.join(' ')}: one line on stderr`);
  return r.stderr.trimEnd();
}

interface OciState {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
}

const stateOf = (id: string, global: string[] = []): OciState => JSON.parse(ok(['state', id], global)) as OciState;

/** Asserts `state id` fails the way it does for a container that was never made (or is deleted). */
function assertGone(id: string): void {
  assert.match(fails(['state', id]), /does not exist/);
  assert.equal(existsSync(join(root, id)), false, `state dir of ${id}`);
}

async function untilStatus(id: string, status: string, global: string[] = []): Promise<void> {
  await until(`${id} ${status}`, Date.now() + 5000, async () => stateOf(id, global).status === status);
}

const cmdline = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);
const pidsIn = (cgroupDir: string): number[] =>
  readFileSync(join(cgroupDir, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);

/** No process of the container, no shim (its command line names the state root), no mount. */
async function assertNothingRuns(pid: number | null): Promise<void> {
  await until('processes gone', Date.now() + 5000, async () => (pid === null || !alive(pid)) && processesMentioning(root).length === 0);
  assert.deepEqual(mountsUnder(tmp), [], 'mounts under the scratch dir');
}

/** SIGKILL by PID to a process this test started; it may have exited meanwhile. */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** `delete --force`, for finally blocks: it succeeds also when the container is gone. */
function forceDelete(id: string, global: string[] = []): void {
  const r = runtime(['delete', '--force', id], global);
  assert.equal(r.status, 0, `delete --force ${id}: ${r.stderr}`);
}

// ---------------------------------------------------------------------------------------------

before(() => {
  makeBusyboxRootfs(layer);
});

after(async () => {
  const problems: string[] = [];
  const list = existsSync(root) ? execute(RUNTIME, ['--root', root, 'list', '-q']) : null;
  for (const id of (list?.stdout ?? '').split('\n').filter((l) => l !== '')) {
    problems.push(`leftover container ${id}`);
    for (const global of v2Root === null ? [[]] : [[], ['--cgroup-root', v2Root]]) {
      const r = execute(RUNTIME, ['--root', root, ...global, 'delete', '--force', id]);
      if (r.status !== 0 && existsSync(join(root, id))) problems.push(`delete --force ${id}: ${r.stderr.trim()}`);
    }
  }
  const parents = defaultCgroupDirs(`/${cgroupParent}`);
  if (v2Root !== null && v2Root !== CGROUP) parents.push(join(v2Root, cgroupParent));
  for (const parent of parents.filter((p) => existsSync(p))) {
    for (const child of readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const dir = join(parent, child.name);
      problems.push(`leftover cgroup ${dir}`);
      for (const pid of pidsIn(dir)) {
        problems.push(`leftover process ${pid} in ${dir}`);
        killQuietly(pid);
      }
    }
  }
  for (const pid of processesMentioning(root)) {
    problems.push(`leftover shim ${pid}`);
    killQuietly(pid);
  }
  unmountLeftovers(tmp, problems);
  for (const parent of parents.filter((p) => existsSync(p))) {
    const children = readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory());
    const dirs = [...children.map((c) => join(parent, c.name)), parent];
    await until(`rmdir ${parent}`, Date.now() + 5000, async () => {
      for (const d of dirs) if (existsSync(d)) rmdirSync(d);
      return true;
    }).catch((e: unknown) => problems.push(String(e)));
  }
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('tsswarm-runtime OCI command line (root)', () => {
  it('create, start, state, list, pause, resume, kill and delete a container', async () => {
    const id = 'life';
    const bundle = makeBundle(id, ['sleep', '1000']);
    const pidFile = join(tmp, 'life.pid');
    let pid: number | null = null;
    try {
      const created = runtime(['create', '--bundle', bundle, '--pid-file', pidFile, id]);
      assert.equal(created.status, 0, created.stderr);
      assert.equal(created.stderr, '');
      pid = Number(readFileSync(pidFile, 'utf8').trim());
      assert.ok(Number.isInteger(pid) && pid > 0, `pid file: ${readFileSync(pidFile, 'utf8')}`);

      const st = stateOf(id);
      assert.equal(typeof st.ociVersion, 'string');
      assert.match(st.ociVersion, /^1\.\d+\.\d+/);
      assert.equal(st.id, id);
      assert.equal(st.status, 'created');
      assert.equal(st.pid, pid);
      assert.equal(st.bundle, bundle);
      // PID 1 waits for `start` before it execs.
      assert.notEqual(cmdline(pid).split('\0')[0], 'sleep', 'not exec\'d before start');
      const cgroupDirs = defaultCgroupDirs(cgroupsPathOf(id));
      assert.ok(cgroupDirs.length > 0, 'some cgroup hierarchy');
      for (const d of cgroupDirs) {
        assert.ok(existsSync(d), d);
        assert.ok(pidsIn(d).includes(pid), `pid ${pid} in ${d}`);
      }

      ok(['start', id]);
      assert.equal(stateOf(id).status, 'running');
      assert.equal(cmdline(pid), 'sleep\x001000\x00');

      const table = ok(['list']).split('\n');
      assert.match(table[0] ?? '', /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
      const row = table.find((l) => l.split(/\s+/)[0] === id);
      assert.ok(row !== undefined, table.join('\n'));
      assert.deepEqual(row.split(/\s+/).slice(0, 4), [id, String(pid), 'running', bundle]);
      const listed = JSON.parse(ok(['list', '--format', 'json'])) as OciState[];
      assert.deepEqual(
        listed.map((s) => [s.id, s.status, s.pid]),
        [[id, 'running', pid]],
      );
      assert.deepEqual(ok(['list', '-q']), `${id}\n`);

      ok(['pause', id]);
      assert.equal(stateOf(id).status, 'paused');
      if (!hostIsV2) assert.equal(readFileSync(join(CGROUP, 'freezer', cgroupsPathOf(id), 'freezer.state'), 'utf8').trim(), 'FROZEN');
      ok(['resume', id]);
      assert.equal(stateOf(id).status, 'running');

      ok(['kill', id, 'KILL']);
      await untilStatus(id, 'stopped');
      assert.equal(stateOf(id).pid, 0);

      const deleted = runtime(['delete', id]);
      assert.equal(deleted.status, 0, deleted.stderr);
      assertGone(id);
      for (const d of cgroupDirs) assert.equal(existsSync(d), false, `${d} removed`);
      await assertNothingRuns(pid);
    } finally {
      forceDelete(id);
    }
  });

  it('kill sends SIGTERM by default, takes 9, SIGKILL and KILL, and rejects an unknown signal', async () => {
    const id = 'term';
    const bundle = makeBundle(id, ['sh', '-c', 'trap "echo got TERM > /tmp/t; exit 7" TERM; while :; do sleep 0.1; done'], { writable: true });
    const forms = ['9', 'SIGKILL', 'KILL'];
    try {
      ok(['create', '--bundle', bundle, id]);
      ok(['start', id]);
      const pid = stateOf(id).pid;
      assert.match(fails(['kill', id, 'BOGUS']), /signal.*BOGUS/i);
      assert.equal(stateOf(id).status, 'running', 'still running after a rejected kill');

      ok(['kill', id]);
      await untilStatus(id, 'stopped');
      // The root is a plain directory: what the trap wrote is there on the host.
      assert.equal(readFileSync(join(bundle, 'rootfs', 'tmp', 't'), 'utf8'), 'got TERM\n');
      ok(['delete', id]);
      await assertNothingRuns(pid);

      for (const sig of forms) {
        const kid = `kill-${sig.toLowerCase()}`;
        ok(['create', '--bundle', makeBundle(kid, ['sleep', '1000']), kid]);
        ok(['start', kid]);
      }
      for (const sig of forms) ok(['kill', `kill-${sig.toLowerCase()}`, sig]);
      for (const sig of forms) {
        await untilStatus(`kill-${sig.toLowerCase()}`, 'stopped');
        ok(['delete', `kill-${sig.toLowerCase()}`]);
      }
    } finally {
      forceDelete(id);
      for (const sig of forms) forceDelete(`kill-${sig.toLowerCase()}`);
    }
  });

  it('refuses to delete a running container without --force, and delete --force kills it', async () => {
    const id = 'busy';
    try {
      ok(['create', '--bundle', makeBundle(id, ['sleep', '1000']), id]);
      ok(['start', id]);
      const pid = stateOf(id).pid;
      assert.match(fails(['delete', id]), /running/);
      assert.equal(stateOf(id).status, 'running');
      assert.equal(cmdline(pid), 'sleep\x001000\x00');

      ok(['delete', '--force', id]);
      assertGone(id);
      for (const d of defaultCgroupDirs(cgroupsPathOf(id))) assert.equal(existsSync(d), false, `${d} removed`);
      await assertNothingRuns(pid);
    } finally {
      forceDelete(id);
    }
  });

  it('run waits for the container, gives it our stdio, returns its exit status and removes it; run --detach does not wait', async () => {
    const id = 'fg';
    try {
      const r = runtime(['run', '--bundle', makeBundle(id, ['sh', '-c', 'echo hi; exit 3']), id]);
      assert.equal(r.status, 3, r.stderr);
      assert.equal(r.stdout, 'hi\n');
      assert.equal(r.stderr, '');
      assertGone(id);
      for (const d of defaultCgroupDirs(cgroupsPathOf(id))) assert.equal(existsSync(d), false, `${d} removed`);
      await assertNothingRuns(null);
    } finally {
      forceDelete(id);
    }

    const bg = 'bg';
    try {
      const r = runtime(['run', '--detach', '--bundle', makeBundle(bg, ['sleep', '1000']), bg]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.ms < 5000, `run --detach took ${r.ms}ms`);
      const st = stateOf(bg);
      assert.equal(st.status, 'running');
      assert.equal(cmdline(st.pid), 'sleep\x001000\x00');
      ok(['delete', '--force', bg]);
      assertGone(bg);
      await assertNothingRuns(st.pid);
    } finally {
      forceDelete(bg);
    }
  });

  it('runs a create/start/state/kill/delete script written for runc with RUNTIME=tsswarm-runtime', async () => {
    const id = 'script';
    const bundle = makeBundle(id, ['sleep', '1000']);
    const script = join(tmp, 'runc-lifecycle.sh');
    writeFileSync(
      script,
      `#!/bin/bash
# A runc user's lifecycle script: nothing in it knows which runtime it drives.
set -euo pipefail
RUNTIME=\${RUNTIME:-runc}
ROOT=${JSON.stringify(root)}
BUNDLE=${JSON.stringify(bundle)}
ID=${id}

"$RUNTIME" --root "$ROOT" create --bundle "$BUNDLE" --pid-file "$BUNDLE/pid" "$ID"
"$RUNTIME" --root "$ROOT" state "$ID" | grep -q '"status": "created"'
"$RUNTIME" --root "$ROOT" start "$ID"
"$RUNTIME" --root "$ROOT" state "$ID" | grep -q '"status": "running"'
"$RUNTIME" --root "$ROOT" list | grep -q "^$ID "
"$RUNTIME" --root "$ROOT" kill "$ID" KILL
for i in $(seq 50); do
  "$RUNTIME" --root "$ROOT" state "$ID" | grep -q '"status": "stopped"' && break
  sleep 0.1
done
"$RUNTIME" --root "$ROOT" state "$ID" | grep -q '"status": "stopped"'
"$RUNTIME" --root "$ROOT" delete "$ID"
if "$RUNTIME" --root "$ROOT" state "$ID" 2>/dev/null; then echo "state after delete" >&2; exit 1; fi
echo "lifecycle ok: pid $(cat "$BUNDLE/pid")"
`,
    );
    try {
      const r = execute('bash', [script], { ...process.env, RUNTIME });
      assert.equal(r.status, 0, `script: exit ${r.status}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^lifecycle ok: pid \d+\n$/);
      assert.equal(r.stderr, '');
      assertGone(id);
      await assertNothingRuns(Number(/pid (\d+)/.exec(r.stdout)?.[1]));
    } finally {
      forceDelete(id);
    }
  });

  it('the runc spec\'s deny-all device rule still lets the container use the default devices, as runc does', async () => {
    // runc spec writes linux.resources.devices [{allow: false, access: "rwm"}]; runc then appends
    // its allowed defaults (/dev/null, zero, full, random, urandom, tty, pts), so this works there.
    const id = 'devs';
    try {
      const bundle = makeBundle(id, ['sh', '-c', 'echo x > /dev/null && head -c 4 /dev/urandom | wc -c && head -c 2 /dev/zero | wc -c'], {
        edit: (s) => Object.assign(s.linux, { resources: { devices: [{ allow: false, access: 'rwm' }] } }),
      });
      const r = runtime(['run', '--bundle', bundle, id]);
      assert.deepEqual({ status: r.status, stdout: r.stdout, stderr: r.stderr }, { status: 0, stdout: '4\n2\n', stderr: '' });
    } finally {
      forceDelete(id);
    }
  });

  it('rejects bad bundles with one line naming the problem, leaving nothing behind', async () => {
    const cases: Array<{ id: string; o: BundleOptions; problem: RegExp }> = [
      { id: 'bad-ns', o: { edit: (s) => s.linux.namespaces.push({ type: 'foo' }) }, problem: /linux\.namespaces\[5\]\.type.*"foo"/ },
      { id: 'no-root', o: { edit: (s) => delete s.root }, problem: /\broot\b.*required/ },
      {
        id: 'rel-mount',
        o: { edit: (s) => s.mounts.push({ destination: 'proc', type: 'proc', source: 'proc' }) },
        problem: /mounts\[6\]\.destination.*"proc".*absolute/,
      },
      { id: 'bad-json', o: { rawConfig: '{"ociVersion": "1.0.2", "process": {' }, problem: /config\.json.*invalid JSON/ },
      { id: 'no-rootfs', o: { noRootfs: true }, problem: /root\.path.*rootfs.*not a directory/ },
    ];
    for (const c of cases) {
      const line = fails(['create', '--bundle', makeBundle(c.id, ['sleep', '1000'], c.o), c.id]);
      assert.match(line, c.problem, c.id);
      assert.equal(existsSync(join(root, c.id)), false, `${c.id}: state dir`);
      for (const d of defaultCgroupDirs(cgroupsPathOf(c.id))) assert.equal(existsSync(d), false, `${c.id}: ${d}`);
      await assertNothingRuns(null);
    }

    // A missing command: found out while PID 1 is built (create) or when it execs (start).
    const id = 'no-cmd';
    try {
      const created = runtime(['create', '--bundle', makeBundle(id, ['no-such-command', '--flag']), id]);
      const failure = created.status === 0 ? runtime(['start', id]) : created;
      assert.equal(failure.status, 1, `create or start of a missing command: ${failure.stderr}`);
      assert.match(failure.stderr, /^[^\n]*no-such-command[^\n]*\n$/);
      assert.match(failure.stderr, /exec|not found|No such file/);
      // A failed create, like a bad config, leaves nothing even before delete --force.
      if (created.status !== 0) assert.equal(existsSync(join(root, id)), false, `${id}: state dir after the failed create`);
    } finally {
      forceDelete(id);
    }
    assertGone(id);
    for (const d of defaultCgroupDirs(cgroupsPathOf(id))) assert.equal(existsSync(d), false, `${id}: ${d}`);
    await assertNothingRuns(null);
    assert.equal(ok(['list', '-q']), '');
  });

  it('a create that cannot write its --pid-file fails and leaves no container, as runc destroys it', async () => {
    const id = 'bad-pidfile';
    try {
      const line = fails(['create', '--bundle', makeBundle(id, ['sleep', '1000']), '--pid-file', join(tmp, 'no-such-dir', 'pid'), id]);
      assert.match(line, /pid file/);
      assert.equal(existsSync(join(root, id)), false, 'state dir after the failed create');
      for (const d of defaultCgroupDirs(cgroupsPathOf(id))) assert.equal(existsSync(d), false, d);
      await assertNothingRuns(null);
    } finally {
      forceDelete(id);
    }
  });

  it('refuses an id that exists, a start of a running container and the state of an unknown id', async () => {
    const id = 'dup';
    try {
      const bundle = makeBundle(id, ['sleep', '1000']);
      ok(['create', '--bundle', bundle, id]);
      const pid = stateOf(id).pid;
      assert.match(fails(['create', '--bundle', bundle, id]), /already exists/);
      assert.deepEqual([stateOf(id).status, stateOf(id).pid], ['created', pid], 'the first one is untouched');
      ok(['start', id]);
      assert.match(fails(['start', id]), /running/);
      assert.equal(stateOf(id).status, 'running');
      assert.match(fails(['state', 'no-such-id']), /"no-such-id" does not exist/);
      assert.match(fails(['delete', 'no-such-id']), /does not exist/);
      ok(['delete', '--force', 'no-such-id']);
    } finally {
      forceDelete(id);
    }
    assertGone(id);
  });

  it('drives the same lifecycle on cgroup v2 with --cgroup-root, pausing with cgroup.freeze', async (t) => {
    if (v2Root === null) return t.skip('this host has no cgroup2 mount');
    const id = 'v2';
    const g = ['--cgroup-root', v2Root];
    const dir = join(v2Root, cgroupsPathOf(id));
    let pid: number | null = null;
    try {
      ok(['create', '--bundle', makeBundle(id, ['sleep', '1000']), id], g);
      pid = stateOf(id, g).pid;
      assert.equal(stateOf(id, g).status, 'created');
      assert.ok(statSync(dir).isDirectory(), dir);
      assert.ok(pidsIn(dir).includes(pid), `pid ${pid} in ${dir}`);
      assert.ok(readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').includes(`0::${cgroupsPathOf(id)}`));
      if (v2Root !== CGROUP) {
        for (const d of defaultCgroupDirs(cgroupsPathOf(id))) assert.equal(existsSync(d), false, `no v1 cgroup ${d}`);
      }

      ok(['start', id], g);
      assert.equal(stateOf(id, g).status, 'running');
      assert.equal(cmdline(pid), 'sleep\x001000\x00');
      ok(['pause', id], g);
      assert.equal(stateOf(id, g).status, 'paused');
      assert.equal(readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim(), '1');
      assert.match(readFileSync(join(dir, 'cgroup.events'), 'utf8'), /^frozen 1$/m);
      ok(['resume', id], g);
      assert.equal(stateOf(id, g).status, 'running');
      assert.equal(readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim(), '0');

      ok(['kill', id, 'KILL'], g);
      await untilStatus(id, 'stopped', g);
      ok(['delete', id], g);
      assertGone(id);
      assert.equal(existsSync(dir), false, `${dir} removed`);
      await assertNothingRuns(pid);
    } finally {
      forceDelete(id, g);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The runtime's cgroup code (native/src/cgroup.cc) on fake trees: every file a resource becomes,
// on v2 (controllers enabled down the path, memory/cpu/pids/cpuset/io, `unified`) and v1, where
// this host's kernel could not show them all (its cgroup2 mount offers no controllers). clone3
// cannot go into a fake directory; the shim then writes cgroup.procs, a plain file here, so the
// container runs outside any cgroup and only the files are checked.

/** A fake cgroup tree under the scratch dir: v2 (one root offering `controllers`) or v1 (one dir per controller). */
function fakeTree(kind: 'v1' | 'v2', controllers: string[]): string {
  const dir = join(tmp, `fake-${kind}-${Math.random().toString(16).slice(2, 8)}`);
  if (kind === 'v2') {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.controllers'), `${controllers.join(' ')}\n`);
    writeFileSync(join(dir, 'cgroup.subtree_control'), '');
    writeFileSync(join(dir, 'cgroup.procs'), '');
  } else {
    for (const c of controllers) {
      mkdirSync(join(dir, c), { recursive: true });
      writeFileSync(join(dir, c, 'cgroup.procs'), '');
      if (c === 'cpuset') for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, c, f), '0\n');
    }
  }
  return dir;
}

/**
 * A fake tree's directories are not cgroups: mkdir makes no knob files there, so the directories
 * the runtime will use are made beforehand with the files the kernel would show (empty).
 */
function seed(dirs: string[], files: string[]): void {
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    for (const f of files) if (!existsSync(join(d, f))) writeFileSync(join(d, f), '');
  }
}

describe('tsswarm-runtime cgroups on fake trees (root)', () => {
  const resources = {
    memory: { limit: 64 << 20, reservation: 32 << 20 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 77 },
    blockIO: { weight: 500 },
  };
  const read = (f: string): string => readFileSync(f, 'utf8').trim();

  it('v2: enables the controllers down the path and writes each limit into the container\'s directory', () => {
    const fake = fakeTree('v2', ['cpuset', 'cpu', 'io', 'memory', 'pids']);
    const knobs = ['cgroup.subtree_control', 'cgroup.procs', 'memory.max', 'memory.low', 'cpu.max', 'cpu.weight', 'pids.max', 'cpuset.cpus', 'cpuset.mems', 'io.weight', 'memory.high'];
    seed([join(fake, 'outer'), join(fake, 'outer', 'inner'), join(fake, 'outer', 'inner', 'fake-v2')], knobs);
    const id = 'fake-v2';
    const bundle = makeBundle(id, ['sleep', '1000'], {
      edit: (s) => {
        s.linux.cgroupsPath = '/outer/inner/fake-v2';
        (s.linux as { resources?: unknown }).resources = { ...resources, unified: { 'memory.high': '50000000' } };
      },
    });
    try {
      ok(['create', '--bundle', bundle, id], ['--cgroup-root', fake]);
      const dir = join(fake, 'outer', 'inner', 'fake-v2');
      assert.equal(read(join(dir, 'memory.max')), String(64 << 20));
      assert.equal(read(join(dir, 'memory.low')), String(32 << 20));
      assert.equal(read(join(dir, 'cpu.max')), '50000 100000');
      assert.equal(read(join(dir, 'cpu.weight')), String(1 + Math.floor(((512 - 2) * 9999) / 262142)), 'shares converted as runc does');
      assert.equal(read(join(dir, 'pids.max')), '77');
      assert.equal(read(join(dir, 'cpuset.cpus')), '0');
      assert.equal(read(join(dir, 'io.weight')), String(1 + Math.floor(((500 - 10) * 9999) / 990)));
      assert.equal(read(join(dir, 'memory.high')), '50000000', 'linux.resources.unified');
      // The limits' controllers are enabled in the root's and every ancestor's subtree_control.
      for (const d of [fake, join(fake, 'outer'), join(fake, 'outer', 'inner')]) {
        const enabled = read(join(d, 'cgroup.subtree_control'));
        for (const c of ['cpu', 'memory', 'pids', 'cpuset']) assert.match(enabled, new RegExp(`\\+${c}\\b`), `${c} enabled in ${d}: ${enabled}`);
      }
      const pid = stateOf(id, ['--cgroup-root', fake]).pid;
      assert.equal(read(join(dir, 'cgroup.procs')), String(pid), 'no clone3 into a fake dir: PID 1 written instead');
    } finally {
      const s = execute(RUNTIME, ['--root', root, '--cgroup-root', fake, 'kill', id, 'KILL']);
      void s;
      killLeftovers(id, fake);
    }
  });

  it('v2: a limit whose controller the root does not offer is refused, and nothing is left', () => {
    const fake = fakeTree('v2', ['cpu']);
    const id = 'fake-v2-refused';
    const bundle = makeBundle(id, ['true'], { edit: (s) => ((s.linux as { resources?: unknown }).resources = { memory: { limit: 1 << 26 } }) });
    const err = fails(['create', '--bundle', bundle, id], ['--cgroup-root', fake]);
    assert.match(err, /memory limit needs the memory controller/);
    assert.equal(existsSync(join(root, id)), false, 'no state dir');
    assert.equal(existsSync(join(fake, cgroupParent)), false, 'no cgroup dir');
  });

  it('v1: one directory per hierarchy, each limit in its controller, the device rules, cpuset filled from the parent', () => {
    const hierarchies = ['cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'];
    const fake = fakeTree('v1', hierarchies);
    const id = 'fake-v1';
    const knobs = ['cgroup.procs', 'memory.limit_in_bytes', 'cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.shares', 'pids.max', 'cpuset.cpus', 'cpuset.mems', 'devices.allow', 'devices.deny', 'freezer.state'];
    seed(hierarchies.flatMap((h) => [join(fake, h, cgroupParent), join(fake, h, cgroupParent, id)]), knobs);
    const bundle = makeBundle(id, ['sleep', '1000'], {
      edit: (s) => {
        (s.linux as { resources?: unknown }).resources = {
          memory: { limit: 64 << 20 },
          cpu: { quota: 50000, period: 100000, shares: 512 },
          pids: { limit: 77 },
          devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
        };
      },
    });
    try {
      ok(['create', '--bundle', bundle, id], ['--cgroup-root', fake]);
      const at = (c: string, f: string): string => read(join(fake, c, cgroupParent, id, f));
      assert.equal(at('memory', 'memory.limit_in_bytes'), String(64 << 20));
      assert.equal(at('cpu', 'cpu.cfs_quota_us'), '50000');
      assert.equal(at('cpu', 'cpu.cfs_period_us'), '100000');
      assert.equal(at('cpu', 'cpu.shares'), '512');
      assert.equal(at('pids', 'pids.max'), '77');
      assert.equal(at('cpuset', 'cpuset.cpus'), '0', 'copied down so that the cgroup can be joined');
      // devices.allow holds the last rule written: the runtime-spec's default devices come last.
      assert.match(readFileSync(join(fake, 'devices', cgroupParent, id, 'devices.deny'), 'utf8'), /^a/);
      assert.match(at('devices', 'devices.allow'), /^c 136:\* rwm/);
      const pid = stateOf(id, ['--cgroup-root', fake]).pid;
      for (const c of ['cpu', 'memory', 'pids', 'freezer', 'devices']) assert.equal(at(c, 'cgroup.procs'), String(pid), `${c} joined`);
    } finally {
      execute(RUNTIME, ['--root', root, '--cgroup-root', fake, 'kill', id, 'KILL']);
      killLeftovers(id, fake);
    }
  });
});

/** After a fake-tree container: it is killed; its state goes (delete cannot rmdir a fake dir with files in it). */
function killLeftovers(id: string, fake: string): void {
  const stateFile = join(root, id, 'state.json');
  if (existsSync(stateFile)) {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number; shimPid: number };
    for (const pid of [s.pid, s.shimPid]) killQuietly(pid);
  }
  for (let i = 0; i < 100 && existsSync(stateFile) && JSON.parse(readFileSync(stateFile, 'utf8')).status !== 'stopped'; i++) execute('/bin/sleep', ['0.02']);
  rmSync(join(root, id), { recursive: true, force: true });
  rmSync(fake, { recursive: true, force: true });
}

describe('tsswarm-runtime lifecycle hooks (root)', () => {
  const hook = (out: string): { path: string; args: string[] } => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}`] });
  const stateIn = (file: string): OciState => JSON.parse(readFileSync(file, 'utf8')) as OciState;

  it('runs createRuntime at create, prestart at start, poststart once running, poststop at delete, each with the state on stdin', () => {
    const id = 'hooks';
    const out = join(tmp, 'hooks-out');
    mkdirSync(out, { recursive: true });
    const bundle = makeBundle(id, ['sleep', '1000'], {
      edit: (s) => {
        (s as { hooks?: unknown }).hooks = {
          createRuntime: [hook(join(out, 'createRuntime'))],
          prestart: [hook(join(out, 'prestart'))],
          poststart: [hook(join(out, 'poststart'))],
          poststop: [hook(join(out, 'poststop'))],
        };
      },
    });
    try {
      ok(['create', '--bundle', bundle, id]);
      assert.equal(stateIn(join(out, 'createRuntime')).status, 'created');
      assert.equal(existsSync(join(out, 'prestart')), false, 'prestart waits for start');
      const pid = stateOf(id).pid;
      ok(['start', id]);
      assert.equal(stateIn(join(out, 'prestart')).pid, pid);
      assert.equal(stateIn(join(out, 'poststart')).status, 'running');
      assert.equal(stateIn(join(out, 'poststart')).id, id);
      ok(['kill', id, 'KILL']);
      for (let i = 0; i < 200 && stateOf(id).status !== 'stopped'; i++) execute('/bin/sleep', ['0.01']);
      ok(['delete', id]);
      assert.equal(stateIn(join(out, 'poststop')).status, 'stopped');
      assert.equal(stateIn(join(out, 'poststop')).bundle, bundle);
    } finally {
      forceDelete(id);
    }
  });

  it('a failing prestart hook fails start, and the container is stopped and deleted', () => {
    const id = 'hooks-fail';
    const bundle = makeBundle(id, ['sleep', '1000'], {
      edit: (s) => ((s as { hooks?: unknown }).hooks = { prestart: [{ path: '/bin/false', args: ['false'] }] }),
    });
    ok(['create', '--bundle', bundle, id]);
    const pid = stateOf(id).pid;
    const err = fails(['start', id]);
    assert.match(err, /prestart hook \/bin\/false: exit status 1/);
    assert.match(fails(['state', id]), /does not exist/);
    for (let i = 0; i < 200 && alive(pid); i++) execute('/bin/sleep', ['0.01']);
    assert.equal(alive(pid), false, 'its process is gone');
    assertGone(id);
  });
});
