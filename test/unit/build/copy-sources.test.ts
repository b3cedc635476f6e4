/**
 * resolveSources (agent/image/build/copy-sources.ts) against a build context and against a plain
 * rootfs: wildcards (Go's filepath.Match per segment), missing files and the two errors for them,
 * paths outside the root, a leading `/`, symlinked sources followed inside the tree, URLs refused.
 * No root needed.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../../agent/image/build/build-context';
import { resolveSources, type ResolvedSource, URL_REFUSED } from '../../../agent/image/build/copy-sources';
import { compileSegment, containsWildcards } from '../../../agent/image/build/go-path-match';
import { contextTree, rootfsTree, type SourceTree } from '../../../agent/image/build/source-tree';
import { InvalidArgumentError } from '../../../shared/errors';

let work = '';
let ctx: SourceTree;
let stage: SourceTree;

async function tree(dir: string, files: string[]): Promise<void> {
  for (const r of files) {
    await mkdir(join(dir, r, '..'), { recursive: true });
    await writeFile(join(dir, r), `${r}\n`);
  }
}

const brief = (s: readonly ResolvedSource[]) => s.map((r) => `${r.path}=${r.resolved}:${r.type}${r.fromPattern ? '*' : ''}`);

function fails(message: RegExp | string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof InvalidArgumentError, `not an InvalidArgumentError: ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  };
}

describe('Go filepath.Match, one segment', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.js', 'app.js', true],
    ['*.js', '.hidden.js', true],
    ['*.js', 'app.ts', false],
    ['?.txt', 'a.txt', true],
    ['?.txt', 'é.txt', true],
    ['?.txt', 'ab.txt', false],
    ['[a-c]*', 'bat', true],
    ['[a-c]*', 'dog', false],
    ['[^a-c]*', 'dog', true],
    ['[^a-c]*', 'cat', false],
    ['arr[[]0].txt', 'arr[0].txt', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['a+b(c)', 'a+b(c)', true],
    ['[z-a]x', 'ax', false],
    ['*', '', true],
  ];
  for (const [pattern, name, want] of cases) {
    it(`${pattern} ${want ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => {
      assert.equal(compileSegment(pattern)?.(name), want);
    });
  }
  it('tells patterns from paths, and malformed patterns', () => {
    assert.equal(containsWildcards('src/app.js'), false);
    assert.equal(containsWildcards('src/*.js'), true);
    assert.equal(containsWildcards('a\\*b'), false);
    assert.equal(compileSegment('[a'), null);
    assert.equal(compileSegment('a\\'), null);
  });
});

describe('resolveSources', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsswarm-copy-sources-'));
    const dir = join(work, 'ctx');
    await tree(dir, ['app.js', 'lib.js', 'README.md', 'secret.env', 'src/a.ts', 'src/b.ts', 'src/sub/c.ts', 'pkg/x/index.js', 'pkg/y/index.js', 'pkg/z/other.js', 'arr[0].txt']);
    await writeFile(join(work, 'outside.txt'), 'outside\n');
    await symlink('src/a.ts', join(dir, 'link-a'));
    await symlink('../outside.txt', join(dir, 'link-out')); // clamped to the context root: /outside.txt is not there
    await symlink('/src', join(dir, 'link-src'));
    await symlink('src/sub', join(dir, 'pkg', 'w')); // a directory symlink between wildcard segments is not walked into
    await symlink('secret.env', join(dir, 'link-ignored'));
    ctx = contextTree(await readContext(dir, 'secret.env\n'));

    const rootfs = join(work, 'rootfs');
    await tree(rootfs, ['usr/bin/python3.11', 'etc/os-release', 'app/out/main', 'app/out/lib.so']);
    await symlink('python3.11', join(rootfs, 'usr', 'bin', 'python3'));
    await symlink('usr/bin', join(rootfs, 'bin'));
    await symlink('/etc', join(rootfs, 'app', 'etc')); // absolute: the stage's /etc, not the host's
    stage = rootfsTree(rootfs, 'stage builder');
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('resolves plain paths from the root; a leading / and ./ mean the root too', async () => {
    assert.deepEqual(brief(await resolveSources(ctx, ['app.js', '/lib.js', './src/', 'src/sub/../a.ts', '.'])), [
      'app.js=app.js:file',
      'lib.js=lib.js:file',
      'src=src:dir',
      'src/a.ts=src/a.ts:file',
      '.=.:dir',
    ]);
  });

  it('expands wildcards against the context, in path order, per segment', async () => {
    assert.deepEqual(brief(await resolveSources(ctx, ['*.js'])), ['app.js=app.js:file*', 'lib.js=lib.js:file*']);
    assert.deepEqual(brief(await resolveSources(ctx, ['src/*.ts'])), ['src/a.ts=src/a.ts:file*', 'src/b.ts=src/b.ts:file*']);
    assert.deepEqual(brief(await resolveSources(ctx, ['pkg/*/index.js'])), ['pkg/x/index.js=pkg/x/index.js:file*', 'pkg/y/index.js=pkg/y/index.js:file*']);
    assert.deepEqual(brief(await resolveSources(ctx, ['s?c'])), ['src=src:dir*']);
    assert.deepEqual(brief(await resolveSources(ctx, ['arr[[]0].txt'])), ['arr[0].txt=arr[0].txt:file*']);
    // A pattern's prefix is followed like any path.
    assert.deepEqual(brief(await resolveSources(ctx, ['link-src/*.ts'])), ['src/a.ts=src/a.ts:file*', 'src/b.ts=src/b.ts:file*']);
    // pkg/w is a symlink to a directory: not walked into between segments.
    assert.deepEqual(brief(await resolveSources(ctx, ['pkg/*/c.ts', 'app.js'])), ['app.js=app.js:file']);
  });

  it('follows a source that is a symlink inside the tree, keeping its name', async () => {
    const [a] = await resolveSources(ctx, ['link-a']);
    assert.equal(a?.name, 'link-a');
    assert.equal(a?.resolved, 'src/a.ts');
    assert.equal(a?.type, 'file');
  });

  it('says no source files were specified when every source is a pattern that matched nothing', async () => {
    await assert.rejects(resolveSources(ctx, ['*.nothing', 'nope/*']), fails('no source files were specified'));
    // One pattern matching nothing next to one that matches is fine, and so is a heredoc.
    assert.equal((await resolveSources(ctx, ['*.nothing', 'app.js'])).length, 1);
    assert.deepEqual(await resolveSources(ctx, ['*.nothing'], { inline: 1 }), []);
    assert.deepEqual(await resolveSources(ctx, []), []);
  });

  it('says file not found for a missing path, an ignored one, or a link that leads out', async () => {
    await assert.rejects(resolveSources(ctx, ['app.js', 'missing.js']), fails('file not found in build context or excluded by .dockerignore: stat missing.js: file does not exist'));
    await assert.rejects(resolveSources(ctx, ['/src/missing.ts']), fails('file not found in build context or excluded by .dockerignore: stat src/missing.ts: file does not exist'));
    await assert.rejects(resolveSources(ctx, ['secret.env']), fails(/stat secret\.env: file does not exist/));
    await assert.rejects(resolveSources(ctx, ['link-ignored']), fails(/stat link-ignored: file does not exist/));
    await assert.rejects(resolveSources(ctx, ['link-out']), fails(/stat link-out: file does not exist/));
    await assert.rejects(resolveSources(ctx, ['*.nothing', 'missing']), fails(/stat missing: file does not exist/));
  });

  it('refuses paths outside the context', async () => {
    await assert.rejects(resolveSources(ctx, ['../x']), fails('forbidden path outside the build context: ../x'));
    await assert.rejects(resolveSources(ctx, ['src/../../outside.txt']), fails('forbidden path outside the build context: src/../../outside.txt'));
    await assert.rejects(resolveSources(ctx, ['/../x']), fails(/forbidden path outside the build context/));
  });

  it('refuses URLs and git repositories', async () => {
    for (const src of ['https://example.com/a.tgz', 'http://example.com/x', 'https://github.com/a/b.git', 'git@github.com:a/b.git', 'git://host/repo']) {
      await assert.rejects(resolveSources(ctx, [src], { add: true }), fails(URL_REFUSED));
    }
    await assert.rejects(resolveSources(ctx, ['https://example.com/a.tgz']), fails("source can't be a URL for COPY"));
    await assert.rejects(resolveSources(ctx, ['git@github.com:a/b.git']), fails("source can't be a git ref for COPY"));
  });

  it('rejects a malformed pattern by name', async () => {
    await assert.rejects(resolveSources(ctx, ['src/[a']), fails('src/[a: syntax error in pattern'));
  });

  it('resolves against another stage rootfs the same way, its symlinks inside it', async () => {
    assert.deepEqual(brief(await resolveSources(stage, ['/usr/bin/python3', '/bin/python3.11', '/app/out/*', '/app/etc/os-release'])), [
      'usr/bin/python3=usr/bin/python3.11:file',
      'bin/python3.11=usr/bin/python3.11:file',
      'app/out/lib.so=app/out/lib.so:file*',
      'app/out/main=app/out/main:file*',
      'app/etc/os-release=etc/os-release:file',
    ]);
    await assert.rejects(resolveSources(stage, ['/app/missing']), fails('file not found in stage builder: stat app/missing: file does not exist'));
    await assert.rejects(resolveSources(stage, ['../etc']), fails('forbidden path outside the stage builder: ../etc'));
  });
});
