/**
 * The nft chains of encrypted networks, part of the agent's one table (../batch.ts filterRuleset).
 * They match the VXLAN datagrams of encrypted networks by UDP port 4789 and VNI (the 24 bits at
 * byte 12 of the transport header), so a plain network on the same hosts is never touched:
 *
 * - esp_mark (route, output): marks them, so that the policy rule routes them into the TUN device
 *   (a route chain re-routes a packet whose mark it changed);
 * - esp_out (filter, postrouting): drops any that would leave by another device (no key yet, rules
 *   half set up): an encrypted network fails closed, never in the clear;
 * - esp_in (filter, input): drops any that did not come out of the TUN device, i.e. plaintext VXLAN
 *   for an encrypted network from the wire (Swarm drops it the same way).
 */
import { espIds, hex } from './ids';

/** `port`: the VXLAN UDP port (../batch.ts VXLAN_PORT). */
export function espChains(prefix: string, encryptedVnis: readonly number[], port: number): string[] {
  if (encryptedVnis.length === 0) return [];
  const { tun, mark } = espIds(prefix);
  const match = `udp dport ${port} @th,96,24 { ${[...new Set(encryptedVnis)].sort((a, b) => a - b).join(', ')} }`;
  return [
    '  chain esp_mark {',
    '    type route hook output priority mangle; policy accept;',
    `    ${match} meta mark set ${hex(mark)}`,
    '  }',
    '  chain esp_out {',
    '    type filter hook postrouting priority filter; policy accept;',
    `    ${match} oifname != "${tun}" drop`,
    '  }',
    '  chain esp_in {',
    '    type filter hook input priority filter; policy accept;',
    `    ${match} iifname != "${tun}" drop`,
    '  }',
  ];
}
