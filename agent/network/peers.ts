/**
 * Remote endpoints as kernel state on a VXLAN device: an FDB entry (MAC → host) tells the device
 * where to tunnel a frame, a permanent neighbour entry (IP → MAC) lets it answer ARP itself (proxy),
 * so no frame is ever flooded to all hosts. setPeers is level-based: desired set in, diff out.
 */
import { InvalidNetworkConfigError } from './errors';
import { requireIpv4 } from './ipv4';
import { normalizeMac } from './mac';
import type { Endpoint } from './types';

/** What a VXLAN device holds for remote endpoints. */
export interface PeerState {
  /** MAC → underlay address of its host. */
  fdb: Map<string, string>;
  /** Overlay IP → MAC. */
  neigh: Map<string, string>;
}

export interface PeerDiff {
  fdbSet: Array<{ mac: string; hostAddr: string }>;
  fdbDel: string[];
  neighSet: Array<{ ip: string; mac: string }>;
  neighDel: string[];
}

export function emptyPeerState(): PeerState {
  return { fdb: new Map(), neigh: new Map() };
}

/** The state `endpoints` should produce; throws on invalid or contradictory endpoints. */
export function desiredPeerState(endpoints: readonly Endpoint[]): PeerState {
  const out = emptyPeerState();
  for (const ep of endpoints) {
    requireIpv4(ep.ip, 'endpoint.ip');
    requireIpv4(ep.hostAddr, 'endpoint.hostAddr');
    const mac = normalizeMac(ep.mac, 'endpoint.mac');
    const seenMac = out.neigh.get(ep.ip);
    if (seenMac !== undefined && seenMac !== mac) {
      throw new InvalidNetworkConfigError(`endpoint ${ep.ip} listed with two MACs (${seenMac}, ${mac})`, 'endpoint.ip');
    }
    const seenHost = out.fdb.get(mac);
    if (seenHost !== undefined && seenHost !== ep.hostAddr) {
      throw new InvalidNetworkConfigError(`MAC ${mac} listed on two hosts (${seenHost}, ${ep.hostAddr})`, 'endpoint.mac');
    }
    out.neigh.set(ep.ip, mac);
    out.fdb.set(mac, ep.hostAddr);
  }
  return out;
}

/** What to replace and delete to go from `current` to `desired`. Entries already right are left alone. */
export function diffPeers(current: PeerState, desired: PeerState): PeerDiff {
  const diff: PeerDiff = { fdbSet: [], fdbDel: [], neighSet: [], neighDel: [] };
  for (const [mac, hostAddr] of desired.fdb) if (current.fdb.get(mac) !== hostAddr) diff.fdbSet.push({ mac, hostAddr });
  for (const mac of current.fdb.keys()) if (!desired.fdb.has(mac)) diff.fdbDel.push(mac);
  for (const [ip, mac] of desired.neigh) if (current.neigh.get(ip) !== mac) diff.neighSet.push({ ip, mac });
  for (const ip of current.neigh.keys()) if (!desired.neigh.has(ip)) diff.neighDel.push(ip);
  return diff;
}

export function isEmptyDiff(d: PeerDiff): boolean {
  return d.fdbSet.length + d.fdbDel.length + d.neighSet.length + d.neighDel.length === 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/**
 * Remote entries from `bridge -j fdb show dev VX`: those the device itself holds (`self`) with a
 * tunnel destination. The bridge's own entries for the port (`master`) are not ours to manage.
 */
export function parseFdbJson(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const rows: unknown = JSON.parse(text.trim() === '' ? '[]' : text);
  if (!Array.isArray(rows)) return out;
  for (const r of rows) {
    if (!isRecord(r) || typeof r['mac'] !== 'string' || typeof r['dst'] !== 'string' || 'master' in r) continue;
    out.set(r['mac'].toLowerCase(), r['dst']);
  }
  return out;
}

/** Permanent entries from `ip -j neigh show dev VX` (the ones setPeers writes). */
export function parseNeighJson(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const rows: unknown = JSON.parse(text.trim() === '' ? '[]' : text);
  if (!Array.isArray(rows)) return out;
  for (const r of rows) {
    if (!isRecord(r) || typeof r['dst'] !== 'string' || typeof r['lladdr'] !== 'string') continue;
    const state = r['state'];
    if (Array.isArray(state) && !state.includes('PERMANENT')) continue;
    out.set(r['dst'], r['lladdr'].toLowerCase());
  }
  return out;
}
