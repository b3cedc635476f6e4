/**
 * Published ports (Docker's routing mesh and host-mode publishing) as nftables text, added to the
 * agent's one table (`ip tsswarm_<prefix>`, see filterRuleset in batch.ts) in the same `nft -f`
 * transaction. Pure functions of the port set, so unit tests read exactly what the kernel is told.
 *
 * - `ports_prerouting` (nat, dstnat) and `ports_output` (nat, -100; a process on the host itself,
 *   127.0.0.1 included): traffic to any local address (`fib daddr type local`) on a published
 *   protocol+port jumps, through one verdict map, to that port's chain, which DNATs round robin
 *   (`numgen inc`) to the backends through a concatenation map `n : ip . port`.
 * - `forward` (the isolation chain of filterRuleset): `ct status dnat` connections whose original
 *   destination port is published are accepted ahead of the per-overlay drops, which would
 *   otherwise stop them entering the backends' bridge from the underlay.
 * - `ports_postrouting` (nat, srcnat): no source NAT for the routing mesh: the task sees the
 *   client's address, and answers through the node the connection entered by its return paths
 *   (mesh-return.ts: connection marks and policy routing in its namespace). Only a connection from
 *   a loopback address (127.0.0.1:<published> on the host) gets a source: in ingress mode this
 *   node's endpoint on the backends' network, in host mode the bridge's address (masquerade): the
 *   task would answer 127.0.0.1 to itself.
 * - Loopback: a packet from 127.0.0.1 DNATed to a task must leave through the task's bridge, which
 *   the kernel refuses (a martian) unless `route_localnet` is on for that device; the replies, once
 *   un-NATed back to 127.0.0.1, need it as well. HostNetwork turns it on for exactly the bridges
 *   localnetBridges names (per device: nothing global to undo, gone with the bridge), and
 *   `ports_localnet` (filter, prerouting, priority raw) drops what else route_localnet would let
 *   in: anything addressed from or to 127.0.0.0/8 arriving on those bridges (a task, or another
 *   host on the overlay, reaching the host's loopback-only services). It runs before conntrack
 *   and NAT, so the replies of our own DNATed connections, still addressed to the SNAT address
 *   there, pass.
 *
 * Ports with no backend get no rule at all: the connection is the host's own (refused if nothing
 * listens). The port sets are named, typed sets: nft 1.0.6 cannot concatenate
 * `ct original proto-dst`, and anonymous sets of it lose their type.
 */
import { InvalidNetworkConfigError } from './errors';
import { inCidr, parseCidr, parseIpv4, requireIpv4 } from './ipv4';
import { bridgeName, nftTableName } from './names';
import type { OverlaySpec } from './types';

export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  /** Port on every address of this host (`fib daddr type local`). */
  published: number;
  /** Round robin (numgen inc); empty: the port is closed (no rule). */
  backends: { ip: string; port: number }[];
  /**
   * Ingress: this node's endpoint address on the network the backends are on, given as the source
   * of connections from a loopback address (the task cannot answer 127.0.0.1); everyone else keeps
   * their address and the task answers through this node by its return paths (mesh-return.ts).
   * Host mode: null (backends are local sandboxes whose default route is this host).
   */
  snat: { networkId: string; ip: string } | null;
}

/** This node's own endpoint on a network (see HostNetwork.setNodeEndpoint). */
export interface NodeEndpoint {
  ip: string;
  mac: string;
}

const PROTOCOLS = ['tcp', 'udp'] as const;

function requirePort(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidNetworkConfigError(`${field}: port ${n} outside 1..65535`, field);
}

/**
 * Throws InvalidNetworkConfigError on a bad port, address, protocol, a protocol+port listed twice,
 * or an SNAT network that `overlays` does not have or whose subnet does not hold the SNAT address.
 */
export function validatePublishedPorts(ports: readonly PublishedPort[], overlays: ReadonlyMap<string, OverlaySpec>): void {
  const seen = new Set<string>();
  for (const p of ports) {
    if (!PROTOCOLS.includes(p.protocol)) throw new InvalidNetworkConfigError(`protocol ${JSON.stringify(p.protocol)}: tcp or udp`, 'protocol');
    requirePort(p.published, 'published');
    const key = `${p.protocol}/${p.published}`;
    if (seen.has(key)) throw new InvalidNetworkConfigError(`${key} published twice`, 'published');
    seen.add(key);
    if (!Array.isArray(p.backends)) throw new InvalidNetworkConfigError(`${key}: backends must be a list`, 'backends');
    for (const b of p.backends) {
      requireIpv4(b.ip, 'backends.ip');
      requirePort(b.port, 'backends.port');
    }
    if (p.snat !== null) {
      const net = overlays.get(p.snat.networkId);
      if (net === undefined) throw new InvalidNetworkConfigError(`${key}: network ${p.snat.networkId} is not set up on this host`, 'snat.networkId');
      if (!inCidr(requireIpv4(p.snat.ip, 'snat.ip'), parseCidr(net.subnet, 'subnet'))) {
        throw new InvalidNetworkConfigError(`${key}: SNAT address ${p.snat.ip} is not in ${net.subnet}`, 'snat.ip');
      }
    }
  }
}

/** Name of a published port's DNAT chain. */
export function portChainName(protocol: 'tcp' | 'udp', published: number): string {
  return `port_${protocol}_${published}`;
}

function setBlock(name: string, ports: readonly number[]): string[] {
  return [`  set ${name} {`, '    type inet_service', `    elements = { ${ports.join(', ')} }`, '  }'];
}

/** Ports that get rules: those with a backend, by protocol then number. */
function openPorts(ports: readonly PublishedPort[]): PublishedPort[] {
  return ports
    .filter((p) => p.backends.length > 0)
    .sort((a, b) => (a.protocol === b.protocol ? a.published - b.published : a.protocol < b.protocol ? -1 : 1));
}

/**
 * The bridges that 127.0.0.1:<published> connections leave by: those of the overlays (of
 * `overlays`) whose subnet holds a backend of a port with a backend. They need
 * `net.ipv4.conf.<bridge>.route_localnet=1`, and `ports_localnet` guards them. Sorted.
 */
export function localnetBridges(prefix: string, overlays: readonly OverlaySpec[], ports: readonly PublishedPort[]): string[] {
  const nets = overlays.map((o) => ({ br: bridgeName(prefix, o.id), cidr: parseCidr(o.subnet, 'subnet') }));
  const out = new Set<string>();
  for (const p of openPorts(ports)) {
    for (const b of p.backends) {
      const addr = parseIpv4(b.ip);
      const net = addr === null ? undefined : nets.find((n) => inCidr(addr, n.cidr));
      if (net !== undefined) out.add(net.br);
    }
  }
  return [...out].sort();
}

/**
 * The published-port part of the table, appended to filterRuleset's text (which has just created
 * the table afresh, with its `forward` chain when `overlays` is not empty). Empty when no port has
 * a backend. `ports` must have passed validatePublishedPorts.
 */
export function portsRuleset(prefix: string, overlays: readonly OverlaySpec[], ports: readonly PublishedPort[]): string {
  const table = nftTableName(prefix);
  const open = openPorts(ports);
  if (open.length === 0) return '';
  const netIds = new Set(overlays.map((o) => o.id));

  const sets: string[] = [];
  const forward: string[] = [];
  for (const proto of PROTOCOLS) {
    const nums = open.filter((p) => p.protocol === proto).map((p) => p.published);
    if (nums.length === 0) continue;
    sets.push(...setBlock(`published_${proto}`, nums));
    forward.push(`insert rule ip ${table} forward ct status dnat meta l4proto ${proto} ct original proto-dst @published_${proto} accept`);
  }

  // SNAT: one rule per (network, endpoint address, protocol), matching a set of its ports.
  const snatGroups = new Map<string, { br: string; ip: string; proto: 'tcp' | 'udp'; ports: number[] }>();
  for (const p of open) {
    if (p.snat === null || !netIds.has(p.snat.networkId)) continue;
    const br = bridgeName(prefix, p.snat.networkId);
    const key = `${br} ${p.snat.ip} ${p.protocol}`;
    const g = snatGroups.get(key) ?? { br, ip: p.snat.ip, proto: p.protocol, ports: [] };
    g.ports.push(p.published);
    snatGroups.set(key, g);
  }
  const post: string[] = [];
  [...snatGroups.values()].forEach((g, i) => {
    const name = `snat_${i}_${g.proto}`;
    sets.push(...setBlock(name, g.ports));
    // Only a loopback source: anyone else is seen by the task as they are, and its replies come
    // back through this node by the task's own return paths (mesh-return.ts).
    post.push(`    oifname "${g.br}" ip saddr 127.0.0.0/8 ct status dnat meta l4proto ${g.proto} ct original proto-dst @${name} snat ip to ${g.ip}`);
  });
  // After the ingress SNAT (the first NAT rule that applies wins): what is left from a loopback
  // source is host mode, or ingress whose network is not here.
  for (const proto of PROTOCOLS) {
    if (open.some((p) => p.protocol === proto)) post.push(`    ip saddr 127.0.0.0/8 ct status dnat meta l4proto ${proto} ct original proto-dst @published_${proto} masquerade`);
  }
  const guarded = localnetBridges(prefix, overlays, open);
  const ifnames = `{ ${guarded.map((b) => `"${b}"`).join(', ')} }`;
  const guard =
    guarded.length === 0
      ? []
      : [
          '  chain ports_localnet {',
          '    type filter hook prerouting priority raw; policy accept;',
          `    iifname ${ifnames} ip daddr 127.0.0.0/8 drop`,
          `    iifname ${ifnames} ip saddr 127.0.0.0/8 drop`,
          '  }',
        ];

  const vmap = `meta l4proto . th dport vmap { ${open.map((p) => `${p.protocol} . ${p.published} : jump ${portChainName(p.protocol, p.published)}`).join(', ')} }`;
  const chains: string[] = [];
  for (const p of open) {
    const map = p.backends.map((b, i) => `${i} : ${b.ip} . ${b.port}`).join(', ');
    chains.push(
      `  chain ${portChainName(p.protocol, p.published)} {`,
      `    meta l4proto ${p.protocol} dnat ip to numgen inc mod ${p.backends.length} map { ${map} }`,
      '  }',
    );
  }
  return [
    `table ip ${table} {`,
    ...sets,
    '  chain ports_prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    fib daddr type local ${vmap}`,
    '  }',
    '  chain ports_output {',
    '    type nat hook output priority -100; policy accept;',
    `    fib daddr type local ${vmap}`,
    '  }',
    ...chains,
    '  chain ports_postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...post,
    '  }',
    ...guard,
    '}',
    // The isolation chain exists only while there are overlays; without one nothing drops.
    ...(overlays.length > 0 ? forward : []),
    '',
  ].join('\n');
}

/**
 * `ip -batch` lines that make the network's bridge carry exactly the node endpoint `ep` (or none):
 * `current` is the bridge's IPv4 addresses now (`a.b.c.d/len`); every one but the gateway's and the
 * endpoint's goes. The MAC goes back to the gateway's (`gatewayMac`) when the endpoint is removed.
 */
export function nodeEndpointCommands(prefix: string, spec: OverlaySpec, ep: NodeEndpoint | null, current: readonly string[], gatewayMac: string): string[] {
  const br = bridgeName(prefix, spec.id);
  const { prefixLen } = parseCidr(spec.subnet, 'subnet');
  const out: string[] = [];
  for (const a of current) {
    const addr = a.split('/')[0];
    if (addr !== spec.gateway && addr !== ep?.ip) out.push(`addr del ${a} dev ${br}`);
  }
  out.push(`link set ${br} address ${ep?.mac ?? gatewayMac}`);
  if (ep !== null) out.push(`addr replace ${ep.ip}/${prefixLen} dev ${br}`);
  return out;
}
