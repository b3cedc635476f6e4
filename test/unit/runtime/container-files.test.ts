import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeContainerFiles } from '../../../agent/runtime/container-files';

describe('writeContainerFiles', () => {
  const withRoot = (f: (root: string, outside: string) => void) => {
    const tmp = mkdtempSync(join(tmpdir(), 'cfiles-'));
    const root = join(tmp, 'rootfs');
    const outside = join(tmp, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    try {
      f(root, outside);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };

  it('writes files, making missing directories', () =>
    withRoot((root) => {
      writeContainerFiles(root, [{ path: '/etc/resolv.conf', content: 'nameserver 10.0.0.1\n' }]);
      assert.equal(readFileSync(join(root, 'etc/resolv.conf'), 'utf8'), 'nameserver 10.0.0.1\n');
    }));

  it('replaces a symlinked file instead of writing through it', () =>
    withRoot((root, outside) => {
      mkdirSync(join(root, 'etc'));
      writeFileSync(join(outside, 'hosts'), 'host file');
      symlinkSync(join(outside, 'hosts'), join(root, 'etc/hosts'));
      writeContainerFiles(root, [{ path: '/etc/hosts', content: '127.0.0.1 localhost\n' }]);
      assert.equal(readFileSync(join(outside, 'hosts'), 'utf8'), 'host file');
      assert.equal(lstatSync(join(root, 'etc/hosts')).isFile(), true);
    }));

  it('refuses a directory that is a symlink', () =>
    withRoot((root, outside) => {
      symlinkSync(outside, join(root, 'etc'));
      assert.throws(() => writeContainerFiles(root, [{ path: '/etc/hostname', content: 'x' }]), /not a directory/);
      assert.equal(existsSync(join(outside, 'hostname')), false);
    }));
});
