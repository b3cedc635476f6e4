/**
 * resolveInRoot and followInTree (agent/image/build/rootfs-path.ts) against hostile trees: absolute
 * symlinks, `..` far above the root, loops, links as the last component, links through links. The
 * one property every case checks: the answer is the root or below it. No root needed.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_SYMLINKS, SymlinkLoopError, followInTree, resolveInRoot } from '../../../agent/image/build/rootfs-path';
import type { EntryType } from '../../../agent/image/build/entry-type';

let work = '';
let root = '';

function inside(p: string): void {
  assert.ok(p === root || p.startsWith(`${root}/`), `${p} escapes ${root}`);
}

async function check(path: string, want: string): Promise<void> {
  const got = await resolveInRoot(root, path);
  inside(got);
  assert.equal(got, want === '' ? root : join(root, want), `resolving ${path}`);
}

describe('resolveInRoot', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsswarm-rootfs-path-'));
    root = join(work, 'root');
    await mkdir(join(root, 'usr', 'lib'), { recursive: true });
    await mkdir(join(root, 'real', 'etc'), { recursive: true });
    await writeFile(join(root, 'real', 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    await symlink('/real/etc', join(root, 'etc')); // absolute, inside the image
    await symlink('/etc', join(root, 'hostetc')); // would be the host's /etc if followed from /
    await symlink('../../../../../../..', join(root, 'up')); // far above the root
    await symlink('/../../usr/./lib/', join(root, 'abs-up'));
    await symlink('loop-b', join(root, 'loop-a'));
    await symlink('loop-a', join(root, 'loop-b'));
    await symlink('self', join(root, 'self'));
    await symlink('/real/etc/passwd', join(root, 'pw')); // a file link as the last component
    await symlink('/nowhere/new-file', join(root, 'dangling'));
    await symlink('etc', join(root, 'rel-etc')); // a link to a link
    await symlink('usr/lib/..', join(root, 'usr-via-dotdot'));
    // A chain of exactly MAX_SYMLINKS links works; one more does not.
    await mkdir(join(root, 'chain'));
    for (let i = 1; i <= MAX_SYMLINKS + 1; i++) await symlink(i === 1 ? '/usr' : `l${i - 1}`, join(root, 'chain', `l${i}`));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('resolves plain paths, relative or absolute, and cleans them', async () => {
    await check('/', '');
    await check('', '');
    await check('usr/lib', 'usr/lib');
    await check('/usr//./lib/', 'usr/lib');
    await check('/usr/lib/../../usr', 'usr');
  });

  it('never goes above the root with `..`', async () => {
    await check('/../../../etc/passwd', 'real/etc/passwd');
    await check('../x', 'x');
    await check('/usr/../../../../', '');
  });

  it('restarts an absolute symlink target from the root, never the host', async () => {
    await check('/etc/passwd', 'real/etc/passwd');
    await check('/etc/passwd-test', 'real/etc/passwd-test');
    // `hostetc -> /etc` is `/etc` of the image, itself a link to /real/etc.
    await check('/hostetc/shadow', 'real/etc/shadow');
    await check('/abs-up', 'usr/lib');
  });

  it('clamps relative targets that climb above the root', async () => {
    await check('/up', '');
    await check('/up/etc/passwd', 'real/etc/passwd');
    await check('/usr/lib/../../up/usr', 'usr');
  });

  it('follows a symlink that is the last component (a file link, and a dangling one)', async () => {
    await check('/pw', 'real/etc/passwd');
    await check('/dangling', 'nowhere/new-file');
    await check('/rel-etc/group', 'real/etc/group');
    await check('/usr-via-dotdot', 'usr');
  });

  it('keeps components that do not exist yet, and `..` after them', async () => {
    await check('/new/dir/file', 'new/dir/file');
    await check('/new/../usr', 'usr');
    await check('/real/etc/passwd/below', 'real/etc/passwd/below');
  });

  it('gives up on loops after 40 links', async () => {
    for (const p of ['/loop-a', '/self/x', '/loop-b/../etc']) {
      await assert.rejects(resolveInRoot(root, p), (e: unknown) => e instanceof SymlinkLoopError && /too many levels of symbolic links/.test(e.message));
    }
    await check(`/chain/l${MAX_SYMLINKS}`, 'usr');
    await assert.rejects(resolveInRoot(root, `/chain/l${MAX_SYMLINKS + 1}`), SymlinkLoopError);
  });
});

describe('followInTree (any tree that answers lstat and readlink)', () => {
  const tree = (links: Record<string, string>, dirs: string[]) => ({
    lstat: async (rel: string): Promise<EntryType | null> => (rel in links ? 'symlink' : dirs.includes(rel) ? 'dir' : null),
    readlink: async (rel: string) => links[rel] as string,
  });

  it('answers relative paths, `.` for the root', async () => {
    const t = tree({ a: '/b/c', 'b/c/d': '../../..' }, ['b', 'b/c']);
    assert.equal(await followInTree(t, '/'), '.');
    assert.equal(await followInTree(t, 'a'), 'b/c');
    assert.equal(await followInTree(t, 'a/d/x'), 'x');
    // Physical `..`: the parent of where `a` leads (b), not of `a`.
    assert.equal(await followInTree(t, 'a/../a/e'), 'b/a/e');
  });
});
