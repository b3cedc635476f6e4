import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageView, resolveInRoot } from '../../../../agent/volumes/copy-up';
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
});
