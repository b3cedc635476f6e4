/**
 * The ESP security associations a host holds, pure: a function of its underlay address, the
 * hosts it shares an encrypted network with, and the cluster's keyring.
 *
 * Per remote host and key: an inbound SA (remote → here) for every key of the ring, an outbound
 * one (here → remote) for the primary key only. SPIs and SA keys are derived from the ring key
 * with HKDF-SHA256 over the direction (`src>dst`) and the key's tag, so both ends compute the same
 * SA without talking, and every direction of every host pair under every key has its own SPI and
 * its own AES key. (Swarm uses the ring key itself for every pair, with the SPI as salt; own keys
 * per SA mean a sequence number never meets the same key twice, whichever pair sends it.)
 */
import { hkdfSync } from 'node:crypto';
import { keyringProblem, type NetworkKey, type NetworkKeyring } from '../../../shared/network-keys';

/** AES-128 key + 4-byte salt (RFC 4106). */
export const SA_KEY_BYTES = 20;

export interface EspSa {
  dir: 'out' | 'in';
  /** The other host's underlay address: destination of an outbound SA, source of an inbound one. */
  peer: string;
  spi: number;
  key: Buffer;
  tag: number;
}

function derive(k: NetworkKey, what: string, src: string, dst: string, n: number): Buffer {
  return Buffer.from(hkdfSync('sha256', k.key, Buffer.alloc(0), Buffer.from(`tsswarm esp ${what} ${k.tag} ${src}>${dst}`), n));
}

/** SPI of the SA src → dst under k; 1..255 are reserved (RFC 4303), so those move up. */
export function spiFor(k: NetworkKey, src: string, dst: string): number {
  const v = derive(k, 'spi', src, dst, 4).readUInt32BE(0);
  return v < 256 ? v + 256 : v;
}

export function saKeyFor(k: NetworkKey, src: string, dst: string): Buffer {
  return derive(k, 'key', src, dst, SA_KEY_BYTES);
}

export interface SaPlan {
  sas: EspSa[];
  /** Why some SAs are missing: an unusable keyring, or an inbound SPI two SAs derived alike. */
  problems: string[];
}

export function securityAssociations(local: string, remotes: readonly string[], ring: NetworkKeyring | null): SaPlan {
  if (ring === null || ring.keys.length === 0) return { sas: [], problems: [] };
  const bad = keyringProblem(ring);
  if (bad !== null) return { sas: [], problems: [`network keys unusable: ${bad}`] };
  const sas: EspSa[] = [];
  const problems: string[] = [];
  const inbound = new Map<number, string>();
  for (const peer of [...new Set(remotes)].filter((r) => r !== local).sort()) {
    for (const k of ring.keys) {
      const spi = spiFor(k, peer, local);
      const seen = inbound.get(spi);
      if (seen !== undefined) {
        // Two of the 2^32 SPIs alike among one host's inbound SAs: the later one is left out.
        problems.push(`SPI ${spi.toString(16)} of ${peer} key ${k.tag} is already ${seen}'s`);
      } else {
        inbound.set(spi, `${peer} key ${k.tag}`);
        sas.push({ dir: 'in', peer, spi, key: saKeyFor(k, peer, local), tag: k.tag });
      }
      if (k.tag === ring.primary) sas.push({ dir: 'out', peer, spi: spiFor(k, local, peer), key: saKeyFor(k, local, peer), tag: k.tag });
    }
  }
  return { sas, problems };
}
