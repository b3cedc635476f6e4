/**
 * The data key on a manager's disk. <data-root>/manager/keys.json holds the
 * cluster's DEK wrapped (AES-256-GCM) by a key-encryption key (KEK):
 *   - unlocked clusters: the KEK is <data-root>/manager/kek (root-only), so a
 *     restarted manager opens the DEK by itself;
 *   - autolock: the KEK is derived from the unlock key, which only the
 *     operator holds: a restarted manager serves nothing until `tsswarm unlock`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hkdfSync, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../shared/errors';
import { writeFilesAtomic, readIfExists } from '../../shared/pki/node-files';
import { open, seal, type Sealed } from './seal';

export interface KeyFile {
  v: 1;
  autolock: boolean;
  dek: Sealed;
}

const AAD = 'tsswarm-dek';

export function keyPaths(dataRoot: string): { keys: string; kek: string } {
  const dir = path.join(dataRoot, 'manager');
  return { keys: path.join(dir, 'keys.json'), kek: path.join(dir, 'kek') };
}

/** Unlock keys: `SWMKEY-1-<base64 of 32 bytes>`, as Docker prints them. */
const UNLOCK_KEY = /^SWMKEY-1-([A-Za-z0-9+/]{43}=)$/;

export function newUnlockKey(): string {
  return `SWMKEY-1-${randomBytes(32).toString('base64')}`;
}

/** The KEK an unlock key stands for (HKDF, so the key the operator holds is not itself the KEK). */
export function kekFromUnlockKey(unlockKey: string): Buffer {
  const m = UNLOCK_KEY.exec(unlockKey.trim());
  if (!m) throw new InvalidArgumentError('invalid unlock key (expected SWMKEY-1-...; tsswarm unlock-key prints it)');
  return Buffer.from(hkdfSync('sha256', Buffer.from(m[1]!, 'base64'), Buffer.alloc(0), 'tsswarm unlock key', 32));
}

export function readKeyFile(dataRoot: string): KeyFile | null {
  const text = readIfExists(keyPaths(dataRoot).keys);
  return text ? (JSON.parse(text) as KeyFile) : null;
}

/** The local KEK of an unlocked manager (made on first use). */
export function localKek(dataRoot: string): Buffer {
  const p = keyPaths(dataRoot).kek;
  const have = readIfExists(p);
  if (have) return Buffer.from(have.trim(), 'base64');
  const kek = randomBytes(32);
  writeFilesAtomic([{ file: p, data: `${kek.toString('base64')}\n`, secret: true }]);
  return kek;
}

/** Stores the DEK wrapped by `kek`; without autolock the KEK file stays beside it, with it the file is removed. */
export function writeKeyFile(dataRoot: string, dek: Buffer, kek: Buffer, autolock: boolean): void {
  const file: KeyFile = { v: 1, autolock, dek: seal(kek, AAD, dek) };
  writeFilesAtomic([{ file: keyPaths(dataRoot).keys, data: `${JSON.stringify(file)}\n`, secret: true }]);
  if (autolock) fs.rmSync(keyPaths(dataRoot).kek, { force: true });
}

export function unwrapDek(file: KeyFile, kek: Buffer): Buffer {
  try {
    return open(kek, AAD, file.dek);
  } catch {
    throw new InvalidArgumentError(file.autolock ? 'wrong unlock key' : 'the key-encryption key does not open this manager\'s data key');
  }
}

export function removeKeyFile(dataRoot: string): void {
  fs.rmSync(keyPaths(dataRoot).keys, { force: true });
}
