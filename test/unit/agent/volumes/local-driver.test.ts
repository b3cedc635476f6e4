import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidVolumeError } from '../../../../agent/volumes/errors';
import { localMountOf, validateLocalOptions } from '../../../../agent/volumes/local-driver';

describe('local driver options', () => {
  const ok: [string, Record<string, string>, ReturnType<typeof localMountOf>][] = [
    ['none: a directory', {}, null],
    ['tmpfs', { type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000' }, { type: 'tmpfs', device: 'tmpfs', options: 'size=100m,uid=1000' }],
    ['a bound host directory', { type: 'none', o: 'bind', device: '/srv/data' }, { type: 'none', device: '/srv/data', options: 'bind' }],
    ['nfs', { type: 'nfs', o: 'addr=10.0.0.5,rw,nfsvers=4', device: ':/export/a' }, { type: 'nfs', device: ':/export/a', options: 'addr=10.0.0.5,rw,nfsvers=4' }],
    ['no o', { type: 'ext4', device: '/dev/vdb1' }, { type: 'ext4', device: '/dev/vdb1', options: '' }],
  ];
  for (const [name, opts, want] of ok) {
    it(name, () => {
      validateLocalOptions(opts);
      assert.deepEqual(localMountOf(opts), want);
    });
  }

  const bad: [string, Record<string, string>, string][] = [
    ['an unknown key', { foo: 'bar' }, 'invalid option key: "foo"'],
    ['a type without a device', { type: 'tmpfs' }, 'missing required option: "device"'],
    ['a device without a type', { device: '/dev/sdb' }, 'missing required option: "type"'],
    ['o without a device', { o: 'size=1m' }, 'missing required option: "device"'],
    ['a strange type', { type: 'ext4 -o x', device: '/dev/sdb' }, 'invalid filesystem type "ext4 -o x"'],
  ];
  for (const [name, opts, message] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => validateLocalOptions(opts), (e: unknown) => e instanceof InvalidVolumeError && e.message === message));
  }
});
