/**
 * copyInto (agent/image/build/copy-into.ts) and the --chown/--chmod readers
 * (copy-ownership.ts), for everything that needs no root: the destination as a directory or a
 * file, a directory's contents, trailing slashes, modes and mtimes kept, --chmod, symlinks copied
 * as links, a destination symlink followed inside the rootfs, heredoc files, and ADD's archives
 * (made with GNU tar here) detected by content and unpacked through a temporary directory.
 * Ownership as root is in test/integration/build-copy.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { readContext } from '../../../agent/image/build/build-context';
import { copyInto, type CopyOptions } from '../../../agent/image/build/copy-into';
import { parseChmod, resolveChown } from '../../../agent/image/build/copy-ownership';
import { resolveSources } from '../../../agent/image/build/copy-sources';
import { isTarHeader } from '../../../agent/image/build/archive-source';
import { contextTree, rootfsTree } from '../../../agent/image/build/source-tree';
import { InvalidArgumentError } from '../../../shared/errors';

let work = '';
let ctxDir = '';
let rootfs = '';
let temp = '';
let n = 0;
const OLD = new Date('2001-02-03T04:05:06Z');

const opts = (o: Partial<CopyOptions> = {}): CopyOptions => ({ workdir: '/', chown: null, chmod: null, tempDir: temp, ...o });

/** COPY (or ADD with unpack) of context sources into the rootfs. */
async function copy(sources: string[], dest: string, o: Partial<CopyOptions> = {}, ignore: string | null = null): Promise<void> {
  const tree = contextTree(await readContext(ctxDir, ignore));
  const resolved = await resolveSources(tree, sources, { add: o.unpack === true, inline: o.inline?.length ?? 0 });
  await copyInto(rootfs, resolved, dest, opts(o));
}

const at = (p: string): string => join(rootfs, p);
const text = (p: string): Promise<string> => readFile(at(p), 'utf8');
const mode = async (p: string): Promise<number> => (await lstat(at(p))).mode & 0o7777;
const ls = async (p: string): Promise<string[]> => (await readdir(at(p))).sort();

function fails(message: RegExp) {
  return (e: unknown): boolean => e instanceof InvalidArgumentError && message.test(e.message);
}

async function put(dir: string, rel: string, content: string, m = 0o644): Promise<void> {
  await mkdir(join(dir, rel, '..'), { recursive: true });
  await writeFile(join(dir, rel), content);
  await chmod(join(dir, rel), m);
}

describe('copyInto', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsswarm-copy-into-'));
    ctxDir = join(work, 'ctx');
    await put(ctxDir, 'app.js', 'app\n');
    await put(ctxDir, 'run.sh', '#!/bin/sh\n', 0o755);
    await put(ctxDir, 'lib.js', 'lib\n', 0o600);
    await put(ctxDir, 'src/main.ts', 'main\n');
    await put(ctxDir, 'src/sub/util.ts', 'util\n', 0o640);
    await symlink('main.ts', join(ctxDir, 'src', 'link'));
    await symlink('/etc/passwd', join(ctxDir, 'src', 'abs-link')); // copied as a link, never read
    await chmod(join(ctxDir, 'src', 'sub'), 0o750);
    await utimes(join(ctxDir, 'app.js'), OLD, OLD);
    await utimes(join(ctxDir, 'src', 'sub', 'util.ts'), OLD, OLD);
    await utimes(join(ctxDir, 'src', 'sub'), OLD, OLD);
    await put(ctxDir, 'not-a.tar.gz', 'just text\n');
    // Archives, by GNU tar: tree/{top.txt, d/inner.txt (0600), lnk -> top.txt}.
    const t = join(work, 'tar-src');
    await put(t, 'top.txt', 'top\n');
    await put(t, 'd/inner.txt', 'inner\n', 0o600);
    await symlink('top.txt', join(t, 'lnk'));
    await utimes(join(t, 'top.txt'), OLD, OLD);
    for (const [name, flag] of [['plain.tar', ''], ['gz.tgz', '--gzip'], ['bz.bin', '--bzip2'], ['xz.archive', '--xz']] as const) {
      execFileSync('tar', ['--create', '--file', join(ctxDir, name), '--directory', t, ...(flag === '' ? [] : [flag]), 'top.txt', 'd', 'lnk']);
    }
    execFileSync('gzip', ['--keep', join(ctxDir, 'app.js')]); // app.js.gz: gzip, but not of a tar
    // A hostile archive: `l -> <outside>`, then `l/x` through it.
    const outside = join(work, 'outside');
    await mkdir(outside);
    const h = join(work, 'hostile');
    await mkdir(h);
    await symlink(outside, join(h, 'l'));
    execFileSync('tar', ['--create', '--file', join(ctxDir, 'hostile.tar'), '--directory', h, 'l']);
    await rm(join(h, 'l'));
    await put(h, 'l/x', 'x\n');
    execFileSync('tar', ['--append', '--file', join(ctxDir, 'hostile.tar'), '--directory', h, 'l/x']);
    temp = join(work, 'temp');
    await mkdir(temp);
  });
  beforeEach(async () => {
    rootfs = join(work, `rootfs-${++n}`);
    await mkdir(join(rootfs, 'real', 'etc'), { recursive: true });
    await symlink('/real/etc', join(rootfs, 'etc'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('copies a file onto a new path, creating missing parents 0755', async () => {
    await copy(['app.js'], '/opt/app/server.js');
    assert.equal(await text('opt/app/server.js'), 'app\n');
    assert.equal(await mode('opt'), 0o755);
    assert.equal(await mode('opt/app'), 0o755);
  });

  it('keeps mode bits and mtimes of files and directories', async () => {
    await copy(['run.sh', 'app.js', 'src'], '/x/');
    assert.equal(await mode('x/run.sh'), 0o755);
    assert.equal((await stat(at('x/app.js'))).mtimeMs, OLD.getTime());
    assert.equal(await mode('x/sub'), 0o750);
    assert.equal(await mode('x/sub/util.ts'), 0o640);
    assert.equal((await stat(at('x/sub'))).mtimeMs, OLD.getTime());
    assert.equal((await stat(at('x/sub/util.ts'))).mtimeMs, OLD.getTime());
  });

  it('puts a file inside an existing directory, and treats a trailing / as a directory to create', async () => {
    await mkdir(at('srv'));
    await copy(['app.js'], '/srv');
    assert.deepEqual(await ls('srv'), ['app.js']);
    await copy(['app.js'], '/new/');
    assert.deepEqual(await ls('new'), ['app.js']);
  });

  it('takes a relative destination from WORKDIR', async () => {
    await copy(['app.js'], 'code/a.js', { workdir: '/home/app' });
    await copy(['lib.js'], '.', { workdir: '/home/app' });
    assert.deepEqual(await ls('home/app'), ['code', 'lib.js']);
  });

  it('copies the contents of a source directory, not the directory', async () => {
    await copy(['src'], '/app');
    assert.deepEqual(await ls('app'), ['abs-link', 'link', 'main.ts', 'sub']);
    assert.equal(await readlink(at('app/link')), 'main.ts');
    assert.equal(await readlink(at('app/abs-link')), '/etc/passwd');
    assert.ok((await lstat(at('app/abs-link'))).isSymbolicLink());
    assert.equal(await text('app/sub/util.ts'), 'util\n');
  });

  it('merges into an existing directory, replacing files and symlinks, never following them', async () => {
    await mkdir(at('app/sub'), { recursive: true });
    await writeFile(at('app/keep.txt'), 'keep\n');
    await writeFile(at('app/main.ts'), 'old\n');
    await symlink('/real/etc/target', at('app/sub/util.ts'));
    await copy(['src'], '/app');
    assert.equal(await text('app/keep.txt'), 'keep\n');
    assert.equal(await text('app/main.ts'), 'main\n');
    assert.ok((await lstat(at('app/sub/util.ts'))).isFile());
    await assert.rejects(stat(at('real/etc/target')), /ENOENT/);
  });

  it('makes the destination a directory for several sources or a wildcard, and refuses a file there', async () => {
    await copy(['app.js', 'lib.js'], '/multi');
    assert.deepEqual(await ls('multi'), ['app.js', 'lib.js']);
    await copy(['a*.js'], '/wild');
    assert.deepEqual(await ls('wild'), ['app.js']);
    await writeFile(at('file'), 'f\n');
    await assert.rejects(copy(['app.js', 'lib.js'], '/file'), fails(/^\/file is not a directory$/));
    await assert.rejects(copy(['app.js'], '/file/'), fails(/^\/file is not a directory$/));
    await assert.rejects(copy(['app.js'], '/file/below'), fails(/^\/file is not a directory$/));
  });

  it('refuses a directory onto a file and a file onto a directory inside a copy', async () => {
    await writeFile(at('plain'), 'p\n');
    await assert.rejects(copy(['src'], '/plain'), fails(/^cannot copy to non-directory: \/plain$/));
    await mkdir(at('app/main.ts'), { recursive: true });
    await assert.rejects(copy(['src'], '/app'), fails(/^cannot replace directory \/app\/main.ts with a file$/));
  });

  it('follows a symlink at the destination inside the rootfs', async () => {
    await copy(['app.js'], '/etc/passwd-test');
    assert.equal(await text('real/etc/passwd-test'), 'app\n');
    await symlink('/real/etc/hosts', at('hosts-link'));
    await copy(['lib.js'], '/hosts-link');
    assert.equal(await text('real/etc/hosts'), 'lib\n');
    assert.ok((await lstat(at('hosts-link'))).isSymbolicLink());
    // A destination through a link to a directory lands in that directory.
    await copy(['src'], '/etc/app/');
    assert.deepEqual(await ls('real/etc/app'), ['abs-link', 'link', 'main.ts', 'sub']);
  });

  it('applies --chmod to every copied file and directory and to created parents', async () => {
    // 0750 rather than a mode without `x`: the test must still be able to look inside without root.
    await copy(['src', 'run.sh'], '/m/n/', { chmod: '0750' });
    for (const p of ['m', 'm/n', 'm/n/sub', 'm/n/sub/util.ts', 'm/n/main.ts', 'm/n/run.sh']) assert.equal(await mode(p), 0o750, p);
    assert.ok((await lstat(at('m/n/link'))).isSymbolicLink());
    await copy(['run.sh'], '/s', { chmod: '4755' });
    assert.equal(await mode('s'), 0o4755);
  });

  it('refuses bad --chmod values', () => {
    assert.equal(parseChmod('755'), 0o755);
    assert.equal(parseChmod('0644'), 0o644);
    assert.equal(parseChmod('0'), 0);
    assert.throws(() => parseChmod('0999'), /invalid chmod parameter: '0999'. it should be octal string and between 0 and 07777/);
    assert.throws(() => parseChmod('17777'), /invalid chmod parameter/);
    assert.throws(() => parseChmod('u+x'), /--chmod=u\+x: symbolic modes are not supported/);
  });

  it('writes heredoc files 0644, named by the heredoc', async () => {
    await copy([], '/etc/motd', { inline: [{ name: 'EOF', content: 'hello\n' }] });
    assert.equal(await text('real/etc/motd'), 'hello\n');
    assert.equal(await mode('real/etc/motd'), 0o644);
    await copy([], '/docs/', { inline: [{ name: 'a.txt', content: 'a\n' }, { name: 'b.txt', content: 'b\n' }] });
    assert.deepEqual(await ls('docs'), ['a.txt', 'b.txt']);
    await copy(['app.js'], '/both', { inline: [{ name: 'c.txt', content: 'c\n' }], chmod: '700' });
    assert.deepEqual(await ls('both'), ['app.js', 'c.txt']);
    assert.equal(await mode('both/c.txt'), 0o700);
  });

  it('ADD unpacks plain, gzip, bzip2 and xz archives, told by content, into the destination', async () => {
    for (const name of ['plain.tar', 'gz.tgz', 'bz.bin', 'xz.archive']) {
      await copy([name], `/u/${name}`, { unpack: true });
      assert.deepEqual(await ls(`u/${name}`), ['d', 'lnk', 'top.txt'], name);
      assert.equal(await text(`u/${name}/d/inner.txt`), 'inner\n');
      assert.equal(await mode(`u/${name}/d/inner.txt`), 0o600);
      assert.equal(await readlink(at(`u/${name}/lnk`)), 'top.txt');
      assert.equal((await stat(at(`u/${name}/top.txt`))).mtimeMs, OLD.getTime());
    }
    assert.deepEqual(await readdir(temp), [], 'the temporary directories are removed');
  });

  it('ADD copies what is not a tar as it is, whatever its name; COPY never unpacks', async () => {
    await copy(['not-a.tar.gz', 'app.js.gz'], '/add/', { unpack: true });
    assert.deepEqual(await ls('add'), ['app.js.gz', 'not-a.tar.gz']);
    await copy(['plain.tar'], '/copied.tar');
    assert.ok((await lstat(at('copied.tar'))).isFile());
  });

  it('ADD unpacks through the rootfs symlinks safely, and refuses an archive that writes through its own link', async () => {
    await copy(['plain.tar'], '/etc/unpacked', { unpack: true });
    assert.deepEqual(await ls('real/etc/unpacked'), ['d', 'lnk', 'top.txt']);
    await assert.rejects(copy(['hostile.tar'], '/h', { unpack: true }), fails(/^unpack hostile.tar: .*Not a directory/));
    assert.deepEqual(await readdir(join(work, 'outside')), []);
    assert.deepEqual(await readdir(temp), []);
  });

  it('copies from a plain tree (COPY --from) the same way', async () => {
    const stage = join(work, `stage-${n}`);
    await put(stage, 'out/bin/tool', 'tool\n', 0o755);
    await symlink('/out/bin', join(stage, 'bin'));
    const tree = rootfsTree(stage, 'stage build');
    await copyInto(rootfs, await resolveSources(tree, ['/bin/tool', '/out']), '/usr/local/', opts());
    assert.deepEqual(await ls('usr/local'), ['bin', 'tool']);
    assert.equal(await mode('usr/local/tool'), 0o755);
  });
});

describe('--chown without root', () => {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let fake = '';
  before(async () => {
    fake = await mkdtemp(join(tmpdir(), 'tsswarm-chown-'));
    await mkdir(join(fake, 'data', 'etc'), { recursive: true });
    await symlink('/data/etc', join(fake, 'etc'));
    await writeFile(join(fake, 'data', 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\nbroken:x:nope:1\n`);
    await writeFile(join(fake, 'data', 'etc', 'group'), 'root:x:0:\nstaff:x:50:app\n');
  });
  after(async () => {
    await rm(fake, { recursive: true, force: true });
  });

  it('reads names from the rootfs passwd and group (through its symlinks), numbers as they are', async () => {
    assert.deepEqual(await resolveChown(fake, 'app'), { uid: 1000, gid: 1001 });
    assert.deepEqual(await resolveChown(fake, 'app:staff'), { uid: 1000, gid: 50 });
    assert.deepEqual(await resolveChown(fake, 'app:7'), { uid: 1000, gid: 7 });
    assert.deepEqual(await resolveChown(fake, '42'), { uid: 42, gid: 42 });
    assert.deepEqual(await resolveChown(fake, '42:staff'), { uid: 42, gid: 50 });
    assert.deepEqual(await resolveChown(fake, '42:43'), { uid: 42, gid: 43 });
    assert.deepEqual(await resolveChown(fake, 'root'), { uid: 0, gid: 0 });
    assert.deepEqual(await resolveChown(join(fake, 'data'), '5:6'), { uid: 5, gid: 6 }); // no passwd needed
  });

  it('says which name it cannot find', async () => {
    await assert.rejects(resolveChown(fake, 'nobody'), fails(/^unable to find user nobody: no matching entries in passwd file$/));
    await assert.rejects(resolveChown(fake, 'broken'), fails(/unable to find user broken/));
    await assert.rejects(resolveChown(fake, 'app:wheel'), fails(/^unable to find group wheel: no matching entries in group file$/));
    await assert.rejects(resolveChown(join(fake, 'data', 'etc'), 'app'), fails(/unable to find user app/)); // no /etc/passwd at all
    await assert.rejects(resolveChown(fake, ':5'), fails(/invalid --chown=:5/));
  });

  it('applies a uid:gid the process may set', async () => {
    const ctx = join(fake, 'ctx');
    await put(ctx, 'f.txt', 'f\n');
    const dest = join(fake, 'rootfs');
    await mkdir(dest);
    await copyInto(dest, await resolveSources(contextTree(await readContext(ctx, null)), ['f.txt']), '/d/f.txt', { workdir: '/', chown: `${uid}:${gid}`, chmod: null });
    const st = await stat(join(dest, 'd', 'f.txt'));
    assert.equal(st.uid, uid);
    assert.equal(st.gid, gid);
    assert.equal(isTarHeader(Buffer.alloc(512)), false);
  });
});
