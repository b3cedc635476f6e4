/**
 * The keyring of the encrypted overlay networks, as managers make it and agents use it. One
 * keyring for the cluster (as Swarm has): a node encrypts what it sends to another host with the
 * primary key and opens what it receives with any key of the ring, so a rotation, which reaches
 * the nodes at slightly different times, never leaves a sender using a key its receiver lacks.
 */

/** 16 bytes of AES-128 key and a 4-byte salt: RFC 4106's keying material for ESP with AES-GCM. */
export const NETWORK_KEY_BYTES = 20;

export interface NetworkKey {
  /** Grows by one with every new key (Swarm's Lamport time); never reused within a keyring's life. */
  tag: number;
  key: Buffer;
}

export interface NetworkKeyring {
  /** Oldest first. Empty: this node has no encrypted network (or the managers made no keys yet). */
  keys: NetworkKey[];
  /** Tag of the key that encrypts; 0 when there are no keys. */
  primary: number;
}

export function emptyKeyring(): NetworkKeyring {
  return { keys: [], primary: 0 };
}

/** Why a keyring cannot be used, or null: every key the right size, distinct tags, the primary among them. */
export function keyringProblem(r: NetworkKeyring): string | null {
  if (r.keys.length === 0) return r.primary === 0 ? null : 'a primary key tag but no keys';
  const tags = new Set<number>();
  for (const k of r.keys) {
    if (!Number.isInteger(k.tag) || k.tag <= 0 || k.tag > 0xffffffff) return `key tag ${k.tag} is not a positive 32-bit integer`;
    if (tags.has(k.tag)) return `key tag ${k.tag} appears twice`;
    tags.add(k.tag);
    if (k.key.length !== NETWORK_KEY_BYTES) return `key ${k.tag} has ${k.key.length} bytes, not ${NETWORK_KEY_BYTES}`;
  }
  return tags.has(r.primary) ? null : `the primary key ${r.primary} is not in the keyring`;
}
