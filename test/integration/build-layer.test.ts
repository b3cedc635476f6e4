/**
 * layerFromUpper (agent/image/build/layer-from-upper.ts) on a real overlayfs: a
 * lower directory with files, dirs, a symlink, a hard-link pair and file
 * capabilities; one "build step" done through an overlay mount (deletions, an
 * opaque directory, a renamed lower directory, setuid files with odd owners,
 * devices, a fifo, hard links, step-only files that must be excluded); then the
 * layer is listed with GNU tar, its digests checked against the bytes, and it is
 * unpacked with the project's unpackLayer and mounted over the lower directory,
 * which must show the same tree as the step saw.
 *
 * Needs root (mounts, mknod, chown, trusted.* xattrs). Every mount is under one
 * temp dir; `after` unmounts what is left there and removes it, also when
 * assertions fail.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync, chownSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layerFromUpper, type BuiltLayer } from '../../agent/image/build/layer-from-upper';
import { UpperNotSupportedError } from '../../agent/image/build/layer-errors';
import { unpackLayer } from '../../agent/image/unpack';

/** cap_net_raw+ep and cap_setuid+ep as vfs_cap_data v2; the second holds a byte (0x80) that is not UTF-8. */
const CAP_NET_RAW = 'AQAAAgAgAAAAAAAAAAAAAAAAAAA=';
const CAP_SETUID = 'AQAAAoAAAAAAAAAAAAAAAAAAAAA=';
const EXCLUDE = ['etc/hosts', 'etc/resolv.conf', 'conf/resolv.conf'];
const LONG = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}`;
/** Mount options the build uses: a rename of a lower directory copies it up instead of redirecting. */
const OVERLAY_OPTS = 'redirect_dir=off,metacopy=off';

let tmp = '';
let lower = '';
let upper = '';
let layer: BuiltLayer | null = null;
let layerFile = '';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Mounts an overlay at a new directory `name` under tmp; read-only when there is no upper. */
function mountOverlay(name: string, lowers: string[], upperWork: { upper: string; work: string } | null, extra = OVERLAY_OPTS): string {
  const at = join(tmp, name);
  mkdirSync(at, { recursive: true });
  const opts = [`lowerdir=${lowers.join(':')}`];
  if (upperWork !== null) opts.push(`upperdir=${upperWork.upper}`, `workdir=${upperWork.work}`);
  if (extra !== '') opts.push(extra);
  sh('mount', ['-t', 'overlay', 'overlay', '-o', opts.join(','), at]);
  return at;
}

/** `cap` in base64; setcap would do the same, but it is not always installed. */
function setCapability(file: string, cap: string): void {
  sh('setfattr', ['-n', 'security.capability', '-v', `0s${cap}`, file]);
}

function write(root: string, rel: string, content: string, mode = 0o644): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), content);
  chmodSync(join(root, rel), mode);
}

function makeLower(dir: string): void {
  write(dir, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  write(dir, 'etc/group', 'root:x:0:\n');
  write(dir, 'bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  setCapability(join(dir, 'bin/tool'), CAP_NET_RAW);
  write(dir, 'data/old1', 'old one\n');
  write(dir, 'data/nested/old2', 'old two\n');
  write(dir, 'moved/inner/file', 'moved along\n');
  write(dir, 'lib/a', 'shared\n');
  linkSync(join(dir, 'lib/a'), join(dir, 'lib/b'));
  symlinkSync('etc/passwd', join(dir, 'link'));
  write(dir, 'conf/app.ini', 'x=1\n');
}

/** What a Dockerfile RUN would do, through the mounted overlay. */
function runStep(m: string): void {
  rmSync(join(m, 'etc/group'));
  rmSync(join(m, 'data'), { recursive: true });
  write(m, 'data/new.txt', 'new data\n');
  sh('mv', [join(m, 'moved'), join(m, 'renamed')]);
  chmodSync(join(m, 'bin/tool'), 0o750);
  write(m, 'usr/local/bin/suid', 'suid\n');
  chownSync(join(m, 'usr/local/bin/suid'), 1234, 5678);
  chmodSync(join(m, 'usr/local/bin/suid'), 0o4755);
  linkSync(join(m, 'usr/local/bin/suid'), join(m, 'usr/local/bin/suid-link'));
  write(m, 'usr/local/bin/sgid', 'sgid\n');
  chownSync(join(m, 'usr/local/bin/sgid'), 300000, 300001);
  chmodSync(join(m, 'usr/local/bin/sgid'), 0o2750);
  write(m, 'usr/local/bin/setuidcap', 'cap\n', 0o755);
  setCapability(join(m, 'usr/local/bin/setuidcap'), CAP_SETUID);
  symlinkSync('../../../bin/tool', join(m, 'usr/local/bin/tool-link'));
  linkSync(join(m, 'lib/a'), join(m, 'lib/c'));
  mkdirSync(join(m, 'tmp2'));
  chmodSync(join(m, 'tmp2'), 0o1777);
  mkdirSync(join(m, 'run'));
  sh('mkfifo', [join(m, 'run/fifo')]);
  mkdirSync(join(m, 'dev'));
  sh('mknod', ['-m', '0666', join(m, 'dev/null2'), 'c', '1', '3']);
  sh('mknod', ['-m', '0660', join(m, 'dev/loop9'), 'b', '7', '9']);
  write(m, 'zero', 'no permissions\n', 0o000);
  write(m, `${LONG}/file-with-a-long-path`, 'long\n');
  // The build's own files for the step, and names that only look like them.
  write(m, 'etc/hosts', '127.0.0.1 localhost\n');
  write(m, 'etc/resolv.conf', 'nameserver 10.0.0.1\n');
  write(m, 'conf/resolv.conf', 'nameserver 10.0.0.1\n');
  write(m, 'etc/hosts.allow', 'ALL: LOCAL\n');
  write(m, 'usr/etc/hosts', 'not the build one\n');
}

interface Node {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number | null;
  content: string | null;
  target: string | null;
  rdev: number | null;
  capability: string | null;
  /** Other names of the same inode in the tree. */
  links: string[];
}

/** Every path below `root` with what a container would see of it (not mtimes). */
function snapshot(root: string): Map<string, Node> {
  const caps = new Map<string, string>();
  const dump = sh('getfattr', ['-R', '-P', '-h', '-d', '-m', '^security\\.capability$', '-e', 'hex', '--absolute-names', root]);
  let file = '';
  for (const line of dump.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8).slice(root.length + 1);
    else if (line.startsWith('security.capability=')) caps.set(file, line.slice('security.capability='.length));
  }
  const out = new Map<string, Node>();
  const inodes = new Map<number, string[]>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, p));
      const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';
      out.set(p, {
        type,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: st.isFile() ? st.size : null,
        content: st.isFile() ? createHash('sha256').update(readFileSync(join(root, p))).digest('hex') : null,
        target: st.isSymbolicLink() ? readlinkSync(join(root, p)) : null,
        rdev: st.isCharacterDevice() || st.isBlockDevice() ? st.rdev : null,
        capability: caps.get(p) ?? null,
        links: [],
      });
      if (!st.isDirectory()) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), p]);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  for (const names of inodes.values()) {
    for (const n of names) {
      const node = out.get(n);
      if (node) node.links = names.filter((o) => o !== n);
    }
  }
  return out;
}

function sha256File(file: string): string {
  return 'sha256:' + (sh('sha256sum', [file]).split(' ')[0] ?? '');
}

describe('layerFromUpper on a real overlayfs upper (root)', () => {
  before(async () => {
    assert.equal(process.getuid?.(), 0, 'build-layer needs root: it mounts overlays, makes devices and sets trusted.* xattrs');
    for (const tool of ['getfattr', 'setfattr', 'mknod', 'mkfifo', 'tar', 'zcat', 'sha256sum']) {
      assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `build-layer needs ${tool}: run scripts/setup.sh`);
    }
    tmp = mkdtempSync('/tmp/tsswarm-build-layer-it-');
    lower = join(tmp, 'lower');
    upper = join(tmp, 'upper');
    const work = join(tmp, 'work');
    for (const d of [lower, upper, work]) mkdirSync(d);
    makeLower(lower);
    const step = mountOverlay('step', [lower], { upper, work });
    try {
      runStep(step);
    } finally {
      sh('umount', [step]);
    }
    layerFile = join(tmp, 'layer.tar.gz');
    layer = await layerFromUpper(upper, layerFile, { exclude: EXCLUDE });
  });

  after(() => {
    if (tmp === '') return;
    const problems: string[] = [];
    for (const m of mountsUnder(tmp).reverse()) {
      if (spawnSync('umount', [m]).status !== 0 && spawnSync('umount', ['-l', m]).status !== 0) problems.push(`cannot unmount ${m}`);
    }
    rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(problems, [], 'cleanup');
  });

  it('writes every change as its entry, whiteouts as OCI whiteouts, in path order', () => {
    assert.ok(layer !== null);
    assert.equal(layer.empty, false);
    assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const names = sh('tar', ['-tzf', layerFile]).trimEnd().split('\n');
    assert.deepEqual(names, [
      '.wh.moved',
      'bin/',
      'bin/tool',
      'data/',
      'data/.wh..wh..opq',
      'data/new.txt',
      'deep/',
      `deep/${'d'.repeat(60)}/`,
      `${LONG}/`,
      `${LONG}/file-with-a-long-path`,
      'dev/',
      'dev/loop9',
      'dev/null2',
      'etc/',
      'etc/.wh.group',
      'etc/hosts.allow',
      'lib/',
      'lib/a',
      'lib/c',
      'renamed/',
      'renamed/inner/',
      'renamed/inner/file',
      'run/',
      'run/fifo',
      'tmp2/',
      'usr/',
      'usr/etc/',
      'usr/etc/hosts',
      'usr/local/',
      'usr/local/bin/',
      'usr/local/bin/setuidcap',
      'usr/local/bin/sgid',
      'usr/local/bin/suid',
      'usr/local/bin/suid-link',
      'usr/local/bin/tool-link',
      'zero',
    ]);
    assert.equal(layer.entries, names.length);
    // The verbose listing is in the same (archive) order.
    const lines = sh('tar', ['--numeric-owner', '-tvzf', layerFile]).trimEnd().split('\n');
    assert.equal(lines.length, names.length);
    const listing = new Map(names.map((n, i) => [n, lines[i] ?? '']));
    const ls = (name: string): string => listing.get(name) ?? assert.fail(`no listing for ${name}`);
    assert.match(ls('usr/local/bin/suid'), /^-rwsr-xr-x 1234\/5678 /);
    assert.match(ls('usr/local/bin/sgid'), /^-rwxr-s--- 300000\/300001 /);
    assert.match(ls('usr/local/bin/suid-link'), /^hrwsr-xr-x 1234\/5678 .* usr\/local\/bin\/suid-link link to usr\/local\/bin\/suid$/);
    assert.match(ls('lib/c'), / lib\/c link to lib\/a$/);
    assert.match(ls('usr/local/bin/tool-link'), /^l.* -> \.\.\/\.\.\/\.\.\/bin\/tool$/);
    assert.match(ls('tmp2/'), /^drwxrwxrwt /);
    assert.match(ls('run/fifo'), /^p/);
    assert.match(ls('dev/null2'), /^crw-rw-rw- 0\/0 +1,3 /);
    assert.match(ls('dev/loop9'), /^brw-rw---- 0\/0 +7,9 /);
    assert.match(ls('zero'), /^---------- /);
    assert.match(ls('etc/.wh.group'), /^-.* 0 /);
    assert.match(ls('data/.wh..wh..opq'), /^-.* 0 /);
  });

  it('reports digests of the bytes written, and the same ones every time', async () => {
    assert.ok(layer !== null);
    assert.equal(sha256File(layerFile), layer.digest);
    assert.equal(layer.size, statSync(layerFile).size);
    const diffId = 'sha256:' + (execFileSync('sh', ['-c', 'zcat "$1" | sha256sum', 'sh', layerFile], { encoding: 'utf8' }).split(' ')[0] ?? '');
    assert.equal(diffId, layer.diffId);
    const again = join(tmp, 'layer-again.tar.gz');
    const second = await layerFromUpper(upper, again, { exclude: EXCLUDE });
    assert.deepEqual(second, layer);
    assert.ok(readFileSync(again).equals(readFileSync(layerFile)), 'byte-identical blobs');
  });

  it('unpacks (unpackLayer) over the lower dir to the tree the step saw', async () => {
    assert.ok(layer !== null);
    const unpacked = join(tmp, 'unpacked');
    mkdirSync(unpacked);
    await unpackLayer(layerFile, 'gzip', layer.diffId, unpacked, new AbortController().signal);
    // The step's view, read-only (its upper as the top lower), and the image's view.
    const stepView = mountOverlay('step-view', [upper, lower], null);
    const imageView = mountOverlay('image-view', [unpacked, lower], null);
    try {
      const seen = snapshot(stepView);
      for (const p of EXCLUDE) assert.ok(seen.delete(p), `${p} was in the step's view`);
      const built = snapshot(imageView);
      assert.deepEqual([...built.keys()], [...seen.keys()], 'same names');
      for (const [p, node] of seen) assert.deepEqual(built.get(p), node, p);

      // The points of the exercise, spelled out.
      assert.ok(!built.has('etc/group') && !built.has('moved') && !built.has('data/old1') && !built.has('data/nested'));
      assert.equal(built.get('bin/tool')?.capability, `0x${Buffer.from(CAP_NET_RAW, 'base64').toString('hex')}`);
      assert.equal(built.get('usr/local/bin/setuidcap')?.capability, `0x${Buffer.from(CAP_SETUID, 'base64').toString('hex')}`);
      assert.equal(built.get('usr/local/bin/sgid')?.uid, 300000);
      assert.deepEqual(built.get('lib/a')?.links, ['lib/c']);
      assert.equal(built.get('renamed/inner/file')?.content, createHash('sha256').update('moved along\n').digest('hex'));
      assert.equal(existsSync(join(imageView, 'etc/hosts')), false);
    } finally {
      sh('umount', [stepView]);
      sh('umount', [imageView]);
    }
  });

  it('says empty and writes nothing when the upper holds only excluded files', async () => {
    const empty = join(tmp, 'upper-empty');
    mkdirSync(join(empty, 'etc'), { recursive: true });
    writeFileSync(join(empty, 'etc', 'hostname'), 'builder\n');
    const out = join(tmp, 'empty.tar.gz');
    const built = await layerFromUpper(empty, out, { exclude: ['/etc/hostname'] });
    assert.equal(built.empty, true);
    assert.equal(built.entries, 0);
    assert.equal(built.diffId, 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef', 'the empty tar');
    assert.equal(existsSync(out), false);
  });

  it('refuses an upper made with redirect_dir=on or metacopy=on instead of writing a wrong layer', async () => {
    for (const [option, change, code] of [
      ['redirect_dir=on', (m: string) => sh('mv', [join(m, 'data'), join(m, 'data-renamed')]), /redirect_dir=off/],
      ['metacopy=on', (m: string) => chownSync(join(m, 'etc/passwd'), 1, 1), /metacopy=off/],
    ] as const) {
      const name = option.split('=')[0] ?? option;
      const up = join(tmp, `upper-${name}`);
      const work = join(tmp, `work-${name}`);
      mkdirSync(up);
      mkdirSync(work);
      const m = mountOverlay(`mnt-${name}`, [lower], { upper: up, work }, option === 'metacopy=on' ? 'redirect_dir=on,metacopy=on' : option);
      try {
        change(m);
      } finally {
        sh('umount', [m]);
      }
      const out = join(tmp, `${name}.tar.gz`);
      await assert.rejects(layerFromUpper(up, out), (e: unknown) => e instanceof UpperNotSupportedError && code.test(e.message));
      assert.equal(existsSync(out), false);
    }
  });
});
