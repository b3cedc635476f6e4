/**
 * The allocator, pure: gives new tasks their addresses on their service's
 * networks (and moves them to pending), gives vip services one virtual IP per
 * network, and releases the reservations of tasks that have stopped for good,
 * of services that are gone and of networks that are gone.
 */
import type { ClusterNode, Network, NetworkAttachment, Service, ServiceNetwork, Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';
import { Keys } from '../../shared/keys';
import { macForIp } from '../../shared/net/ipv4';
import { pickAddress, prefixOf } from './ipam';

export interface IpamEntry {
  networkId: string;
  ip: string;
  /** `task:<id>`, `vip:<service id>` or `node:<node id>`. */
  owner: string;
}

export interface AllocActions {
  tasks: Task[];
  services: Service[];
  /** Networks whose node endpoints changed (the ingress network). */
  networks: Network[];
  reserve: IpamEntry[];
  release: IpamEntry[];
}

export function ipamKey(e: IpamEntry): string {
  return Keys.ipamAddr(e.networkId, e.ip);
}

class Pool {
  private readonly used = new Map<string, Set<string>>();
  constructor(entries: IpamEntry[]) {
    for (const e of entries) this.set(e.networkId).add(e.ip);
  }
  private set(networkId: string): Set<string> {
    let s = this.used.get(networkId);
    if (!s) this.used.set(networkId, (s = new Set()));
    return s;
  }
  take(net: Network): string {
    const ip = pickAddress(net.subnet, this.set(net.id));
    this.set(net.id).add(ip);
    return ip;
  }
}

function stoppedForGood(t: Task): boolean {
  return t.desiredState !== 'running' && (isTerminal(t.status.state) || t.nodeId === null);
}

/** The networks a service's tasks are attached to: its own, plus the ingress network when it publishes through the routing mesh. */
export function taskNetworks(s: Service, ingress: Network | undefined): ServiceNetwork[] {
  const own = s.spec.networks;
  if (!ingress || !s.spec.endpoint.ports.some((p) => p.mode === 'ingress')) return own;
  return [...own, { target: ingress.spec.name, aliases: [] }];
}

export function allocate(services: Service[], tasks: Task[], networks: Network[], ipam: IpamEntry[], now: string, nodes: ClusterNode[] = []): AllocActions {
  const out: AllocActions = { tasks: [], services: [], reserve: [], release: [], networks: [] };
  const ingress = networks.find((n) => n.ingress);
  const byName = new Map(networks.map((n) => [n.spec.name, n]));
  const netIds = new Set(networks.map((n) => n.id));
  const pool = new Pool(ipam);
  const svcById = new Map(services.map((s) => [s.id, s]));

  // Virtual IPs: one per network of a vip service (the ingress network too when it publishes
  // there, as Docker's: tools read the service's routing-mesh address from it); none for dnsrr.
  for (const s of services) {
    const wanted = s.spec.endpoint.mode === 'vip'
      ? taskNetworks(s, ingress).map((n) => byName.get(n.target)).filter((n): n is Network => n !== undefined)
      : [];
    const keep = s.vips.filter((v) => wanted.some((n) => n.id === v.networkId));
    const vips = [...keep];
    for (const n of wanted) {
      if (vips.some((v) => v.networkId === n.id)) continue;
      const ip = pool.take(n);
      out.reserve.push({ networkId: n.id, ip, owner: `vip:${s.id}` });
      vips.push({ networkId: n.id, address: ip });
    }
    if (vips.length !== s.vips.length || keep.length !== s.vips.length) out.services.push({ ...s, vips, updatedAt: now });
  }

  // Addresses of new tasks.
  for (const t of tasks) {
    if (t.status.state !== 'new' || t.desiredState !== 'running') continue;
    const svc = svcById.get(t.serviceId);
    if (!svc) continue;
    const wanted = taskNetworks(svc, ingress);
    const missing = wanted.filter((n) => !byName.has(n.target)).map((n) => n.target);
    if (missing.length) {
      const err = `network ${missing.join(', ')} not found`;
      if (t.status.err !== err) out.tasks.push({ ...t, status: { ...t.status, err, timestamp: now } });
      continue;
    }
    const attachments: NetworkAttachment[] = wanted.map((sn) => {
      const net = byName.get(sn.target)!;
      const ip = pool.take(net);
      out.reserve.push({ networkId: net.id, ip, owner: `task:${t.id}` });
      return { networkId: net.id, networkName: net.spec.name, address: `${ip}/${prefixOf(net.subnet)}`, mac: macForIp(ip), aliases: sn.aliases };
    });
    out.tasks.push({ ...t, networks: attachments, status: { ...t.status, state: 'pending', message: 'waiting for a node', err: null, timestamp: now } });
  }

  // Every node's own endpoint on the ingress network (the routing mesh SNATs to it).
  if (ingress) {
    const endpoints: Record<string, string> = {};
    const nodeIds = new Set(nodes.map((n) => n.id));
    for (const [id, ip] of Object.entries(ingress.nodeEndpoints)) if (nodeIds.has(id)) endpoints[id] = ip;
    for (const n of nodes) {
      if (endpoints[n.id]) continue;
      const ip = pool.take(ingress);
      out.reserve.push({ networkId: ingress.id, ip, owner: `node:${n.id}` });
      endpoints[n.id] = ip;
    }
    if (JSON.stringify(endpoints) !== JSON.stringify(ingress.nodeEndpoints)) out.networks.push({ ...ingress, nodeEndpoints: endpoints });
  }

  // Reservations nobody needs any more.
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  const nodeIds = new Set(nodes.map((n) => n.id));
  for (const e of ipam) {
    let stale = !netIds.has(e.networkId);
    if (e.owner.startsWith('task:')) {
      const t = taskById.get(e.owner.slice(5));
      stale ||= t === undefined || stoppedForGood(t);
    } else if (e.owner.startsWith('vip:')) {
      const s = svcById.get(e.owner.slice(4));
      stale ||= s === undefined || !s.vips.some((v) => v.networkId === e.networkId && v.address === e.ip) && !out.services.some((x) => x.id === s.id && x.vips.some((v) => v.networkId === e.networkId && v.address === e.ip));
    } else if (e.owner.startsWith('node:')) {
      stale ||= !nodeIds.has(e.owner.slice(5));
    }
    if (stale) out.release.push(e);
  }
  return out;
}
