/**
 * `ip -batch` lines that route the marked VXLAN datagrams into the TUN device, and take that away.
 * Pure, like ../batch.ts.
 */
import { espIds, hex } from './ids';

/** What the kernel holds of the routing already (see parseRules). */
export interface RoutingPresence {
  tun: boolean;
  rule: boolean;
}

/**
 * A persistent TUN device (it stays while no helper reads it: marked datagrams are then dropped
 * there, not sent in the clear), up, with room for a full VXLAN datagram; a table whose only route
 * is into it; the fwmark rule that uses the table.
 */
export function routingCommands(prefix: string, found: RoutingPresence): string[] {
  const { tun, mark, table, pref } = espIds(prefix);
  const out: string[] = [];
  if (!found.tun) out.push(`tuntap add dev ${tun} mode tun`);
  out.push(`link set dev ${tun} mtu 1500 txqueuelen 2000 up`);
  out.push(`route replace default dev ${tun} table ${table}`);
  if (!found.rule) out.push(`rule add fwmark ${hex(mark)} lookup ${table} pref ${pref}`);
  return out;
}

/** Deleting what routingCommands made; `rules` is how many fwmark rules of ours the kernel holds. */
export function unroutingCommands(prefix: string, rules: number): string[] {
  const { tun, mark, table, pref } = espIds(prefix);
  return [...Array.from({ length: rules }, () => `rule del fwmark ${hex(mark)} lookup ${table} pref ${pref}`), `link del ${tun}`];
}

/** How many of `ip -j rule show`'s rules are this prefix's fwmark rule. */
export function parseRules(prefix: string, json: string): number {
  const { mark, table, pref } = espIds(prefix);
  const rows: unknown = JSON.parse(json.trim() === '' ? '[]' : json);
  if (!Array.isArray(rows)) return 0;
  return rows.filter((r) => {
    if (typeof r !== 'object' || r === null) return false;
    const x = r as Record<string, unknown>;
    return x['priority'] === pref && String(x['table']) === String(table) && typeof x['fwmark'] === 'string' && Number(x['fwmark']) === mark;
  }).length;
}
