/**
 * VIP load balancing inside a container's network namespace: connections the
 * container makes to a service VIP are DNAT'ed to one of the service's tasks
 * (numgen round robin), in the container's own conntrack, so replies come
 * back the same way. One nft transaction declares the table and chain (a
 * no-op when they exist), flushes the chain and adds the rules: the first
 * write into a new sandbox costs well under a millisecond, where deleting and
 * recreating the table would wait for the kernel to unhook the old chain.
 */
const TABLE = 'tsswarm_lb';
const CHAIN = 'output';

export function vipRules(vips: { vip: string; backends: string[] }[]): string {
  const lines = [`table ip ${TABLE} {`, `  chain ${CHAIN} {`, '    type nat hook output priority -100; policy accept;', '  }', '}', `flush chain ip ${TABLE} ${CHAIN}`];
  for (const v of vips) {
    if (v.backends.length === 0) continue;
    const map = v.backends.map((b, i) => `${i} : ${b}`).join(', ');
    lines.push(`add rule ip ${TABLE} ${CHAIN} ip daddr ${v.vip} dnat to numgen inc mod ${v.backends.length} map { ${map} }`);
  }
  lines.push('');
  return lines.join('\n');
}
