import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { chmodSync, lstatSync, mkdirSync, statSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImagePaths, ImageView, resolveInRoot } from '../../../../agent/volumes/copy-up';
import { FakeVolumeSys } from './fake-sys';

const tmp = mkdtempSync(join(tmpdir(), 'tsswarm-copyup-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const lstat = (p: string): { isSymbolicLink(): boolean } | null => {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
};

describe('resolveInRoot', () => {
  const root = join(tmp, 'root');
  mkdirSync(join(root, 'srv', 'data'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  symlinkSync('/srv/data', join(root, 'abs'));
  symlinkSync('srv/data', join(root, 'rel'));
  symlinkSync('../../../../../etc', join(root, 'escape'));
  symlinkSync('loop', join(root, 'loop'));
  const cases: [string, string | null][] = [
    ['/srv/data', join(root, 'srv', 'data')],
    ['/abs', join(root, 'srv', 'data')],
    ['/rel/', join(root, 'srv', 'data')],
    ['/srv/../srv/./data', join(root, 'srv', 'data')],
    ['/escape', join(root, 'etc')],
    ['/missing/x', null],
    ['/loop', null],
  ];
  for (const [p, want] of cases) it(`${p} (symlinks stay inside the root)`, () => assert.equal(resolveInRoot(root, p, lstat, readlinkSync), want));
});

describe('ImageView', () => {
  it('fills a volume from the merged layers (top layer wins) and unmounts after', async () => {
    const top = join(tmp, 'top');
    const bottom = join(tmp, 'bottom');
    mkdirSync(join(top, 'data'), { recursive: true });
    mkdirSync(join(bottom, 'data'), { recursive: true });
    writeFileSync(join(bottom, 'data', 'a'), 'bottom');
    writeFileSync(join(bottom, 'data', 'b'), 'bottom');
    writeFileSync(join(top, 'data', 'b'), 'top');
    const sys = new FakeVolumeSys();
    const scratch = join(tmp, 'scratch');
    const view = new ImageView(sys, [top, bottom], scratch);
    const vol = join(tmp, 'vol');
    mkdirSync(vol);
    await view.copyInto('/data', vol);
    const none = join(tmp, 'vol2');
    mkdirSync(none);
    await view.copyInto('/not/there', none);
    await view.close();
    assert.equal(readFileSync(join(vol, 'a'), 'utf8'), 'bottom');
    assert.equal(readFileSync(join(vol, 'b'), 'utf8'), 'top');
    assert.equal(sys.calls.filter((c) => c.startsWith('mount -t overlay')).length, 1, 'one view for every fill');
    assert.match(sys.calls[0] ?? '', new RegExp(`lowerdir=${top}:${bottom},`));
    assert.equal(sys.mounted.size, 0, 'unmounted');
    assert.equal(existsSync(scratch), false, 'its scratch dir removed');
  });

  it('remembers what the layers have at a path: later views mount the image only for paths with files', async () => {
    const layer = join(tmp, 'remember');
    mkdirSync(join(layer, 'empty'), { recursive: true });
    chmodSync(join(layer, 'empty'), 0o1777);
    mkdirSync(join(layer, 'full'));
    writeFileSync(join(layer, 'full', 'f'), 'x');
    const sys = new FakeVolumeSys();
    const paths = new ImagePaths();
    const fill = async (p: string): Promise<string> => {
      const vol = mkdtempSync(join(tmp, 'rv-'));
      const view = new ImageView(sys, [layer], join(tmp, 'remember-scratch'), paths);
      await view.copyInto(p, vol);
      await view.close();
      return vol;
    };
    const mounts = () => sys.calls.filter((c) => c.startsWith('mount -t overlay')).length;
    await fill('/missing');
    await fill('/empty');
    assert.equal(mounts(), 2);
    await fill('/missing/');
    const empty = await fill('/empty');
    assert.equal(mounts(), 2, 'a path known to hold nothing needs no view');
    assert.equal(statSync(empty).mode & 0o7777, 0o1777, 'the root still takes the image directory\'s mode');
    const full = await fill('/full');
    await fill('/full');
    assert.equal(mounts(), 4, 'a path with files is copied each time');
    assert.equal(readFileSync(join(full, 'f'), 'utf8'), 'x');
  });

  it('ImagePaths keeps the newest entries only', () => {
    const paths = new ImagePaths(2);
    const none = { files: false as const, root: null };
    paths.set(['l'], '/a', none);
    paths.set(['l'], '/b', none);
    paths.set(['l'], '/c', none);
    assert.equal(paths.get(['l'], '/a'), undefined);
    assert.deepEqual(paths.get(['l'], '/c'), none);
    assert.equal(paths.get(['m'], '/c'), undefined, 'other layers are another image');
  });
});
