import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { open, seal, SealError } from '../../../manager/keys/seal';
import { kekFromUnlockKey, newUnlockKey, readKeyFile } from '../../../manager/keys/key-files';
import { DataKey, LockedError } from '../../../manager/keys/data-key';

describe('sealed values', () => {
  it('open with the same key and name only; every seal has its own nonce', () => {
    const dek = randomBytes(32);
    const s = seal(dek, '/tsswarm/v1/ca', 'secret');
    assert.equal(open(dek, '/tsswarm/v1/ca', s).toString(), 'secret');
    assert.notEqual(seal(dek, '/tsswarm/v1/ca', 'secret').nonce, s.nonce);
    assert.throws(() => open(randomBytes(32), '/tsswarm/v1/ca', s), SealError);
    assert.throws(() => open(dek, '/tsswarm/v1/other', s), SealError, 'a value moved to another key does not open');
    const tampered = { ...s, data: Buffer.from(Buffer.from(s.data, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64') };
    assert.throws(() => open(dek, '/tsswarm/v1/ca', tampered), SealError);
  });
});

describe('the data key on disk', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsswarm-keys-'));

  it('opens by itself without autolock, with a local KEK beside it', () => {
    const root = tmp();
    const dek = randomBytes(32);
    new DataKey(root).adopt(dek, false, null);
    const k = new DataKey(root);
    assert.equal(k.loadLocal(), 'open');
    assert.deepEqual(k.get(), dek);
    assert.ok(fs.existsSync(path.join(root, 'manager', 'kek')));
    assert.equal((fs.statSync(path.join(root, 'manager', 'keys.json')).mode & 0o777), 0o600);
    fs.rmSync(root, { recursive: true });
  });

  it('with autolock, stays locked until the right unlock key; no KEK on disk', () => {
    const root = tmp();
    const dek = randomBytes(32);
    const unlock = newUnlockKey();
    new DataKey(root).adopt(dek, true, unlock);
    assert.equal(fs.existsSync(path.join(root, 'manager', 'kek')), false);
    const k = new DataKey(root);
    assert.equal(k.loadLocal(), 'locked');
    assert.throws(() => k.get(), LockedError);
    assert.throws(() => k.unlock(newUnlockKey()), /wrong unlock key/);
    assert.throws(() => k.unlock('SWMKEY-1-short'), /invalid unlock key/);
    k.unlock(unlock);
    assert.deepEqual(k.get(), dek);
    assert.equal(readKeyFile(root)?.autolock, true);
    fs.rmSync(root, { recursive: true });
  });

  it('derives the KEK from the unlock key (the key the operator holds is not the KEK itself)', () => {
    const u = newUnlockKey();
    const kek = kekFromUnlockKey(u);
    assert.equal(kek.length, 32);
    assert.notDeepEqual(kek, Buffer.from(u.slice('SWMKEY-1-'.length), 'base64'));
    assert.deepEqual(kekFromUnlockKey(u), kek);
  });
});
