/**
 * How the keyring is kept in etcd (Keys.networkKeys): the whole record sealed
 * (AES-256-GCM, manager/keys/seal.ts) under the cluster's data key, bound to
 * its etcd key. The one place that turns key material into a stored value and
 * back; a record in a form this manager cannot open is an error the callers
 * leave alone (never replace).
 */
import { TsswarmError } from '../../shared/errors';
import { SCHEMA_VERSION } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { open, seal, type Sealed } from '../keys/seal';
import type { ManagedKeyring } from './keyring';

export interface StoredNetworkKeys {
  v: number;
  sealing: 'dek';
  data: Sealed;
}

/** What `data` holds once opened. */
interface PlainKeys {
  keys: Array<{ tag: number; key: string; createdAt: string }>;
  primary: number;
  rotatedAt: string;
}

export class NetworkKeysUnreadableError extends TsswarmError {
  readonly code = 'NETWORK_KEYS_UNREADABLE';
  override readonly status = 500;
}

export function sealNetworkKeys(r: ManagedKeyring, dek: Buffer): StoredNetworkKeys {
  const plain: PlainKeys = { keys: r.keys.map((k) => ({ tag: k.tag, key: k.key.toString('base64'), createdAt: k.createdAt })), primary: r.primary, rotatedAt: r.rotatedAt };
  return { v: SCHEMA_VERSION, sealing: 'dek', data: seal(dek, Keys.networkKeys, JSON.stringify(plain)) };
}

/**
 * Throws NetworkKeysUnreadableError for a sealing it does not know or a data key that does not
 * open it. A damaged record opens into a keyring that planKeyring sees does not hold together
 * (and replaces).
 */
export function openNetworkKeys(s: StoredNetworkKeys, dek: Buffer): ManagedKeyring {
  if (s?.sealing !== 'dek') throw new NetworkKeysUnreadableError(`network keys stored as ${String(s?.sealing)}: cannot open them`);
  let p: Partial<PlainKeys>;
  try {
    p = JSON.parse(open(dek, Keys.networkKeys, s.data).toString()) as Partial<PlainKeys>;
  } catch (e) {
    throw new NetworkKeysUnreadableError(`network keys: ${(e as Error).message}`);
  }
  const keys = Array.isArray(p.keys) ? p.keys : [];
  return {
    keys: keys.map((k) => ({ tag: Number(k?.tag), key: Buffer.from(String(k?.key ?? ''), 'base64'), createdAt: String(k?.createdAt) })),
    primary: Number(p.primary),
    rotatedAt: String(p.rotatedAt),
  };
}
