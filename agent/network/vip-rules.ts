/**
 * VIP load balancing inside a container's network namespace: connections the
 * container makes to a service VIP are DNAT'ed to one of the service's tasks
 * (numgen round robin), in the container's own conntrack, so replies come
 * back the same way. The whole table is replaced in one nft transaction.
 */
const TABLE = 'tsswarm_lb';

export function vipRules(vips: { vip: string; backends: string[] }[]): string {
  const lines = [`table ip ${TABLE}`, `delete table ip ${TABLE}`, `table ip ${TABLE} {`, '  chain output {', '    type nat hook output priority -100; policy accept;'];
  for (const v of vips) {
    if (v.backends.length === 0) continue;
    const map = v.backends.map((b, i) => `${i} : ${b}`).join(', ');
    lines.push(`    ip daddr ${v.vip} dnat to numgen inc mod ${v.backends.length} map { ${map} }`);
  }
  lines.push('  }', '}', '');
  return lines.join('\n');
}
