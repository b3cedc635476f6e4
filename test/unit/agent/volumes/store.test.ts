import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidVolumeError, VolumeConflictError, VolumeDriverNotFoundError, VolumeInUseError, VolumeMountError, VolumeNotFoundError } from '../../../../agent/volumes/errors';
import { VolumeStore, type VolumeRequest } from '../../../../agent/volumes/store';
import { FakeVolumeSys } from './fake-sys';

const NOW = new Date('2024-01-01T00:00:00.000Z');
const named = (name: string, over: Partial<VolumeRequest> = {}): VolumeRequest => ({ name, driver: null, labels: {}, populate: null, ...over });

describe('VolumeStore', () => {
  let root: string;
  let sys: FakeVolumeSys;
  let store: VolumeStore;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsswarm-volstore-'));
    sys = new FakeVolumeSys();
    store = new VolumeStore({ root, hostname: 'node-a', sys, now: () => NOW });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('create: a directory and its record; list and inspect show it, unused', async () => {
    const v = await store.create('data', 'local', {}, { team: 'a' });
    assert.deepEqual(v, { name: 'data', driver: 'local', options: {}, labels: { team: 'a' }, mountpoint: join(root, 'data', '_data'), createdAt: NOW.toISOString(), anonymous: false, inUse: [] });
    assert.deepEqual(await store.list(), [v]);
    assert.deepEqual(await store.inspect('data'), v);
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'data', 'volume.json'), 'utf8')).labels, { team: 'a' });
    assert.deepEqual(sys.calls, [], 'no options: nothing to mount');
  });

  it('create of an existing volume returns it as it was; another driver is a conflict', async () => {
    await store.create('data', 'local', {}, { first: '1' });
    assert.deepEqual((await store.create('data', 'local', {}, { second: '2' })).labels, { first: '1' });
    await assert.rejects(store.create('data', 'other', {}, {}), VolumeConflictError);
  });

  it('refuses bad names, drivers it does not have and options the local driver does not take', async () => {
    await assert.rejects(store.create('a', 'local', {}, {}), InvalidVolumeError);
    await assert.rejects(store.create('../x', 'local', {}, {}), InvalidVolumeError);
    await assert.rejects(store.create('cloud', 'rexray/dobs', {}, {}), (e: unknown) => e instanceof VolumeDriverNotFoundError && e.message === 'volume driver rexray/dobs is not installed on node node-a');
    await assert.rejects(store.create('opts', 'local', { size: '1g' }, {}), { message: 'invalid option key: "size"' });
    assert.deepEqual(await store.list(), [], 'nothing is left of a refused volume');
  });

  it('options that name a filesystem mount it at _data when made, and unmount it when removed', async () => {
    const v = await store.create('fast', 'local', { type: 'tmpfs', device: 'tmpfs', o: 'size=64m' }, {});
    assert.deepEqual(sys.calls, [`mount -t tmpfs -o size=64m tmpfs ${v.mountpoint}`]);
    assert.ok(sys.isMounted(v.mountpoint));
    await store.remove('fast', { force: false });
    assert.ok(!sys.isMounted(v.mountpoint));
    assert.equal(existsSync(join(root, 'fast')), false);
  });

  it('a filesystem that cannot be mounted leaves no volume', async () => {
    sys.failing.add('nfs');
    await assert.rejects(store.create('remote', 'local', { type: 'nfs', device: ':/x', o: 'addr=10.0.0.9' }, {}), VolumeMountError);
    assert.deepEqual(await store.list(), []);
    assert.equal(existsSync(join(root, 'remote')), false);
  });

  it('a volume whose filesystem stays mounted is not removed: rm would go into it', async () => {
    const v = await store.create('bound', 'local', { type: 'none', o: 'bind', device: '/srv/precious' }, {});
    writeFileSync(join(v.mountpoint, 'keep'), 'x');
    sys.stuck.add(v.mountpoint);
    await assert.rejects(store.remove('bound', { force: true }), VolumeMountError);
    assert.equal(readFileSync(join(v.mountpoint, 'keep'), 'utf8'), 'x');
  });

  it('a task\'s volume: made on first use, mounted again after a reboot, recorded in use', async () => {
    const driver = { name: 'local', options: { type: 'tmpfs', device: 'tmpfs' } };
    const dir = await store.mountForTask('t1', named('cache', { driver }));
    assert.equal(dir, join(root, 'cache', '_data'));
    assert.deepEqual((await store.inspect('cache')).inUse, ['t1']);
    sys.mounted.clear(); // the node rebooted
    await store.mountForTask('t2', named('cache', { driver }));
    assert.ok(sys.isMounted(dir), 'mounted again on use');
    assert.deepEqual((await store.inspect('cache')).inUse, ['t1', 't2']);
  });

  it('a task\'s driver is checked only when the volume is made', async () => {
    await assert.rejects(store.mountForTask('t1', named('cloud', { driver: { name: 'rexray/dobs', options: {} } })), VolumeDriverNotFoundError);
    assert.deepEqual(await store.taskIds(), [], 'a refused volume is not recorded');
  });

  it('rm: refused while in use (force too), even as a new store on the same root sees it; free after release', async () => {
    await store.mountForTask('t1', named('data'));
    await assert.rejects(store.remove('data', { force: false }), (e: unknown) => e instanceof VolumeInUseError && e.message === 'remove data: volume is in use - [t1]');
    await assert.rejects(store.remove('data', { force: true }), VolumeInUseError);
    const restarted = new VolumeStore({ root, hostname: 'node-a', sys });
    await assert.rejects(restarted.remove('data', { force: false }), VolumeInUseError);
    assert.deepEqual(await restarted.taskIds(), ['t1']);
    await restarted.releaseTask('t1');
    await store.remove('data', { force: false });
    await assert.rejects(store.remove('data', { force: false }), VolumeNotFoundError);
    await store.remove('data', { force: true });
    await assert.rejects(store.inspect('data'), VolumeNotFoundError);
  });

  it('anonymous volumes are made per task and removed with it; named ones stay', async () => {
    const anon = await store.mountForTask('t1', named('x', { name: null }));
    await store.mountForTask('t1', named('data'));
    const vs = await store.list();
    const a = vs.find((v) => v.mountpoint === anon);
    assert.ok(a && a.anonymous && /^[0-9a-f]{64}$/.test(a.name));
    await store.releaseTask('t1');
    assert.deepEqual((await store.list()).map((v) => [v.name, v.inUse]), [['data', []]]);
    await store.releaseTask('t1'); // idempotent
  });

  it('prune: unused anonymous ones; with all, unused named ones too; never one in use', async () => {
    await store.create('unused', 'local', {}, {});
    await store.mountForTask('t1', named('used'));
    const anonInUse = await store.mountForTask('t1', named('x', { name: null }));
    await store.mountForTask('t2', named('x', { name: null }));
    // t2 went away without releasing its claim cleanly: its anonymous volume is unused once its record is gone.
    rmSync(join(root, '.tasks', 't2.json'));
    assert.equal((await store.prune({ all: false })).length, 1);
    assert.deepEqual((await store.list()).map((v) => v.name).sort(), ['unused', 'used', anonInUse.split('/').at(-2)].sort());
    assert.deepEqual(await store.prune({ all: true }), ['unused']);
    assert.deepEqual((await store.list()).map((v) => v.name).sort(), ['used', anonInUse.split('/').at(-2)].sort());
  });

  it('populate: once, for an empty volume, even when two tasks start at once', async () => {
    let fills = 0;
    const populate = async (dir: string): Promise<void> => {
      fills++;
      await new Promise((r) => setTimeout(r, 10));
      writeFileSync(join(dir, 'seed'), 'x');
    };
    await Promise.all([store.mountForTask('t1', named('shared', { populate })), store.mountForTask('t2', named('shared', { populate }))]);
    assert.equal(fills, 1);
    assert.deepEqual(readdirSync(join(root, 'shared', '_data')), ['seed']);
  });

  it('a fill that fails: a named volume stays, unclaimed; an anonymous one stays claimed and goes with its task', async () => {
    const populate = async (): Promise<void> => {
      // Claimed while it is filled: an rm queued behind the fill will find it in use.
      assert.deepEqual((await store.inspect('data')).inUse, ['t1']);
      throw new Error('copy failed');
    };
    await assert.rejects(store.mountForTask('t1', named('data', { populate })), /copy failed/);
    assert.deepEqual((await store.list()).map((v) => [v.name, v.inUse]), [['data', []]]);
    assert.deepEqual(await store.taskIds(), []);
    await store.mountForTask('t2', named('data'));
    await assert.rejects(store.mountForTask('t2', named('data', { populate: async () => Promise.reject(new Error('again')) })), /again/);
    assert.deepEqual((await store.inspect('data')).inUse, ['t2'], 'a claim the task had already stays');
    await assert.rejects(store.mountForTask('t3', named('x', { name: null, populate: async () => Promise.reject(new Error('anon')) })), /anon/);
    assert.equal((await store.list()).filter((v) => v.anonymous && v.inUse[0] === 't3').length, 1);
    await store.releaseTask('t3');
    assert.deepEqual((await store.list()).map((v) => v.name), ['data']);
  });

  it('unmountAll: every filesystem unmounted, data and records kept, mounted again on use', async () => {
    const driver = { name: 'local', options: { type: 'tmpfs', device: 'tmpfs' } };
    const dir = await store.mountForTask('t1', named('fast', { driver }));
    await store.create('plain', 'local', {}, {});
    await store.unmountAll();
    assert.equal(sys.mounted.size, 0);
    assert.deepEqual((await store.list()).map((v) => v.name), ['fast', 'plain']);
    await store.mountForTask('t2', named('fast', { driver }));
    assert.ok(sys.isMounted(dir));
  });

  it('a directory left without its record reads as a plain local volume', async () => {
    await store.create('orphan', 'local', {}, {});
    rmSync(join(root, 'orphan', 'volume.json'));
    const v = await store.inspect('orphan');
    assert.equal(v.driver, 'local');
    assert.deepEqual(v.options, {});
  });
});
