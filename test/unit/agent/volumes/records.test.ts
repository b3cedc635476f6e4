import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidVolumeError } from '../../../../agent/volumes/errors';
import { anonymousVolumeName, parseTaskVolumes, parseVolumeRecord, prunable, validateVolumeName, volumesInUse, withVolume, type TaskVolumes, type VolumeInfo } from '../../../../agent/volumes/records';

const rec = (taskId: string, volumes: string[], anonymous: string[] = []): TaskVolumes => ({ v: 1, taskId, volumes, anonymous });
const info = (name: string, inUse: string[], anonymous = false): VolumeInfo => ({ name, driver: 'local', options: {}, labels: {}, mountpoint: `/v/${name}/_data`, createdAt: '', anonymous, inUse });

describe('volume records', () => {
  it('in use: every task that mounts a volume, sorted, a volume listed twice by one task counted once', () => {
    const m = volumesInUse([rec('t2', ['data', 'logs']), rec('t1', ['data', 'data']), rec('t3', [])]);
    assert.deepEqual(Object.fromEntries(m), { data: ['t1', 't2'], logs: ['t2'] });
  });

  it('prune: unused ones; named ones only with all', () => {
    const vs = [info('used', ['t1']), info('free', []), info('a'.repeat(64), [], true), info('b'.repeat(64), ['t2'], true)];
    assert.deepEqual(prunable(vs, false), ['a'.repeat(64)]);
    assert.deepEqual(prunable(vs, true), ['free', 'a'.repeat(64)]);
  });

  it('withVolume adds once, and marks one made for the task', () => {
    let t = rec('t1', []);
    t = withVolume(t, 'data', false);
    t = withVolume(t, 'data', false);
    t = withVolume(t, 'x'.repeat(64), true);
    assert.deepEqual(t, rec('t1', ['data', 'x'.repeat(64)], ['x'.repeat(64)]));
  });

  it('parses what it wrote, and reads anything else as nothing', () => {
    const r = { v: 1, name: 'data', driver: 'local', options: { type: 'tmpfs', device: 'tmpfs' }, labels: { a: 'b' }, createdAt: '2024-01-01T00:00:00.000Z', anonymous: false };
    assert.deepEqual(parseVolumeRecord(JSON.stringify(r), 'data'), r);
    assert.equal(parseVolumeRecord('{', 'data'), null);
    assert.equal(parseVolumeRecord(JSON.stringify(r), 'other'), null, 'a record of another name');
    assert.deepEqual(parseTaskVolumes(JSON.stringify(rec('t1', ['a', 7 as unknown as string])), 't1'), rec('t1', ['a']));
    assert.equal(parseTaskVolumes('[]', 't1'), null);
  });

  it('anonymous names are 64 hex digits, and valid names', () => {
    const n = anonymousVolumeName();
    assert.match(n, /^[0-9a-f]{64}$/);
    validateVolumeName(n);
  });

  const names: [string, boolean][] = [
    ['data', true],
    ['my_vol.1-x', true],
    ['ab', true],
    ['a', false],
    ['', false],
    ['.hidden', false],
    ['-x', false],
    ['has/slash', false],
    ['/abs/path', false],
    ['sp ace', false],
  ];
  for (const [n, ok] of names) {
    it(`name ${JSON.stringify(n)} is ${ok ? 'valid' : 'refused'}`, () => {
      if (ok) validateVolumeName(n);
      else assert.throws(() => validateVolumeName(n), InvalidVolumeError);
    });
  }
});
