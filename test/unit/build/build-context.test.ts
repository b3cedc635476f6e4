/**
 * readContext (agent/image/build/build-context.ts): one walk of a context directory with
 * .dockerignore applied: exceptions, an ignored directory walked for an exception inside it, the
 * Dockerfile and .dockerignore treated like any file, symlinks listed and never followed. No root.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../../agent/image/build/build-context';

let work = '';
let ctx = '';

async function files(dir: string, rel: string[]): Promise<void> {
  for (const r of rel) {
    await mkdir(join(dir, r, '..'), { recursive: true });
    await writeFile(join(dir, r), `${r}\n`);
  }
}

const paths = async (ignore: string | null): Promise<string[]> => (await readContext(ctx, ignore)).files.map((f) => f.path);

describe('readContext', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsswarm-build-context-'));
    ctx = join(work, 'ctx');
    await files(ctx, ['Dockerfile', '.dockerignore', 'app.js', 'README.md', 'CHANGES.md', 'docs/a.md', 'docs/keep.md', 'logs/x.log', 'logs/deep/keep.log', 'node_modules/m/index.js', 'src/main.ts', 'src/sub/util.ts']);
    await writeFile(join(work, 'outside-secret'), 'secret\n');
    await symlink('../outside-secret', join(ctx, 'escape')); // listed as a link, never read through
    await symlink('/etc', join(ctx, 'etc-link'));
    await mkdir(join(ctx, 'empty'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('lists everything, sorted, with lstat types, when there is no .dockerignore', async () => {
    const c = await readContext(ctx, null);
    assert.deepEqual(
      c.files.map((f) => f.path),
      ['.dockerignore', 'CHANGES.md', 'Dockerfile', 'README.md', 'app.js', 'docs', 'docs/a.md', 'docs/keep.md', 'empty', 'escape', 'etc-link', 'logs', 'logs/deep', 'logs/deep/keep.log', 'logs/x.log', 'node_modules', 'node_modules/m', 'node_modules/m/index.js', 'src', 'src/main.ts', 'src/sub', 'src/sub/util.ts'],
    );
    assert.equal(c.entry('escape')?.type, 'symlink');
    assert.equal(c.entry('etc-link')?.type, 'symlink');
    assert.equal(c.entry('src')?.type, 'dir');
    assert.equal(c.entry('/src/main.ts')?.type, 'file');
    assert.equal(c.root, ctx);
    assert.deepEqual(c.children(''), ['.dockerignore', 'CHANGES.md', 'Dockerfile', 'README.md', 'app.js', 'docs', 'empty', 'escape', 'etc-link', 'logs', 'node_modules', 'src']);
    assert.deepEqual(c.children('src/'), ['main.ts', 'sub']);
  });

  it('leaves out ignored files and everything below an ignored directory', async () => {
    const c = await readContext(ctx, 'node_modules\n*.md\n');
    assert.equal(c.has('node_modules'), false);
    assert.equal(c.has('node_modules/m/index.js'), false);
    assert.equal(c.has('README.md'), false);
    assert.equal(c.has('docs/a.md'), true); // `*.md` is the top level only
    assert.equal(c.has('app.js'), true);
    assert.equal(c.has('/'), true);
    assert.equal(c.has('.'), true);
    assert.equal(c.has('../ctx/app.js'), false);
  });

  it('re-includes exceptions, the last matching pattern winning', async () => {
    const c = await readContext(ctx, '*.md\n!README.md\n');
    assert.equal(c.has('README.md'), true);
    assert.equal(c.has('CHANGES.md'), false);
  });

  it('walks an ignored directory for an exception inside it, listing the directory only because of it', async () => {
    const got = await paths('docs\nlogs\n!docs/keep.md\n!logs/deep/keep.log\n');
    assert.ok(got.includes('docs') && got.includes('docs/keep.md'));
    assert.ok(!got.includes('docs/a.md'));
    assert.ok(got.includes('logs') && got.includes('logs/deep') && got.includes('logs/deep/keep.log'));
    assert.ok(!got.includes('logs/x.log'));
    // An ignored directory no exception reaches is not listed at all.
    const none = await paths('docs\n!src/main.ts\n');
    assert.ok(!none.includes('docs'));
  });

  it('treats the Dockerfile and .dockerignore like any file: listed unless ignored', async () => {
    assert.ok((await paths('*.md\n')).includes('Dockerfile'));
    const got = await paths('Dockerfile\n.dockerignore\n');
    assert.ok(!got.includes('Dockerfile') && !got.includes('.dockerignore'));
  });

  it('ignores everything but exceptions with `*` then `!`', async () => {
    assert.deepEqual(await paths('*\n!src\n'), ['src', 'src/main.ts', 'src/sub', 'src/sub/util.ts']);
  });

  it('refuses a context that is not a directory, and a malformed .dockerignore', async () => {
    await assert.rejects(readContext(join(ctx, 'app.js'), null), /is not a directory/);
    await assert.rejects(readContext(join(work, 'missing'), null), /ENOENT/);
    await assert.rejects(readContext(ctx, '[a\n'), /syntax error in pattern/);
  });
});
