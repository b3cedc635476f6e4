/**
 * The encrypted overlay networks' keyring as the leader keeps it, and its schedule, pure: made
 * when the first encrypted network exists, rotated every period (Swarm: 12 h) while one does.
 *
 * Three keys, oldest first; the primary, which seals, is the middle one. A rotation drops the
 * oldest, adds a new one and makes the former newest the primary: every node received that key
 * one period ago (it could already open it), so whichever node switches first, its receivers
 * hold the key, and the old primary stays in the ring for the nodes that switch last.
 */
import { keyringProblem, NETWORK_KEY_BYTES, type NetworkKeyring } from '../../shared/network-keys';

export const KEYRING_SIZE = 3;
export const DEFAULT_ROTATION_MS = 12 * 60 * 60 * 1000;

export interface ManagedKey {
  tag: number;
  key: Buffer;
  createdAt: string;
}

export interface ManagedKeyring {
  /** Oldest first, KEYRING_SIZE of them. */
  keys: ManagedKey[];
  /** Tag of the middle key. */
  primary: number;
  rotatedAt: string;
}

/** What agents get: the tags and keys, not the bookkeeping. */
export function agentKeyring(r: ManagedKeyring): NetworkKeyring {
  return { keys: r.keys.map((k) => ({ tag: k.tag, key: k.key })), primary: r.primary };
}

export type KeyringChange = { kind: 'created' | 'rotated' | 'replaced'; next: ManagedKeyring } | null;

/**
 * The keyring to write, or null to leave the store as it is. `needed`: some network is encrypted.
 * A keyring that does not hold together (a damaged record) is replaced by a new one, with tags
 * after its own so that no SPI of the old keys comes back.
 */
export function planKeyring(current: ManagedKeyring | null, needed: boolean, nowMs: number, periodMs: number, newKey: () => Buffer): KeyringChange {
  if (!needed) return null;
  const now = new Date(nowMs).toISOString();
  const make = (tag: number): ManagedKey => {
    const key = newKey();
    if (key.length !== NETWORK_KEY_BYTES) throw new Error(`a network key must be ${NETWORK_KEY_BYTES} bytes`);
    return { tag, key, createdAt: now };
  };
  const fresh = (firstTag: number): ManagedKeyring => {
    const keys = Array.from({ length: KEYRING_SIZE }, (_, i) => make(firstTag + i));
    return { keys, primary: keys[KEYRING_SIZE - 2]!.tag, rotatedAt: now };
  };
  if (current === null) return { kind: 'created', next: fresh(1) };
  if (!isWhole(current)) {
    const maxTag = Math.max(0, ...current.keys.map((k) => (Number.isInteger(k.tag) ? k.tag : 0)));
    return { kind: 'replaced', next: fresh(maxTag + 1) };
  }
  const rotated = Date.parse(current.rotatedAt);
  // A rotation time in the future (a clock set back) would hold rotation off for as long.
  const due = !Number.isFinite(rotated) || nowMs - rotated >= periodMs || rotated - nowMs > periodMs;
  if (!due) return null;
  const newest = current.keys[current.keys.length - 1]!;
  const keys = [...current.keys.slice(1), make(newest.tag + 1)];
  return { kind: 'rotated', next: { keys, primary: newest.tag, rotatedAt: now } };
}

/** Three valid keys with increasing tags, the middle one primary. */
function isWhole(r: ManagedKeyring): boolean {
  if (r.keys.length !== KEYRING_SIZE) return false;
  if (keyringProblem(agentKeyring(r)) !== null) return false;
  for (let i = 1; i < r.keys.length; i++) if (r.keys[i]!.tag <= r.keys[i - 1]!.tag) return false;
  return r.primary === r.keys[KEYRING_SIZE - 2]!.tag;
}

/**
 * The rotation period: 12 h as in Swarm. TSSWARM_NETWORK_KEY_ROTATION_MS (at least 1000) shortens
 * it for tests that watch a rotation happen.
 */
export function rotationPeriodMs(env: Record<string, string | undefined> = process.env): number {
  const v = env['TSSWARM_NETWORK_KEY_ROTATION_MS'];
  if (v === undefined || !/^\d+$/.test(v)) return DEFAULT_ROTATION_MS;
  const n = Number(v);
  return n >= 1000 ? n : DEFAULT_ROTATION_MS;
}
