/**
 * The agent's networking, driven by what the manager sends: for each network
 * this node has tasks on, the overlay (bridge + VXLAN), egress NAT, static
 * peer entries, a DNS server on the gateway address, and VIP load balancing
 * inside every sandbox on it; for each task, a sandbox network namespace
 * attached to its networks, and the /etc files that go with it.
 */
import type { AssignedTask, NetworkView, PortRule } from '../../shared/proto/codec';
import type { NetworkKeyring } from '../../shared/network-keys';
import { macForIp } from '../../shared/net/ipv4';
import type { Logger } from '../../shared/log';
import { HostNetwork } from './host-network';
import type { OverlaySpec } from './types';
import { DnsServer, hostsFileFor, mergeRecordSets, resolvConfFor, type DnsRecordSet } from './dns';
import { applyNft } from './nft';
import { vipRules } from './vip-rules';

export const OVERLAY_MTU = 1450;
/**
 * ESP in transport mode adds 34-37 bytes to each VXLAN datagram (SPI, sequence number, 8-byte IV,
 * padding to 4 bytes, trailer, 16-byte ICV): at 1416 the largest one still fills a 1500-byte
 * underlay packet exactly. (Docker's 1424 comes from its 8-byte ICV.)
 */
export const ENCRYPTED_OVERLAY_MTU = 1416;
/** How long VIP backend changes are gathered before sandboxes' rules are rewritten. */
export const VIP_REFRESH_MS = 1000;

interface SandboxState {
  netns: string;
  /** Network ids in attachment order: the i-th is the sandbox's eth<i>. */
  networks: string[];
  rules: string | null;
}

export interface ContainerFile {
  path: string;
  content: string;
}

export interface Sandbox {
  netns: string;
  files: ContainerFile[];
}

interface NetState {
  view: NetworkView;
  dns: DnsServer | null;
}

function overlaySpec(v: NetworkView): OverlaySpec {
  return { id: v.id, vni: v.vni, subnet: v.subnet, gateway: v.gateway, mtu: v.encrypted ? ENCRYPTED_OVERLAY_MTU : OVERLAY_MTU, encrypted: v.encrypted };
}

function records(v: NetworkView): DnsRecordSet {
  const names = new Map<string, string[]>();
  const roundRobin = new Set<string>();
  for (const d of v.dns) {
    names.set(d.name.toLowerCase(), [...d.ips]);
    if (d.roundRobin) roundRobin.add(d.name.toLowerCase());
  }
  return { names, roundRobin };
}

/** Applies an nftables script inside a sandbox's network namespace. */
async function nftIn(netns: string, script: string): Promise<void> {
  const r = await applyNft(netns, script);
  if (!r.ok) throw new Error(`nft in ${netns}: ${r.error}`);
}

export class NodeNetworks {
  private readonly host: HostNetwork;
  private readonly nets = new Map<string, NetState>();
  /** task id → its sandbox: networks it is attached to, VIP rules last written. */
  private readonly sandboxes = new Map<string, SandboxState>();
  private readonly vipDirty = new Set<string>();
  private vipTimer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    opts: { underlayAddr: string; netnsDir: string; prefix: string },
    private readonly log: Logger,
    private readonly dnsPort = 53,
  ) {
    this.host = new HostNetwork(opts);
    this.host.onWarning = (m) => this.log.warn(m);
  }

  /**
   * Applies changed network views and, when given, the node's whole set of published ports and the
   * encrypted networks' keys (serialised: they arrive in order).
   */
  apply(views: NetworkView[], removed: string[], ports: PortRule[] | null = null, keys: NetworkKeyring | null = null): Promise<void> {
    const run = this.chain.then(() => this.applyNow(views, removed, ports, keys));
    this.chain = run.catch((e: Error) => this.log.error(`networks: ${e.message}`));
    return run;
  }

  private async applyNow(views: NetworkView[], removed: string[], ports: PortRule[] | null, keys: NetworkKeyring | null): Promise<void> {
    // Keys before views: a view's first encrypted peers find their SAs ready.
    if (keys !== null) await this.host.setEncryptionKeys(keys);
    for (const v of views) {
      const spec = overlaySpec(v);
      await this.host.ensureOverlay(spec);
      await this.host.enableEgress(spec);
      await this.host.setNodeEndpoint(v.id, v.localIp ? { ip: v.localIp, mac: macForIp(v.localIp) } : null);
      await this.host.setPeers(v.id, v.peers);
      let st = this.nets.get(v.id);
      if (!st) {
        st = { view: v, dns: null };
        this.nets.set(v.id, st);
      }
      const vipsChanged = JSON.stringify(st.view.vips) !== JSON.stringify(v.vips);
      const entriesChanged = JSON.stringify(st.view.nodeEndpoints ?? []) !== JSON.stringify(v.nodeEndpoints ?? []);
      st.view = v;
      if (entriesChanged) await this.refreshMeshReturn(v.id);
      if (!st.dns) {
        const dns = new DnsServer({ listen: v.gateway, port: this.dnsPort, log: this.log.child(`dns ${v.name}`) });
        try {
          await dns.start();
          st.dns = dns;
        } catch (e) {
          this.log.warn(`DNS on ${v.gateway}: ${(e as Error).message}`);
        }
      }
      st.dns?.update(records(v));
      this.log.debug(`network ${v.name}: view applied, ${v.dns.length} names, ${v.peers.length} peers`);
      if (vipsChanged) this.scheduleVipRefresh(v.id);
    }
    this.updateDnsSources();
    if (ports !== null) await this.host.setPublishedPorts(ports);
    for (const id of removed) {
      const st = this.nets.get(id);
      this.nets.delete(id);
      await st?.dns?.close().catch(() => undefined);
      await this.host.removeOverlay(id).catch((e: Error) => this.log.warn(`removing network ${id}: ${e.message}`));
    }
  }

  /** Each network's DNS answers its containers that are on other networks too from all their tables. */
  private updateDnsSources(): void {
    for (const st of this.nets.values()) {
      if (!st.dns) continue;
      const sources = new Map<string, DnsRecordSet>();
      for (const src of st.view.dnsSources ?? []) {
        const others = src.networkIds.flatMap((id) => {
          const v = this.nets.get(id)?.view;
          return v ? [records(v)] : [];
        });
        sources.set(src.ip, mergeRecordSets([records(st.view), ...others]));
      }
      st.dns.updateSources(sources);
    }
  }

  /**
   * Backends change in bursts (a deploy starts tasks one after another) and
   * every sandbox on the network has the rules: apply the first change at once
   * and coalesce the rest of the burst into one rewrite per sandbox.
   */
  private scheduleVipRefresh(networkId: string): void {
    this.vipDirty.add(networkId);
    if (this.vipTimer) return;
    // The first change of a quiet spell is applied at once; the rest of its burst once, after it.
    const flush = () => {
      const dirty = new Set(this.vipDirty);
      this.vipDirty.clear();
      void this.refreshVips(dirty);
    };
    flush();
    this.vipTimer = setTimeout(() => {
      this.vipTimer = null;
      if (this.vipDirty.size) flush();
    }, VIP_REFRESH_MS);
  }

  /** Rewrites the VIP rules of the sandboxes on these networks whose rules changed. */
  private async refreshVips(networks: Set<string>): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const [taskId, sb] of this.sandboxes) {
      if (!sb.networks.some((n) => networks.has(n))) continue;
      jobs.push(this.writeVips(sb).catch((e: Error) => this.log.warn(`VIP rules of ${taskId.slice(0, 12)}: ${e.message}`)));
    }
    await Promise.all(jobs);
  }

  private async writeVips(sb: SandboxState): Promise<void> {
    const vips = sb.networks.flatMap((id) => this.nets.get(id)?.view.vips ?? []).filter((v) => v.backends.length > 0);
    // A new sandbox needs no table until some VIP has a backend (a fresh deploy's first tasks).
    if (sb.rules === null && vips.length === 0) return;
    const rules = vipRules(vips);
    if (rules === sb.rules) return;
    await nftIn(sb.netns, rules);
    sb.rules = rules;
  }

  /** The routing mesh's return paths of the sandboxes on the ingress network `networkId` (mesh-return.ts). */
  private async refreshMeshReturn(networkId: string): Promise<void> {
    await Promise.all(
      [...this.sandboxes].map(([taskId, sb]) => this.writeMeshReturn(taskId, sb, networkId).catch((e: Error) => this.log.warn(`mesh return paths of ${taskId.slice(0, 12)}: ${e.message}`))),
    );
  }

  private async writeMeshReturn(taskId: string, sb: SandboxState, networkId: string): Promise<void> {
    const i = sb.networks.indexOf(networkId);
    const endpoints = this.nets.get(networkId)?.view.nodeEndpoints ?? [];
    if (i < 0 || endpoints.length === 0) return;
    await this.host.setMeshReturn(taskId, `eth${i}`, endpoints);
  }

  /** A sandbox for the task attached to its networks, or null for a task without networks. */
  async prepare(task: AssignedTask, hostname: string): Promise<Sandbox | null> {
    await this.chain;
    if (task.networks.length === 0) return null;
    const netns = await this.host.createSandbox(task.id);
    try {
      let i = 0;
      for (const a of task.networks) {
        const st = this.nets.get(a.networkId);
        if (!st) throw new Error(`network ${a.networkName} is not known on this node yet`);
        const [ip] = a.address.split('/');
        await this.host.attach(task.id, overlaySpec(st.view), { ip: ip!, mac: a.mac, ifname: `eth${i}`, defaultRoute: i === 0 });
        i++;
      }
      const sb: SandboxState = { netns, networks: task.networks.map((a) => a.networkId), rules: null };
      this.sandboxes.set(task.id, sb);
      await this.writeVips(sb);
      for (const id of sb.networks) await this.writeMeshReturn(task.id, sb, id);
      const first = task.networks[0]!;
      const gateway = this.nets.get(first.networkId)!.view.gateway;
      const myIp = first.address.split('/')[0]!;
      const extra = task.spec.container.extraHosts.map((h) => {
        const at = h.lastIndexOf(':');
        return { ip: h.slice(at + 1), names: [h.slice(0, at)] };
      });
      const c = task.spec.container;
      const resolv = c.dns.length
        ? `${[...c.dns.map((d) => `nameserver ${d}`), ...(c.dnsSearch.length ? [`search ${c.dnsSearch.join(' ')}`] : [])].join('\n')}\n`
        : resolvConfFor(gateway, c.dnsSearch);
      return {
        netns,
        files: [
          { path: '/etc/resolv.conf', content: resolv },
          { path: '/etc/hosts', content: hostsFileFor([{ ip: myIp, names: [hostname] }, ...extra]) },
          { path: '/etc/hostname', content: `${hostname}\n` },
        ],
      };
    } catch (e) {
      await this.release(task.id).catch(() => undefined);
      throw e;
    }
  }

  async release(taskId: string): Promise<void> {
    this.sandboxes.delete(taskId);
    await this.host.removeSandbox(taskId);
  }

  /** Agent shutdown: stop answering DNS; leave the data plane to the containers that use it. */
  async close(): Promise<void> {
    if (this.vipTimer) clearTimeout(this.vipTimer);
    this.vipTimer = null;
    await Promise.all([...this.nets.values()].map((s) => s.dns?.close().catch(() => undefined)));
  }

  /** `tsswarm down`: remove every link, namespace and rule this agent made. */
  async destroy(): Promise<void> {
    await this.close();
    await this.host.close();
  }
}
