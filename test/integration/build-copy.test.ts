/**
 * COPY and ADD's file work (agent/image/build/copy-into.ts) as root, on plain directories standing
 * in for the executor's overlay mount: owners (context files become 0:0, `--chown` by name from
 * the rootfs's own passwd and group, by uid:gid, an unknown name refused, `COPY --from` keeping
 * owners), ADD of a tarball whose files belong to 1000:1000, and a rootfs whose symlinks point at
 * the host (`etc -> /etc`) that must never make a COPY write to the host.
 *
 * Needs root (chown). Everything is under one temporary directory, removed in `after` whether the
 * assertions passed or not.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { readContext } from '../../agent/image/build/build-context';
import { copyInto, type CopyOptions } from '../../agent/image/build/copy-into';
import { resolveSources } from '../../agent/image/build/copy-sources';
import { contextTree, rootfsTree } from '../../agent/image/build/source-tree';
import { InvalidArgumentError } from '../../shared/errors';
import { requireRoot } from './harness/root';

const HOST_FILE = '/etc/passwd-test';
/** Host paths a broken COPY would create; checked absent first, and only then removed in `after`. */
const HOST_PATHS = [HOST_FILE, '/etc/passwd-test2', '/etc/unpacked', '/etc/opt/app', '/etc/dir'];
let hostChecked = false;

let work = '';
let ctx = '';
let rootfs = '';
let n = 0;

const owner = async (p: string): Promise<string> => {
  const st = await lstat(join(rootfs, p));
  return `${st.uid}:${st.gid}`;
};

async function copy(sources: string[], dest: string, o: Partial<CopyOptions> = {}): Promise<void> {
  const tree = contextTree(await readContext(ctx, null));
  const resolved = await resolveSources(tree, sources, { add: o.unpack === true });
  await copyInto(rootfs, resolved, dest, { workdir: '/', chown: null, chmod: null, tempDir: work, ...o });
}

/** A fresh rootfs with an /etc/passwd and /etc/group of its own (not the host's). */
async function freshRootfs(): Promise<string> {
  const dir = join(work, `rootfs-${++n}`);
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nsvc:x:2000:2000::/:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\napp:x:1001:\nstaff:x:50:app\n');
  return dir;
}

describe('COPY and ADD as root', () => {
  before(async () => {
    requireRoot();
    for (const p of HOST_PATHS) assert.equal(existsSync(p), false, `${p} exists on this host before the test: remove it first`);
    hostChecked = true;
    work = await mkdtemp(join(tmpdir(), 'tsswarm-build-copy-'));
    ctx = join(work, 'ctx');
    await mkdir(join(ctx, 'dir', 'sub'), { recursive: true });
    await writeFile(join(ctx, 'x'), 'x\n');
    await writeFile(join(ctx, 'dir', 'a'), 'a\n');
    await writeFile(join(ctx, 'dir', 'sub', 'b'), 'b\n');
    await writeFile(join(ctx, 'suid'), '#!/bin/sh\n');
    await chmod(join(ctx, 'suid'), 0o4755);
    // Context files owned by someone: they still land as 0:0.
    for (const p of ['x', 'dir', 'dir/a', 'dir/sub', 'dir/sub/b']) await chown(join(ctx, p), 1234, 1234);
    await symlink('a', join(ctx, 'dir', 'link'));
    await chown(join(ctx, 'dir', 'link'), 1234, 1234).catch(() => undefined);
    // A tarball of files owned by 1000:1000.
    const t = join(work, 'tar-src');
    await mkdir(join(t, 'opt', 'app'), { recursive: true });
    await writeFile(join(t, 'opt', 'app', 'run'), 'run\n');
    await chmod(join(t, 'opt', 'app', 'run'), 0o750);
    execFileSync('tar', ['--create', '--gzip', '--file', join(ctx, 'app.tgz'), '--directory', t, '--owner=1000', '--group=1000', '--numeric-owner', 'opt']);
  });
  beforeEach(async () => {
    rootfs = await freshRootfs();
  });
  after(async () => {
    if (work !== '') await rm(work, { recursive: true, force: true });
    // Only what a failing COPY may have put there, never a host file that was there before.
    if (hostChecked) for (const p of HOST_PATHS) await rm(p, { recursive: true, force: true });
  });

  it('makes context files 0:0 without --chown, whatever owned them', async () => {
    await copy(['x', 'dir'], '/app/');
    for (const p of ['app', 'app/x', 'app/a', 'app/sub', 'app/sub/b', 'app/link']) assert.equal(await owner(p), '0:0', p);
  });

  it('--chown by name reads the rootfs passwd (primary group) and group', async () => {
    await copy(['x', 'dir'], '/home/app/code/', { chown: 'app' });
    for (const p of ['home/app/code/x', 'home/app/code/a', 'home/app/code/sub/b', 'home/app/code/link']) assert.equal(await owner(p), '1000:1001', p);
    // Directories created on the way belong to the --chown user, as in Docker.
    assert.equal(await owner('home'), '1000:1001');
    await copy(['x'], '/srv/x', { chown: 'app:staff' });
    assert.equal(await owner('srv/x'), '1000:50');
    await copy(['x'], '/srv/y', { chown: 'svc:1001' });
    assert.equal(await owner('srv/y'), '2000:1001');
    // Existing directories keep their owner.
    assert.equal(await owner('etc'), '0:0');
  });

  it('--chown by uid:gid needs no lookup, and keeps a setuid bit', async () => {
    await copy(['suid', 'x'], '/bin/', { chown: '4321:8765' });
    assert.equal(await owner('bin/x'), '4321:8765');
    assert.equal(await owner('bin/suid'), '4321:8765');
    assert.equal((await lstat(join(rootfs, 'bin', 'suid'))).mode & 0o7777, 0o4755);
    await copy(['x'], '/uid-only', { chown: '77' });
    assert.equal(await owner('uid-only'), '77:77');
  });

  it('refuses a user the rootfs does not have', async () => {
    await assert.rejects(copy(['x'], '/x', { chown: 'nosuch' }), (e: unknown) => e instanceof InvalidArgumentError && e.message === 'unable to find user nosuch: no matching entries in passwd file');
    await assert.rejects(copy(['x'], '/x', { chown: 'app:nogroup' }), /unable to find group nogroup: no matching entries in group file/);
    assert.equal(existsSync(join(rootfs, 'x')), false);
  });

  it('COPY --from keeps the stage owners, unless --chown', async () => {
    const stage = await freshRootfs();
    await mkdir(join(stage, 'out'));
    await writeFile(join(stage, 'out', 'bin'), 'bin\n');
    await chown(join(stage, 'out', 'bin'), 500, 600);
    const tree = rootfsTree(stage, 'stage build');
    await copyInto(rootfs, await resolveSources(tree, ['/out/bin']), '/kept', { workdir: '/', chown: null, chmod: null });
    assert.equal(await owner('kept'), '500:600');
    await copyInto(rootfs, await resolveSources(tree, ['/out/bin']), '/chowned', { workdir: '/', chown: 'app', chmod: null });
    assert.equal(await owner('chowned'), '1000:1001');
  });

  it('ADD of a tarball keeps the owners and modes from the archive; --chown overrides the owners', async () => {
    await copy(['app.tgz'], '/', { unpack: true });
    assert.equal(await owner('opt/app/run'), '1000:1000');
    assert.equal(await owner('opt/app'), '1000:1000');
    assert.equal((await lstat(join(rootfs, 'opt', 'app', 'run'))).mode & 0o7777, 0o750);
    await copy(['app.tgz'], '/other', { unpack: true, chown: 'svc' });
    assert.equal(await owner('other/opt/app/run'), '2000:2000');
    assert.deepEqual((await readdir(work)).filter((e) => e.startsWith('tsswarm-add-')), [], 'the unpack directories are gone');
  });

  it('never writes to the host through a rootfs symlink that points at it', async () => {
    // `etc -> /etc` inside the root is a link to itself: resolved as chroot would, it is a loop.
    await rm(join(rootfs, 'etc'), { recursive: true });
    await symlink('/etc', join(rootfs, 'etc'));
    await assert.rejects(copy(['x'], HOST_FILE), /too many levels of symbolic links/);
    await assert.rejects(copy(['app.tgz'], '/etc/unpacked', { unpack: true }), /too many levels of symbolic links/);
    assert.equal(existsSync(HOST_FILE), false, 'COPY wrote to the host');
    assert.equal(existsSync('/etc/unpacked/opt'), false, 'ADD wrote to the host');

    // Links to the host's /etc from elsewhere land in the image's own /etc.
    await rm(join(rootfs, 'etc'));
    await mkdir(join(rootfs, 'etc'));
    await symlink('/etc', join(rootfs, 'conf'));
    await symlink('../../../../../../../../etc', join(rootfs, 'up'));
    await copy(['x'], '/conf/passwd-test');
    await copy(['x'], '/up/passwd-test2');
    await copy(['dir'], '/conf/dir/');
    await copy(['app.tgz'], '/up/', { unpack: true });
    assert.equal(await readFile(join(rootfs, 'etc', 'passwd-test'), 'utf8'), 'x\n');
    assert.equal(await readFile(join(rootfs, 'etc', 'passwd-test2'), 'utf8'), 'x\n');
    assert.equal(await readFile(join(rootfs, 'etc', 'dir', 'sub', 'b'), 'utf8'), 'b\n');
    assert.ok(existsSync(join(rootfs, 'etc', 'opt', 'app', 'run')));
    assert.equal(existsSync(HOST_FILE), false, 'COPY wrote to the host');
    assert.equal(existsSync('/etc/passwd-test2'), false, 'COPY wrote to the host');
    assert.equal(existsSync('/etc/opt/app/run'), false, 'ADD wrote to the host');

    // --chown reads the image's own passwd, even through a link climbing out of the root.
    await symlink('/../../../etc/passwd.real', join(rootfs, 'etc', 'passwd'));
    await writeFile(join(rootfs, 'etc', 'passwd.real'), 'img:x:3000:3000::/:/bin/sh\n');
    await copy(['x'], '/img-owned', { chown: 'img' });
    assert.equal(await owner('img-owned'), '3000:3000');
  });
});
