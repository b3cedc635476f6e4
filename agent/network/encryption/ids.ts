/**
 * The kernel names and numbers the encrypted data path of one agent uses, derived from its link
 * prefix like every other name of the data plane (../names.ts): deterministic, so that a restarted
 * agent and `tsswarm down` find them again, and distinct per prefix, so that two agents sharing a
 * kernel in tests never take each other's.
 */
import { createHash } from 'node:crypto';

export interface EspIds {
  /** The TUN device the VXLAN datagrams of encrypted networks are routed into. */
  tun: string;
  /** fwmark the nft rule gives those datagrams; the policy rule sends what carries it to `table`. */
  mark: number;
  /** Routing table holding only `default dev <tun>`. */
  table: number;
  /** Priority of the fwmark rule: after `local` (0), before `main` (32766). */
  pref: number;
}

export function espIds(prefix: string): EspIds {
  const h = createHash('sha256').update(`esp ${prefix}`).digest().readUInt16BE(0);
  return { tun: `${prefix}esp`, mark: 0x0e5c0000 | h, table: 0x0e5c0000 | h, pref: 30000 + (h % 2000) };
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
