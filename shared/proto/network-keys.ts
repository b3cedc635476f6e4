/** The encrypted overlay keyring on the wire (Assignments.network_keys* in dispatcher.proto). */
import type { NetworkKeyring } from '../network-keys';

export interface WireNetworkKey {
  tag: number;
  key: Buffer;
}

/** The Assignments fields that carry the keyring. */
export interface WireNetworkKeys {
  network_keys_changed: boolean;
  network_keys: WireNetworkKey[];
  network_key_primary: number;
}

/** `ring` null: unchanged since the last message (nothing sent). */
export function networkKeysToWire(ring: NetworkKeyring | null): WireNetworkKeys {
  if (ring === null) return { network_keys_changed: false, network_keys: [], network_key_primary: 0 };
  return { network_keys_changed: true, network_keys: ring.keys.map((k) => ({ tag: k.tag, key: Buffer.from(k.key) })), network_key_primary: ring.primary };
}

/** null: the message does not change the keyring (also what a manager older than this agent sends). */
export function networkKeysFromWire(w: Partial<WireNetworkKeys>): NetworkKeyring | null {
  if (w.network_keys_changed !== true) return null;
  return {
    keys: (w.network_keys ?? []).map((k) => ({ tag: Number(k.tag), key: Buffer.from(k.key) })),
    primary: Number(w.network_key_primary ?? 0),
  };
}
