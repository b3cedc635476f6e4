/**
 * The command texts fed to `ip -batch -`, `bridge -batch -` and `nft -f -`. Pure functions of the
 * specs, so unit tests read exactly what the kernel will be told. One line per command; values are
 * validated before they get here (names, addresses), so nothing needs quoting.
 */
import { formatIpv4, parseCidr } from './ipv4';
import { macForIp } from '../../shared/net/ipv4';
import { bridgeName, nftTableName, vethName, vxlanName } from './names';
import type { PeerDiff } from './peers';
import type { AttachSpec, OverlaySpec } from './types';
import { espChains } from './encryption/nft';

export const VXLAN_PORT = 4789;

/** What ensureOverlay found in the kernel before acting. */
export interface OverlayPresence {
  bridge: boolean;
  /** Present with the right VNI, local address and port. */
  vxlan: boolean;
  /** Present but configured otherwise: deleted and created again. */
  vxlanStale: boolean;
}

/**
 * Bridge (with the gateway address and a fixed MAC, so it does not change as ports come and go and
 * leave stale ARP entries for the gateway in the sandboxes) and VXLAN device on it. `nolearning`
 * plus no `remote`/`group` means no all-zeros FDB entry: unknown destinations are dropped, never
 * flooded; `proxy` answers ARP from the neighbour table that setPeers fills.
 */
export function overlayCommands(prefix: string, underlayAddr: string, spec: OverlaySpec, found: OverlayPresence): string[] {
  const br = bridgeName(prefix, spec.id);
  const vx = vxlanName(prefix, spec.id);
  const { prefixLen } = parseCidr(spec.subnet, 'subnet');
  const out: string[] = [];
  if (!found.bridge) out.push(`link add ${br} address ${macForIp(spec.gateway)} mtu ${spec.mtu} type bridge`);
  out.push(`link set ${br} mtu ${spec.mtu} up`);
  out.push(`addr replace ${spec.gateway}/${prefixLen} dev ${br}`);
  if (found.vxlanStale) out.push(`link del ${vx}`);
  if (!found.vxlan) {
    out.push(`link add ${vx} mtu ${spec.mtu} type vxlan id ${spec.vni} local ${underlayAddr} dstport ${VXLAN_PORT} nolearning proxy`);
  }
  out.push(`link set ${vx} master ${br} mtu ${spec.mtu} up`);
  return out;
}

export function removeOverlayCommands(prefix: string, networkId: string): string[] {
  return [`link del ${vxlanName(prefix, networkId)}`, `link del ${bridgeName(prefix, networkId)}`];
}

/**
 * The host side of an attach, one command: the veth is created with its host end already on the
 * bridge and up, and its other end created directly inside the sandbox under its final name, MAC
 * and MTU (no rename, no move, no name clash on the host).
 */
export function attachCommands(prefix: string, sandboxId: string, netnsPath: string, spec: OverlaySpec, ep: AttachSpec): string[] {
  const host = vethName(prefix, sandboxId, ep.ifname);
  const br = bridgeName(prefix, spec.id);
  return [
    `link add ${host} mtu ${spec.mtu} master ${br} up type veth peer name ${ep.ifname} mtu ${spec.mtu} address ${ep.mac} netns ${netnsPath}`,
  ];
}

/** `bridge -batch` lines for the FDB part of a peer diff. */
export function fdbCommands(vxlan: string, d: PeerDiff): string[] {
  return [
    ...d.fdbDel.map((mac) => `fdb del ${mac} dev ${vxlan} self`),
    ...d.fdbSet.map((e) => `fdb replace ${e.mac} dev ${vxlan} dst ${e.hostAddr} self permanent`),
  ];
}

/** `ip -batch` lines for the neighbour part of a peer diff. */
export function neighCommands(vxlan: string, d: PeerDiff): string[] {
  return [
    ...d.neighDel.map((ip) => `neigh del ${ip} dev ${vxlan}`),
    ...d.neighSet.map((e) => `neigh replace ${e.ip} lladdr ${e.mac} dev ${vxlan} nud permanent`),
  ];
}

/**
 * The agent's whole nftables table, replaced atomically in one `nft -f` transaction (the
 * add-then-delete idiom makes the delete valid whether or not the table existed). Rewriting it all
 * instead of editing rules keeps every caller idempotent without tracking rule handles.
 *
 * - forward, per overlay: nothing enters a network's bridge from another interface (another
 *   overlay's bridge, the underlay) unless it answers a connection made from inside, so one host
 *   does not route between overlays. Bridged traffic (task to task, task to VXLAN) is not affected:
 *   with br_netfilter the bridge itself is both input and output interface of a bridged packet.
 *   Everything else is left to the policy (accept); an accept here cannot override a drop in
 *   another table at the same hook.
 * - postrouting, per overlay with egress: traffic from its subnet leaving through anything but its
 *   own bridge gets the host's address.
 * - esp_*, when an overlay is encrypted: its VXLAN datagrams go through the ESP data path and
 *   nowhere else (encryption/nft.ts).
 */
export function filterRuleset(prefix: string, overlays: readonly OverlaySpec[], egress: ReadonlySet<string>): string {
  const table = nftTableName(prefix);
  const head = [`table ip ${table}`, `delete table ip ${table}`];
  if (overlays.length === 0) return `${head.join('\n')}\n`;
  const esp = espChains(prefix, overlays.filter((o) => o.encrypted).map((o) => o.vni), VXLAN_PORT);
  const sorted = [...overlays].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const post: string[] = [];
  const fwd: string[] = [];
  for (const s of sorted) {
    const br = bridgeName(prefix, s.id);
    fwd.push(`    oifname "${br}" ct state established,related accept`, `    oifname "${br}" iifname != "${br}" drop`);
    if (!egress.has(s.id)) continue;
    const { network, prefixLen } = parseCidr(s.subnet, 'subnet');
    post.push(`    ip saddr ${formatIpv4(network)}/${prefixLen} oifname != "${br}" masquerade`);
  }
  return [
    ...head,
    `table ip ${table} {`,
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...fwd,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...post,
    '  }',
    ...esp,
    '}',
    '',
  ].join('\n');
}
