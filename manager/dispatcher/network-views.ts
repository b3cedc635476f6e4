/**
 * What each node must know of its networks, pure: the networks its tasks are
 * on; per network, the endpoints living on other hosts (for static FDB and
 * neighbour entries: no flooding), the DNS names of the services on it, and
 * what each service VIP balances over.
 */
import type { ClusterNode, Network, Service, Task } from '../../shared/types';
import type { NetworkView, PortRule } from '../../shared/proto/codec';
import { macForIp } from '../../shared/net/ipv4';
import { isReady, isTerminal } from '../../shared/task-state';

/** A task holds its address while it is not finished (it may still be starting or stopping). */
function holdsAddress(t: Task): boolean {
  return t.nodeId !== null && t.networks.length > 0 && !isTerminal(t.status.state);
}

const ip = (cidr: string) => cidr.split('/')[0]!;

function shortName(s: Service): string {
  return s.spec.stack && s.spec.name.startsWith(`${s.spec.stack}_`) ? s.spec.name.slice(s.spec.stack.length + 1) : s.spec.name;
}

export function networkViews(nodeId: string, tasks: Task[], networks: Network[], services: Service[], nodes: ClusterNode[]): NetworkView[] {
  const live = tasks.filter(holdsAddress);
  const mine = new Set(live.filter((t) => t.nodeId === nodeId).flatMap((t) => t.networks.map((a) => a.networkId)));
  const hostAddr = new Map(nodes.map((n) => [n.id, n.addr]));
  const views: NetworkView[] = [];
  for (const net of networks) {
    // Every node with an endpoint is on the ingress network (it answers published ports).
    const localIp = net.ingress ? net.nodeEndpoints[nodeId] ?? null : null;
    if (!mine.has(net.id) && localIp === null) continue;
    const on = live.filter((t) => t.networks.some((a) => a.networkId === net.id));
    const peers = on
      .filter((t) => t.nodeId !== nodeId)
      .map((t) => {
        const a = t.networks.find((x) => x.networkId === net.id)!;
        return { ip: ip(a.address), mac: a.mac, hostAddr: hostAddr.get(t.nodeId!) ?? '' };
      })
      .filter((p) => p.hostAddr !== '');
    if (net.ingress) {
      for (const [id, ep] of Object.entries(net.nodeEndpoints)) {
        const addr = hostAddr.get(id);
        if (id !== nodeId && addr) peers.push({ ip: ep, mac: macForIp(ep), hostAddr: addr });
      }
    }
    peers.sort((a, b) => a.ip.localeCompare(b.ip));
    const dns: NetworkView['dns'] = [];
    const vips: NetworkView['vips'] = [];
    for (const s of services) {
      const sn = s.spec.networks.find((n) => n.target === net.spec.name);
      if (!sn) continue;
      const running = on
        .filter((t) => t.serviceId === s.id && t.desiredState === 'running' && isReady(t.status))
        .map((t) => ip(t.networks.find((a) => a.networkId === net.id)!.address))
        .sort();
      const names = [...new Set([shortName(s), s.spec.name, ...sn.aliases])];
      const vip = s.vips.find((v) => v.networkId === net.id)?.address ?? null;
      for (const name of names) {
        dns.push(vip !== null && s.spec.endpoint.mode === 'vip' ? { name, ips: [vip], roundRobin: false } : { name, ips: running, roundRobin: true });
        dns.push({ name: `tasks.${name}`, ips: running, roundRobin: true });
      }
      if (vip !== null && s.spec.endpoint.mode === 'vip') vips.push({ vip, backends: running });
    }
    // A container of this node on other networks too resolves their names as well (Docker's DNS does).
    const dnsSources = on
      .filter((t) => t.nodeId === nodeId && t.networks.length > 1)
      .map((t) => ({ ip: ip(t.networks.find((a) => a.networkId === net.id)!.address), networkIds: t.networks.map((a) => a.networkId).filter((id) => id !== net.id) }))
      .sort((a, b) => a.ip.localeCompare(b.ip));
    // The routing mesh's entry points: a task here answers what came in by each through it.
    const nodeEndpoints = net.ingress ? Object.values(net.nodeEndpoints).sort() : [];
    views.push({
      id: net.id,
      name: net.spec.name,
      vni: net.vni,
      subnet: net.subnet,
      gateway: net.gateway,
      peers,
      dns,
      vips,
      localIp,
      encrypted: net.spec.encrypted === true,
      ...(dnsSources.length > 0 ? { dnsSources } : {}),
      ...(nodeEndpoints.length > 0 ? { nodeEndpoints } : {}),
    });
  }
  return views;
}

/**
 * The ports a node publishes: every ingress-mode port of every service (to its
 * running tasks' ingress addresses, wherever they run, SNAT'ed to this node's
 * ingress endpoint), and host-mode ports of the tasks running on this node.
 */
export function portRules(nodeId: string, tasks: Task[], networks: Network[], services: Service[]): PortRule[] {
  const ingress = networks.find((n) => n.ingress);
  const myEndpoint = ingress?.nodeEndpoints[nodeId] ?? null;
  // Only tasks that are up take traffic: running, and healthy where they have a health check.
  const running = tasks.filter((t) => t.desiredState === 'running' && isReady(t.status));
  const rules: PortRule[] = [];
  for (const s of services) {
    const mine = running.filter((t) => t.serviceId === s.id);
    for (const p of s.spec.endpoint.ports) {
      if (p.published === null) continue;
      if (p.mode === 'ingress') {
        if (!ingress || myEndpoint === null) continue;
        const backends = mine
          .map((t) => t.networks.find((a) => a.networkId === ingress.id))
          .filter((a) => a !== undefined)
          .map((a) => ({ ip: ip(a.address), port: p.target }))
          .sort((a, b) => a.ip.localeCompare(b.ip));
        rules.push({ protocol: p.protocol, published: p.published, backends, snat: { networkId: ingress.id, ip: myEndpoint } });
      } else {
        const backends = mine
          .filter((t) => t.nodeId === nodeId && t.networks.length > 0)
          .map((t) => ({ ip: ip(t.networks[0]!.address), port: p.target }));
        if (backends.length) rules.push({ protocol: p.protocol, published: p.published, backends, snat: null });
      }
    }
  }
  return rules.sort((a, b) => a.published - b.published || a.protocol.localeCompare(b.protocol));
}
