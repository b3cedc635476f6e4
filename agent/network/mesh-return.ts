/**
 * The routing mesh without source NAT: a connection that entered the cluster through node E's
 * published port reaches the task with the client's own address, and the task's replies go back
 * through E (whose conntrack undoes its DNAT), not out of the task's default route. Inside the
 * task's network namespace, pure text for the kernel:
 *
 * - `tsswarm_mesh` (nft): a new connection arriving on the ingress interface is marked with the
 *   entry node its frame came from (the source MAC is E's endpoint on the ingress network:
 *   macForIp of its address); the connection's packets the task sends carry that mark again
 *   (`type route` output chain: a changed mark reroutes).
 * - policy routing: per entry node, `fwmark M lookup M` and a table whose default route is E's
 *   endpoint on the ingress interface. Marks and tables are the endpoint's address (low 16 bits)
 *   over a fixed base, so they stay the same while nodes come and go: a connection's mark never
 *   comes to mean another node.
 * - the ingress interface's rp_filter loose: the client's address is not routed out of it.
 *
 * Connections the task opens itself, and those that came some other way, have no mark: routed
 * as before. Cost per task: one rule and one table per node with an ingress endpoint (fib rules
 * are a list: fine for hundreds of nodes; see docs/scale.md for more).
 */
import { formatIpv4, requireIpv4 } from './ipv4';
import { macForIp } from '../../shared/net/ipv4';

export const MESH_TABLE = 'tsswarm_mesh';
const BASE = 0x7a5e0000;
/** Before `main` (32766); the rules only match marked packets. */
export const MESH_RULE_PRIORITY = 1000;

/** The mark (and routing table) of connections that entered through the endpoint at `ip`. */
export function meshMark(ip: string): number {
  return (BASE | (requireIpv4(ip, 'endpoint') & 0xffff)) >>> 0;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The nft script (declare, flush, fill: a no-op for the table when it exists, as vip-rules.ts does). */
export function meshReturnNft(ifname: string, endpoints: readonly string[]): string {
  const ips = [...new Set(endpoints)].sort();
  const lines = [
    `table ip ${MESH_TABLE} {`,
    '  map entry {',
    '    type ether_addr : mark',
    '  }',
    '  chain prerouting {',
    '    type filter hook prerouting priority mangle; policy accept;',
    '  }',
    '  chain output {',
    '    type route hook output priority mangle; policy accept;',
    '  }',
    '}',
    `flush map ip ${MESH_TABLE} entry`,
    `flush chain ip ${MESH_TABLE} prerouting`,
    `flush chain ip ${MESH_TABLE} output`,
  ];
  if (ips.length > 0) {
    lines.push(`add element ip ${MESH_TABLE} entry { ${ips.map((ip) => `${macForIp(ip)} : ${hex(meshMark(ip))}`).join(', ')} }`);
    lines.push(`add rule ip ${MESH_TABLE} prerouting iifname "${ifname}" ct state new ct mark set ether saddr map @entry`);
    lines.push(`add rule ip ${MESH_TABLE} output ct mark and 0xffff0000 == ${hex(BASE)} meta mark set ct mark`);
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * `ip -batch` lines taking the sandbox's rules from `before` to `after` (endpoint addresses):
 * rules of endpoints gone are deleted, new ones added; every table's route is replaced (it is
 * idempotent, and a recreated interface needs it again).
 */
export function meshReturnRoutes(ifname: string, before: readonly string[], after: readonly string[]): string[] {
  const next = new Set(after);
  const prev = new Set(before);
  const out: string[] = [];
  for (const ip of [...prev].sort()) {
    if (next.has(ip)) continue;
    const m = meshMark(ip);
    out.push(`rule del fwmark ${hex(m)} lookup ${m} priority ${MESH_RULE_PRIORITY}`, `route flush table ${m}`);
  }
  for (const ip of [...next].sort()) {
    const m = meshMark(ip);
    if (!prev.has(ip)) out.push(`rule add fwmark ${hex(m)} lookup ${m} priority ${MESH_RULE_PRIORITY}`);
    out.push(`route replace default via ${formatIpv4(requireIpv4(ip, 'endpoint'))} dev ${ifname} onlink table ${m}`);
  }
  return out;
}
