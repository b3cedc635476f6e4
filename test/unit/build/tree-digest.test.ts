/** treeDigest (agent/image/build/tree-digest.ts) on temporary directories; no root needed. */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuildContextPathError, treeDigest } from '../../../agent/image/build/tree-digest';

let work = '';

/** A small build context under a fresh directory: src/{a.txt,b.txt,sub/c.txt}, a symlink, run.sh (0755). */
async function context(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'src', 'sub'), { recursive: true });
  await writeFile(join(dir, 'src', 'a.txt'), 'alpha\n');
  await writeFile(join(dir, 'src', 'b.txt'), 'beta\n');
  await writeFile(join(dir, 'src', 'sub', 'c.txt'), 'gamma\n');
  await symlink('a.txt', join(dir, 'src', 'link'));
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'run.sh'), 0o755);
  return dir;
}

describe('treeDigest (the content digest a COPY is cached by)', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsswarm-tree-digest-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('is the same for the same content with other mtimes', async () => {
    const a = await context('same-a');
    const b = await context('same-b');
    const old = new Date('2001-02-03T04:05:06Z');
    for (const p of ['src/a.txt', 'src/sub/c.txt', 'src', 'run.sh']) await utimes(join(b, p), old, old);
    const da = await treeDigest(a, ['src', 'run.sh']);
    assert.match(da, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await treeDigest(b, ['src', 'run.sh']), da);
    // Order and spelling of the paths do not matter; a path below a listed directory is already in.
    assert.equal(await treeDigest(b, ['./run.sh', 'src/', 'src/sub/c.txt']), da);
  });

  it('changes when one byte of a file changes', async () => {
    const dir = await context('byte');
    const before = await treeDigest(dir, ['src']);
    await writeFile(join(dir, 'src', 'sub', 'c.txt'), 'gammA\n');
    assert.notEqual(await treeDigest(dir, ['src']), before);
  });

  it('changes when a mode changes, setuid included', async () => {
    const dir = await context('mode');
    const before = await treeDigest(dir, ['run.sh']);
    await chmod(join(dir, 'run.sh'), 0o700);
    const owner = await treeDigest(dir, ['run.sh']);
    assert.notEqual(owner, before);
    await chmod(join(dir, 'run.sh'), 0o4700);
    assert.notEqual(await treeDigest(dir, ['run.sh']), owner);
  });

  it('changes with a symlink target, a renamed file, an added file', async () => {
    const dir = await context('shape');
    const before = await treeDigest(dir, ['src']);
    await rm(join(dir, 'src', 'link'));
    await symlink('b.txt', join(dir, 'src', 'link'));
    const relinked = await treeDigest(dir, ['src']);
    assert.notEqual(relinked, before);
    await writeFile(join(dir, 'src', 'sub', 'd.txt'), '');
    assert.notEqual(await treeDigest(dir, ['src']), relinked);
  });

  it('covers only the paths asked for', async () => {
    const dir = await context('only');
    const before = await treeDigest(dir, ['src/a.txt']);
    await writeFile(join(dir, 'src', 'b.txt'), 'changed\n');
    assert.equal(await treeDigest(dir, ['src/a.txt']), before);
  });

  it('refuses a missing path and one outside the context', async () => {
    const dir = await context('missing');
    await assert.rejects(treeDigest(dir, ['nope.txt']), (e: unknown) => e instanceof BuildContextPathError && e.message === 'nope.txt: not found in the build context');
    await assert.rejects(treeDigest(dir, ['../etc/passwd']), BuildContextPathError);
  });
});
