import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidMountError, TaskError } from '../../../../agent/executor/errors';
import { TaskFiles } from '../../../../agent/executor/task-files';
import { bindMount, imageVolumePaths, prepareTaskMounts, releaseTaskMounts, tasksWithMounts, tmpfsOf, type TaskStorage } from '../../../../agent/executor/task-mounts';
import type { PreparedImage } from '../../../../agent/image/types';
import { tmpfsMount } from '../../../../agent/runtime/oci/spec';
import { VolumeStore } from '../../../../agent/volumes/store';
import type { Mount } from '../../../../shared/types';
import { defaultRuntimeSettings } from '../../../../shared/types';
import { containerSpec } from '../../fixtures';
import { FakeVolumeSys } from '../volumes/fake-sys';

const bind = (source: string, target: string, over: Partial<Mount> = {}, createHostPath = false): Mount => ({
  type: 'bind',
  source,
  target,
  readOnly: false,
  bind: { propagation: 'rprivate', createHostPath },
  volume: null,
  tmpfs: null,
  ...over,
});
const volume = (source: string, target: string, noCopy = false): Mount => ({ type: 'volume', source, target, readOnly: false, bind: null, volume: { noCopy, labels: {}, driver: null }, tmpfs: null });
const tmpfs = (target: string, sizeBytes: number | null, mode: number | null, readOnly = false): Mount => ({ type: 'tmpfs', source: '', target, readOnly, bind: null, volume: null, tmpfs: { sizeBytes, mode } });

describe('bindMount', () => {
  const there = (p: string): boolean => p === '/srv/www';
  it('rbind, rprivate by default, ro when read-only, the given propagation', () => {
    assert.deepEqual(bindMount(bind('/srv/www', '/usr/share/nginx/html'), there), { destination: '/usr/share/nginx/html', type: 'bind', source: '/srv/www', options: ['rbind', 'rprivate'] });
    assert.deepEqual(bindMount(bind('/srv/www', '/w', { readOnly: true }), there).options, ['rbind', 'ro', 'rprivate']);
    assert.deepEqual(bindMount(bind('/srv/www', '/w', { bind: { propagation: 'rslave', createHostPath: false } }), there).options, ['rbind', 'rslave']);
  });
  it('a missing source fails with Docker\'s message', () => {
    assert.throws(() => bindMount(bind('/no/such', '/x'), there), (e: unknown) => e instanceof InvalidMountError && e.message === 'invalid mount config for type "bind": bind source path does not exist: /no/such');
  });
  it('create_host_path makes it', () => {
    const made: string[] = [];
    bindMount(bind('/no/such', '/x', {}, true), there, (p) => made.push(p));
    assert.deepEqual(made, ['/no/such']);
  });
  it('refuses relative paths and / as target', () => {
    assert.throws(() => bindMount(bind('rel/dir', '/x'), () => true), /mount path must be absolute/);
    assert.throws(() => bindMount(bind('/srv/www', 'x'), there), /invalid mount path: 'x' mount path must be absolute/);
    assert.throws(() => bindMount(bind('/srv/www', '//'), there), /destination can't be '\/'/);
  });
});

describe('tmpfsOf', () => {
  it('is the runtime\'s tmpfs builder: size, mode, ro', () => {
    assert.deepEqual(tmpfsOf(tmpfs('/cache', 1 << 20, 0o1770)), tmpfsMount({ target: '/cache', sizeBytes: 1 << 20, mode: 0o1770, options: [] }));
    assert.deepEqual(tmpfsOf(tmpfs('/cache', null, null, true)).options, ['nosuid', 'nodev', 'noexec', 'ro']);
  });
});

describe('imageVolumePaths', () => {
  it('every declared path, unless a mount, a tmpfs or a file is there already', () => {
    const c = containerSpec({ mounts: [volume('data', '/var/lib/data/')], runtime: { ...defaultRuntimeSettings(), tmpfs: [{ target: '/tmp/x', sizeBytes: null, mode: null, options: [] }] } });
    assert.deepEqual(imageVolumePaths(['/var/lib/data', '/tmp/x', '/logs/', '/logs', '/etc/conf', 'relative', '/'], c, ['/etc/conf']), ['/logs']);
  });
});

describe('prepareTaskMounts / releaseTaskMounts', () => {
  let tmp: string;
  let sys: FakeVolumeSys;
  let storage: TaskStorage;
  let image: PreparedImage;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tsswarm-taskmounts-'));
    sys = new FakeVolumeSys();
    const layer = join(tmp, 'layer');
    mkdirSync(join(layer, 'data'), { recursive: true });
    mkdirSync(join(layer, 'declared'), { recursive: true });
    writeFileSync(join(layer, 'data', 'seed'), 'image');
    writeFileSync(join(layer, 'declared', 'd'), 'declared');
    image = { ref: 'app:1', digest: `sha256:${'0'.repeat(64)}`, layers: [layer], config: { entrypoint: null, cmd: null, env: [], workingDir: null, user: null, volumes: ['/declared'] } };
    const secrets = new Map([['s1', Buffer.from('pw')]]);
    storage = {
      volumes: new VolumeStore({ root: join(tmp, 'volumes'), hostname: 'node-a', sys }),
      files: new TaskFiles(join(tmp, 'run'), sys),
      blobs: { secret: (id) => secrets.get(id) ?? null, config: () => null },
      sys,
    };
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('binds, volumes (filled unless nocopy), tmpfs, the image\'s volume, then the files; all released by task id', async () => {
    const src = join(tmp, 'src');
    mkdirSync(src);
    const c = containerSpec({ mounts: [bind(src, '/b'), volume('appdata', '/data'), volume('', '/scratch'), volume('bare', '/data2', true), tmpfs('/t', 4096, null)] });
    // As root on a real node the files get uid/gid 0; here the test's own ids keep chown legal.
    const me = { uid: String(process.getuid?.() ?? 0), gid: String(process.getgid?.() ?? 0) };
    const withSecret = { ...c, secrets: [{ secretId: 's1', secretName: 'pw', file: { name: 'pw', ...me, mode: 0o400 } }] };
    const mounts = await prepareTaskMounts('t1', withSecret, image, storage, new AbortController().signal);
    const vol = (name: string) => join(tmp, 'volumes', name, '_data');
    const vs = await storage.volumes.list();
    const anon = vs.filter((v) => v.anonymous).map((v) => v.mountpoint);
    assert.equal(anon.length, 2, 'one for the anonymous mount, one for the image\'s VOLUME');
    assert.deepEqual(
      mounts.map((m) => [m.destination, m.type, m.source, m.options.join(',')]),
      [
        ['/b', 'bind', src, 'rbind,rprivate'],
        ['/data', 'bind', vol('appdata'), 'rbind,rprivate'],
        ['/scratch', 'bind', anon.find((a) => mounts.some((m) => m.destination === '/scratch' && m.source === a)), 'rbind,rprivate'],
        ['/data2', 'bind', vol('bare'), 'rbind,rprivate'],
        ['/t', 'tmpfs', 'tmpfs', 'nosuid,nodev,noexec,size=4096'],
        ['/declared', 'bind', anon.find((a) => mounts.some((m) => m.destination === '/declared' && m.source === a)), 'rbind,rprivate'],
        ['/run/secrets/pw', 'bind', join(tmp, 'run', 't1', 'secret-0'), 'rbind,ro,rprivate,nosuid,nodev,noexec'],
      ],
    );
    assert.equal(readFileSync(join(vol('appdata'), 'seed'), 'utf8'), 'image', 'copy-up');
    assert.deepEqual(readdirSync(vol('bare')), [], 'nocopy');
    const declared = mounts.find((m) => m.destination === '/declared')?.source ?? '';
    assert.equal(readFileSync(join(declared, 'd'), 'utf8'), 'declared', 'the image\'s VOLUME is filled too');
    assert.equal(readFileSync(join(tmp, 'run', 't1', 'secret-0'), 'utf8'), 'pw');
    assert.ok(sys.isMounted(join(tmp, 'run', 't1')), 'on the task\'s tmpfs');
    assert.equal(sys.mounted.size, 1, 'the image view is unmounted again');
    assert.deepEqual(await tasksWithMounts(storage), ['t1']);
    assert.deepEqual((await storage.volumes.inspect('appdata')).inUse, ['t1']);

    await releaseTaskMounts('t1', storage);
    assert.deepEqual((await storage.volumes.list()).map((v) => [v.name, v.inUse.length]), [['appdata', 0], ['bare', 0]], 'named volumes stay, free; anonymous ones are gone');
    assert.equal(sys.mounted.size, 0);
    assert.equal(existsSync(join(tmp, 'run', 't1')), false);
    assert.deepEqual(await tasksWithMounts(storage), []);
  });

  it('a volume that is not empty is not filled again', async () => {
    const dir = (await storage.volumes.create('appdata', 'local', {}, {})).mountpoint;
    writeFileSync(join(dir, 'mine'), 'x');
    await prepareTaskMounts('t1', containerSpec({ mounts: [volume('appdata', '/data')] }), { ...image, config: { ...image.config, volumes: [] } }, storage, new AbortController().signal);
    assert.deepEqual(readdirSync(dir), ['mine']);
    assert.ok(!sys.calls.some((c) => c.startsWith('cp ')));
  });

  it('a missing secret fails before anything of the files is made; what volumes were made go with release', async () => {
    const c = containerSpec({ mounts: [volume('', '/a')], secrets: [{ secretId: 'nope', secretName: 'api_key', file: { name: 'api_key', uid: '0', gid: '0', mode: 0o444 } }] });
    await assert.rejects(prepareTaskMounts('t1', c, image, storage, new AbortController().signal), { message: 'secret api_key not found on this node' });
    assert.equal(existsSync(join(tmp, 'run', 't1')), false);
    await releaseTaskMounts('t1', storage);
    assert.deepEqual(await storage.volumes.list(), []);
  });

  it('without a volume store, a task with a volume fails; one with binds and tmpfs runs', async () => {
    const noImageVolumes = { ...image, config: { ...image.config, volumes: [] } };
    await assert.rejects(prepareTaskMounts('t1', containerSpec({ mounts: [volume('data', '/d')] }), noImageVolumes, null, new AbortController().signal), TaskError);
    const ms = await prepareTaskMounts('t1', containerSpec({ mounts: [tmpfs('/t', null, null)] }), noImageVolumes, null, new AbortController().signal);
    assert.equal(ms.length, 1);
    await releaseTaskMounts('t1', null);
  });
});
