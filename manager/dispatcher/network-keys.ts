/**
 * Which nodes get the encrypted overlay keyring, pure but for the read: a node with an encrypted
 * network among its views gets the whole ring, any other an empty one. Swarm sends the keys to
 * every node; sending them only where they are used means a node that never ran a task on an
 * encrypted network (a compromised worker elsewhere) holds nothing to decrypt that traffic with.
 */
import { createHash } from 'node:crypto';
import type { Network } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { emptyKeyring, type NetworkKeyring } from '../../shared/network-keys';
import type { NetworkView } from '../../shared/proto/codec';
import type { Store } from '../store/store';
import { agentKeyring } from '../network-keys/keyring';
import { NetworkKeysUnreadableError, openNetworkKeys, type StoredNetworkKeys } from '../network-keys/seal';

/**
 * The cluster's keyring, or null when no network is encrypted, the leader made none yet, or this
 * manager cannot open it (then its nodes' encrypted networks stay fenced in, and every other
 * assignment still goes out).
 */
export async function readNetworkKeyring(store: Store, networks: readonly Network[], dek: Buffer | null): Promise<NetworkKeyring | null> {
  if (!networks.some((n) => n.spec.encrypted === true) || dek === null) return null;
  const stored = await store.get<StoredNetworkKeys>(Keys.networkKeys);
  if (!stored) return null;
  try {
    return agentKeyring(openNetworkKeys(stored.value, dek));
  } catch (e) {
    if (e instanceof NetworkKeysUnreadableError) return null;
    throw e;
  }
}

export function keyringForNode(views: readonly NetworkView[], ring: NetworkKeyring | null): NetworkKeyring {
  return ring !== null && views.some((v) => v.encrypted) ? ring : emptyKeyring();
}

/** What a session remembers of the ring it sent: a digest, not a second copy of the keys. */
export function keyringFingerprint(r: NetworkKeyring): string {
  const h = createHash('sha256').update(`primary ${r.primary}\n`);
  for (const k of r.keys) h.update(`${k.tag} `).update(k.key).update('\n');
  return h.digest('hex');
}
