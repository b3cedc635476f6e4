/**
 * This manager's hold on the cluster's data key (DEK). It is open when the
 * manager can use it: read from keys.json with the local KEK, handed over by
 * another manager, or unlocked by the operator (autolock). While it is not,
 * the manager is locked: nothing that needs it (the CA, secrets) works.
 */
import { TsswarmError } from '../../shared/errors';
import { kekFromUnlockKey, localKek, readKeyFile, removeKeyFile, unwrapDek, writeKeyFile } from './key-files';

export class LockedError extends TsswarmError {
  readonly code = 'MANAGER_LOCKED';
  override readonly status = 503;
}

export class DataKey {
  private key: Buffer | null = null;
  private autolock = false;

  constructor(private readonly dataRoot: string) {}

  /** Opens the local key file if it can be opened without the operator. Returns what it found. */
  loadLocal(): 'open' | 'locked' | 'none' {
    const file = readKeyFile(this.dataRoot);
    if (!file) return 'none';
    this.autolock = file.autolock;
    if (file.autolock) return 'locked';
    this.key = unwrapDek(file, localKek(this.dataRoot));
    return 'open';
  }

  /** `tsswarm unlock`: the operator's key opens the key file (a wrong key throws). */
  unlock(unlockKey: string): void {
    const file = readKeyFile(this.dataRoot);
    if (!file) throw new LockedError('this manager has no data key yet');
    this.key = unwrapDek(file, kekFromUnlockKey(unlockKey));
  }

  /** Keeps a data key (made at bootstrap, or from another manager), wrapped as the cluster wants. */
  adopt(dek: Buffer, autolock: boolean, unlockKey: string | null): void {
    if (autolock && !unlockKey) throw new Error('an autolocked cluster needs the unlock key to wrap the data key');
    writeKeyFile(this.dataRoot, dek, autolock ? kekFromUnlockKey(unlockKey!) : localKek(this.dataRoot), autolock);
    this.key = dek;
    this.autolock = autolock;
  }

  /** Drops a key that turned out not to be the cluster's (another manager bootstrapped first). */
  forget(): void {
    removeKeyFile(this.dataRoot);
    this.key = null;
  }

  get isOpen(): boolean {
    return this.key !== null;
  }

  /** The key, or LockedError. */
  get(): Buffer {
    if (!this.key) throw new LockedError(this.autolock ? 'this manager is locked: run tsswarm unlock' : 'this manager has no data key yet');
    return this.key;
  }

  current(): { key: Buffer; autolock: boolean } | null {
    return this.key ? { key: this.key, autolock: this.autolock } : null;
  }
}
