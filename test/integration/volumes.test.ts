/**
 * A task's mounts on a real node: binds, named / anonymous / image volumes of the node's volume
 * store, tmpfs, secrets and configs, and Swarm's templates, each checked from inside a real
 * container of the native runtime (it reads its files, `stat`s them, reads /proc/mounts) and on
 * the host (what is left after the task is removed, what reached the disk).
 *
 * Needs root and the built addon; no cluster. Everything lives under one temp dir and one cgroup
 * parent, and `after` removes it (containers, task mounts, volumes, cgroups) even when a check fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../../agent/runtime';
import type { Runtime } from '../../agent/runtime/types';
import { ContainerController, type ControllerContext } from '../../agent/executor/container-controller';
import { TaskFiles } from '../../agent/executor/task-files';
import { releaseTaskMounts, tasksWithMounts, type TaskStorage } from '../../agent/executor/task-mounts';
import type { TaskBlobs } from '../../agent/executor/task-blobs';
import { VolumeStore } from '../../agent/volumes/store';
import { hostVolumeSys } from '../../agent/volumes/sys';
import { VolumeInUseError } from '../../agent/volumes/errors';
import type { ImageSource, PreparedImage } from '../../agent/image/types';
import type { AssignedTask } from '../../shared/proto/codec';
import { defaultRuntimeSettings, type ContainerSpec, type Mount } from '../../shared/types';
import { defaultContainerSpec, taskSpecOf } from '../../shared/task-spec';
import { makeBusyboxRootfs } from '../../bench/busybox-rootfs';
import { cgroupParentDirs, makeScratch, mountsUnder, removeCgroupDirs, removeContainers, logValues as values, requireRootAndAddon, unmountLeftovers } from './harness/scratch';
import { parseRecord } from '../../agent/logs/record';

requireRootAndAddon('test/integration/volumes.test.ts', 'namespaces, mounts and cgroups');

const scratch = makeScratch('volumes', 'tsswarm-volumes-it');
const { tmp, cgroupParent, layer } = scratch;
/** The agent's data root: containers and volumes; secrets must never be found on its disk. */
const dataRoot = join(tmp, 'data');
const logsDir = join(dataRoot, 'logs');
/** The top layer of the test image: files at /data (copy-up) and the image's VOLUME /imgvol. */
const appLayer = join(tmp, 'layer-app');
const rt: Runtime = createRuntime({ root: join(dataRoot, 'containers'), cgroupParent });
const sys = hostVolumeSys();
const volumes = new VolumeStore({ root: join(dataRoot, 'volumes'), hostname: 'node-a', sys });
const files = new TaskFiles(join(tmp, 'run', 'task-files'), sys);

const SECRET = `s3cr3t-${randomBytes(12).toString('hex')}`;
const CONFIG = 'listen 8080\n';
const blobMap = { secrets: new Map<string, Buffer>([['sec1', Buffer.from(SECRET)]]), configs: new Map<string, Buffer>([['cfg1', Buffer.from(CONFIG)]]) };
const blobs: TaskBlobs = { secret: (id) => blobMap.secrets.get(id) ?? null, config: (id) => blobMap.configs.get(id) ?? null };
const storage: TaskStorage = { volumes, files, blobs, sys };
const context: ControllerContext = { node: { id: 'node1id', hostname: 'node-a', platform: { os: 'linux', architecture: 'amd64' } }, storage };

const images: ImageSource = {
  prepare: async (ref: string): Promise<PreparedImage> => ({
    ref,
    digest: `sha256:${'0'.repeat(64)}`,
    layers: [appLayer, layer],
    config: { entrypoint: null, cmd: ['sh'], env: ['PATH=/bin'], workingDir: null, user: null, volumes: ['/imgvol'] },
  }),
};

function task(id: string, over: Partial<ContainerSpec>, slot: number | null = 1): AssignedTask {
  return {
    id,
    serviceId: 'svcid1',
    serviceName: 'web',
    slot,
    desiredState: 'running',
    spec: taskSpecOf({ ...defaultContainerSpec('app:latest'), hostname: 'vol', stopGracePeriodMs: 1000, ...over }),
    observedState: 'assigned',
    networks: [],
    paused: false,
    serviceLabels: {},
  };
}

const volumeMount = (source: string, target: string, o: Partial<Mount> & { noCopy?: boolean; driver?: { name: string; options: Record<string, string> } | null } = {}): Mount => ({
  type: 'volume',
  source,
  target,
  readOnly: o.readOnly ?? false,
  bind: null,
  volume: { noCopy: o.noCopy ?? false, labels: {}, driver: o.driver ?? null },
  tmpfs: null,
});
const bindMount = (source: string, target: string, readOnly: boolean, createHostPath = false): Mount => ({
  type: 'bind',
  source,
  target,
  readOnly,
  bind: { propagation: 'rprivate', createHostPath },
  volume: null,
  tmpfs: null,
});


interface Run {
  exitCode: number;
  log: string;
  vals: Map<string, string>;
}

/** What the task printed: its framed log's lines (agent/logs/record.ts), both streams, in order. */
const logOf = (id: string): string =>
  readFileSync(join(logsDir, `${id}.log`))
    .toString('latin1')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `${parseRecord(Buffer.from(l, 'latin1'), '').text.toString('utf8')}\n`)
    .join('');

/** Prepares and starts the task's container; the caller removes it. */
async function start(t: AssignedTask): Promise<ContainerController> {
  const c = new ContainerController(t, rt, images, logsDir, null, context);
  try {
    await c.prepare(AbortSignal.timeout(20_000));
    await c.start();
  } catch (e) {
    await c.remove();
    throw e;
  }
  return c;
}

/** Runs `sh -c script` as task `id` to its end, removes the task, returns what it printed. */
async function runTask(id: string, script: string, over: Partial<ContainerSpec> = {}, slot: number | null = 1): Promise<Run> {
  const c = await start(task(id, { command: ['sh', '-c', script], ...over }, slot));
  try {
    const st = await c.wait(AbortSignal.timeout(20_000));
    const log = logOf(id);
    return { exitCode: st.exitCode, log, vals: values(log) };
  } finally {
    await c.remove();
  }
}

/** Polls until the task's log has `text` (a long-running container is ready). */
async function untilLogHas(id: string, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(existsSync(join(logsDir, `${id}.log`)) && logOf(id).includes(text))) {
    if (Date.now() > deadline) throw new Error(`task ${id} never printed ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The /proc/mounts line inside a container for `target`, as the container printed it between markers. */
function mountLine(log: string, target: string): string | undefined {
  return log.split('\n').find((l) => l.split(' ')[1] === target);
}

/** Every regular file under `dir` on the same filesystem (the per-task tmpfs and other mounts are not walked). */
function filesOnDisk(dir: string, dev = statSync(dir).dev): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const st = lstatSync(p);
    if (st.dev !== dev) continue;
    if (st.isDirectory()) out.push(...filesOnDisk(p, dev));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

before(() => {
  makeBusyboxRootfs(layer);
  // /data: a directory of uid 1234 with a file, a symlink and a subdirectory, for copy-up.
  mkdirSync(join(appLayer, 'data', 'sub'), { recursive: true });
  writeFileSync(join(appLayer, 'data', 'seed.txt'), 'from the image\n');
  symlinkSync('seed.txt', join(appLayer, 'data', 'link'));
  writeFileSync(join(appLayer, 'data', 'sub', 'deep.txt'), 'deep\n');
  chownSync(join(appLayer, 'data', 'seed.txt'), 1234, 2345);
  chmodSync(join(appLayer, 'data', 'seed.txt'), 0o640);
  chownSync(join(appLayer, 'data'), 1234, 2345);
  chmodSync(join(appLayer, 'data'), 0o750);
  mkdirSync(join(appLayer, 'imgvol'));
  writeFileSync(join(appLayer, 'imgvol', 'declared.txt'), 'declared by VOLUME\n');
  mkdirSync(logsDir, { recursive: true });
});

after(async () => {
  const problems: string[] = [];
  await removeContainers([rt], problems);
  for (const id of await tasksWithMounts(storage)) await releaseTaskMounts(id, storage).catch((e: unknown) => problems.push(`release ${id}: ${String(e)}`));
  for (const v of await volumes.list()) await volumes.remove(v.name, { force: true }).catch((e: unknown) => problems.push(`volume rm ${v.name}: ${String(e)}`));
  unmountLeftovers(tmp, problems);
  removeCgroupDirs(cgroupParentDirs(cgroupParent), problems);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup');
});

describe('task mounts, seen from inside the container (root)', () => {
  it('a named volume gets the image\'s files (owners, modes, symlinks), outlives its task and is seen by the next', async () => {
    const first = await runTask(
      'named-1',
      'echo "dir=$(stat -c \'%u %g %a\' /data)"; echo "seed=$(stat -c \'%u %g %a\' /data/seed.txt) $(cat /data/seed.txt)"; echo "link=$(readlink /data/link)"; echo "deep=$(cat /data/sub/deep.txt)"; echo kept > /data/new.txt; echo "wrote=$?"',
      { mounts: [volumeMount('appdata', '/data')] },
    );
    assert.equal(first.exitCode, 0, first.log);
    assert.equal(first.vals.get('dir'), '1234 2345 750', 'the volume root takes the image directory\'s owner and mode');
    assert.equal(first.vals.get('seed'), '1234 2345 640 from the image', 'files keep owner and mode');
    assert.equal(first.vals.get('link'), 'seed.txt', 'symlinks stay symlinks');
    assert.equal(first.vals.get('deep'), 'deep');
    assert.equal(first.vals.get('wrote'), '0');

    const v = await volumes.inspect('appdata');
    assert.deepEqual(v.inUse, [], 'free once the task is removed');
    assert.equal(v.driver, 'local');
    assert.equal(readFileSync(join(v.mountpoint, 'new.txt'), 'utf8'), 'kept\n', 'kept on the node');

    const second = await runTask('named-2', 'echo "new=$(cat /data/new.txt)"; echo "seed=$(cat /data/seed.txt)"', { mounts: [volumeMount('appdata', '/data')] });
    assert.equal(second.vals.get('new'), 'kept', 'the next task sees what the first wrote');
    assert.equal(second.vals.get('seed'), 'from the image', 'and it was not copied over again');
  });

  it('nocopy: a new volume stays empty', async () => {
    const r = await runTask('nocopy', 'echo "n=$(ls -A /data | wc -l)"', { mounts: [volumeMount('emptyvol', '/data', { noCopy: true })] });
    assert.equal(r.vals.get('n'), '0', r.log);
    assert.deepEqual(readdirSync((await volumes.inspect('emptyvol')).mountpoint), []);
  });

  it('binds: read-only cannot be written, read-write can; rbind with rprivate', async () => {
    const src = join(tmp, 'bind-src');
    mkdirSync(src);
    writeFileSync(join(src, 'host.txt'), 'from the host\n');
    const r = await runTask(
      'binds',
      'echo "ro=$(cat /ro/host.txt)"; touch /ro/x 2>/dev/null; echo "rowrite=$?"; echo rw > /rw/back.txt; echo "rwwrite=$?"; grep " /ro " /proc/mounts',
      { mounts: [bindMount(src, '/ro', true), bindMount(src, '/rw', false)] },
    );
    assert.equal(r.vals.get('ro'), 'from the host', r.log);
    assert.notEqual(r.vals.get('rowrite'), '0', 'a read-only bind cannot be written');
    assert.equal(r.vals.get('rwwrite'), '0');
    assert.match(mountLine(r.log, '/ro') ?? '', / ro[, ]/, '/proc/mounts says ro');
    assert.equal(readFileSync(join(src, 'back.txt'), 'utf8'), 'rw\n', 'a write through the rw bind reaches the host');
    assert.equal(existsSync(join(src, 'x')), false);
  });

  it('a missing bind source fails the task with Docker\'s message; create_host_path makes it', async () => {
    const missing = join(tmp, 'no-such-dir');
    await assert.rejects(runTask('bind-missing', 'true', { mounts: [bindMount(missing, '/m', false)] }), {
      message: `invalid mount config for type "bind": bind source path does not exist: ${missing}`,
    });
    assert.deepEqual(await rt.list(), [], 'no container is left');
    const made = join(tmp, 'made', 'by', 'bind');
    const r = await runTask('bind-create', 'echo hi > /m/f; echo "w=$?"', { mounts: [bindMount(made, '/m', false, true)] });
    assert.equal(r.vals.get('w'), '0', r.log);
    assert.ok(statSync(made).isDirectory(), 'create_host_path made the directory');
    assert.equal(readFileSync(join(made, 'f'), 'utf8'), 'hi\n');
  });

  it('tmpfs from mounts: size and mode', async () => {
    const m: Mount = { type: 'tmpfs', source: '', target: '/scratch', readOnly: false, bind: null, volume: null, tmpfs: { sizeBytes: 1024 * 1024, mode: 0o1770 } };
    const r = await runTask('tmpfs', 'echo "mode=$(stat -c %a /scratch)"; grep " /scratch " /proc/mounts', { mounts: [m] });
    const line = mountLine(r.log, '/scratch') ?? '';
    assert.match(line, /^tmpfs \/scratch tmpfs /, r.log);
    assert.match(line, /size=1024k/);
    assert.match(line, /mode=1770/);
    assert.match(line, /nosuid/);
    assert.equal(r.vals.get('mode'), '1770');
  });

  it('anonymous and image-VOLUME volumes exist while the task runs (filled from the image) and go with it', async () => {
    const c = await start(task('anon', { command: ['sh', '-c', 'echo "decl=$(cat /imgvol/declared.txt)"; echo "anon=$(ls -A /anon | wc -l)"; grep -E " /(anon|imgvol) " /proc/mounts; echo ready; sleep 60'], mounts: [volumeMount('', '/anon')] }));
    try {
      await untilLogHas('anon', 'ready');
      const log = logOf('anon');
      assert.equal(values(log).get('decl'), 'declared by VOLUME', `the image's VOLUME got its files: ${log}`);
      assert.equal(values(log).get('anon'), '0', 'nothing in the image at /anon: an empty volume');
      assert.ok(mountLine(log, '/anon') && mountLine(log, '/imgvol'), log);
      const mine = (await volumes.list()).filter((v) => v.inUse.includes('anon'));
      assert.equal(mine.length, 2, 'two anonymous volumes for the task');
      assert.ok(mine.every((v) => v.anonymous && /^[0-9a-f]{64}$/.test(v.name)));
      await c.shutdown();
      await c.remove();
      const left = (await volumes.list()).map((v) => v.name);
      for (const v of mine) {
        assert.ok(!left.includes(v.name), `anonymous volume ${v.name} removed with the task`);
        assert.equal(existsSync(v.mountpoint), false);
      }
    } finally {
      await c.remove();
    }
  });

  it('secrets and configs: bytes, owner and mode on a read-only tmpfs bind, never on the data root\'s disk', async () => {
    const t = task('secrets', {
      command: [
        'sh',
        '-c',
        'echo "sum=$(sha256sum /run/secrets/db_pass | cut -d" " -f1)"; echo "sstat=$(stat -c \'%u %g %a\' /run/secrets/db_pass)"; echo "cfg=$(cat /etc/app.conf)"; echo "cstat=$(stat -c \'%u %g %a\' /etc/app.conf)"; echo x >> /etc/app.conf 2>/dev/null; echo "cwrite=$?"; grep -E " (/run/secrets/db_pass|/etc/app.conf) " /proc/mounts; echo ready; sleep 60',
      ],
      secrets: [{ secretId: 'sec1', secretName: 'db_pass', file: { name: 'db_pass', uid: '1000', gid: '1001', mode: 0o440 } }],
      configs: [{ configId: 'cfg1', configName: 'app_conf', file: { name: '/etc/app.conf', uid: '0', gid: '0', mode: 0o444 } }],
    });
    const c = await start(t);
    try {
      await untilLogHas('secrets', 'ready');
      const log = logOf('secrets');
      const vals = values(log);
      assert.equal(vals.get('sum'), sha256(SECRET), `the secret's bytes: ${log}`);
      assert.equal(vals.get('sstat'), '1000 1001 440', 'its owner and mode');
      assert.equal(vals.get('cfg'), CONFIG.trim());
      assert.equal(vals.get('cstat'), '0 0 444');
      assert.notEqual(vals.get('cwrite'), '0', 'a config cannot be written');
      assert.match(mountLine(log, '/run/secrets/db_pass') ?? '', /^tmpfs \/run\/secrets\/db_pass tmpfs ro,/, 'the secret is a read-only tmpfs file');
      assert.match(mountLine(log, '/etc/app.conf') ?? '', /^tmpfs \/etc\/app.conf tmpfs ro,/);
      assert.equal(log.includes(SECRET), false);
      const leaked = [...filesOnDisk(dataRoot), ...filesOnDisk(join(tmp, 'run'))].filter((f) => readFileSync(f).includes(SECRET));
      assert.deepEqual(leaked, [], 'the secret is on no disk file under the data root');
      assert.ok(mountsUnder(files.dir('secrets')).length === 1, 'the task\'s tmpfs is mounted on the host');
      await c.shutdown();
      await c.remove();
      assert.deepEqual(mountsUnder(files.dir('secrets')), [], 'and unmounted with the task');
      assert.equal(existsSync(files.dir('secrets')), false);
    } finally {
      await c.remove();
    }
    const missing = { secrets: [{ secretId: 'nope', secretName: 'api_key', file: { name: 'api_key', uid: '0', gid: '0', mode: 0o444 } }] };
    await assert.rejects(runTask('secret-missing', 'true', missing), { message: 'secret api_key not found on this node' });
    assert.deepEqual(files.taskIds(), [], 'a missing secret leaves no tmpfs');
  });

  it('templates in env, hostname and mount source and target', async () => {
    const m: Mount = { type: 'tmpfs', source: '', target: '/data-{{.Task.Slot}}', readOnly: false, bind: null, volume: null, tmpfs: { sizeBytes: null, mode: null } };
    const r = await runTask(
      'tmpl',
      'echo "svc=$SVC"; echo "tn=$TN"; echo "node=$NODE"; echo "arch=$ARCH"; echo "other=$OTHER"; echo "host=$(hostname)"; echo "t=$(grep -c " /data-3 " /proc/mounts)"; echo "v=$(cat /v/name 2>&1)"; echo "vol-3" > /v/name',
      {
        env: ['SVC={{.Service.Name}}', 'TN={{ .Task.Name }}', 'NODE={{.Node.Hostname}}/{{.Node.ID}}', 'ARCH={{.Node.Platform.OS}}-{{.Node.Platform.Architecture}}', 'OTHER={{.Unknown}}'],
        hostname: '{{.Service.Name}}-{{.Task.Slot}}',
        mounts: [m, volumeMount('vol-{{.Task.Slot}}', '/v')],
        // A read-only root: the mount targets are made before it is.
        runtime: { ...defaultRuntimeSettings(), readOnly: true },
      },
      3,
    );
    assert.equal(r.vals.get('svc'), 'web', r.log);
    assert.equal(r.vals.get('tn'), 'web.3.tmpl');
    assert.equal(r.vals.get('node'), 'node-a/node1id');
    assert.equal(r.vals.get('arch'), 'linux-amd64');
    assert.equal(r.vals.get('other'), '{{.Unknown}}', 'anything else is left as written');
    assert.equal(r.vals.get('host'), 'web-3');
    assert.equal(r.vals.get('t'), '1', 'the mount target was expanded');
    assert.equal((await volumes.inspect('vol-3')).name, 'vol-3', 'the volume source was expanded');
    assert.equal(readFileSync(join((await volumes.inspect('vol-3')).mountpoint, 'name'), 'utf8'), 'vol-3\n', 'and is writable under a read-only root');
  });

  it('a local volume with driver_opts type tmpfs is a tmpfs mount, unmounted when removed', async () => {
    const driver = { name: 'local', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' } };
    const r = await runTask('tmpvol', 'grep " /t " /proc/mounts; echo x > /t/f', { mounts: [volumeMount('tmpvol', '/t', { driver })] });
    assert.match(mountLine(r.log, '/t') ?? '', /^tmpfs \/t tmpfs .*size=2048k/, r.log);
    const v = await volumes.inspect('tmpvol');
    assert.deepEqual(v.options, driver.options);
    assert.deepEqual(mountsUnder(v.mountpoint), [v.mountpoint], 'mounted on the node while the volume exists');
    assert.equal(readFileSync(join(v.mountpoint, 'f'), 'utf8'), 'x\n');
    await volumes.remove('tmpvol', { force: false });
    assert.deepEqual(mountsUnder(v.mountpoint), [], 'unmounted when removed');
    assert.equal(existsSync(join(dataRoot, 'volumes', 'tmpvol')), false);
  });

  it('a volume driver other than local fails the task with one line', async () => {
    await assert.rejects(runTask('rexray', 'true', { mounts: [volumeMount('cloudvol', '/c', { driver: { name: 'rexray/dobs', options: {} } })] }), {
      message: 'volume driver rexray/dobs is not installed on node node-a',
    });
    assert.equal((await volumes.list()).some((v) => v.name === 'cloudvol'), false);
  });

  it('volume rm of a volume in use is refused, also as another store on the same root sees it (an agent restart)', async () => {
    const c = await start(task('busy', { command: ['sh', '-c', 'echo ready; sleep 60'], mounts: [volumeMount('busyvol', '/b')] }));
    try {
      await untilLogHas('busy', 'ready');
      await assert.rejects(volumes.remove('busyvol', { force: false }), (e: unknown) => e instanceof VolumeInUseError && /volume is in use - \[busy\]/.test(e.message));
      await assert.rejects(volumes.remove('busyvol', { force: true }), VolumeInUseError, 'force never removes a volume in use');
      const restarted = new VolumeStore({ root: join(dataRoot, 'volumes'), hostname: 'node-a', sys });
      assert.deepEqual((await restarted.inspect('busyvol')).inUse, ['busy']);
      assert.ok(!(await restarted.prune({ all: true })).includes('busyvol'), 'prune leaves it');
      await c.shutdown();
    } finally {
      await c.remove();
    }
    await volumes.remove('busyvol', { force: false });
    assert.equal((await volumes.list()).some((v) => v.name === 'busyvol'), false);
  });

  it('volume create, prune: only anonymous unused ones unless all', async () => {
    const v = await volumes.create('made-by-cli', 'local', {}, { team: 'a' });
    assert.deepEqual(v.labels, { team: 'a' });
    assert.ok(!(await volumes.prune({ all: false })).includes('made-by-cli'), 'a named volume needs all');
    assert.ok((await volumes.prune({ all: true })).includes('made-by-cli'));
    assert.equal(existsSync(v.mountpoint), false);
  });
});
