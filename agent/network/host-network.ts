/**
 * HostNetwork: one agent's overlay data plane on one kernel (see README.md for the picture).
 *
 * Costs, because a deploy attaches a sandbox per task: createSandbox is one addon call (a thread
 * unshares a netns and bind-mounts it, ~0.1 ms, no process); attach is one `ip` line on the host
 * (shared with every other attach in flight, see runner.ts) plus one addon call that configures
 * the sandbox side from a thread that setns()es into it. Control-plane-rate calls (ensureOverlay,
 * setPeers, enableEgress) may spawn a few processes.
 *
 * Calls on one network, and on one sandbox, are serialised; different ones run concurrently.
 */
import { isDeepStrictEqual } from 'node:util';
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { attachCommands, filterRuleset, fdbCommands, neighCommands, overlayCommands, removeOverlayCommands, VXLAN_PORT, type OverlayPresence } from './batch';
import { HostNetworkClosedError, InvalidNetworkConfigError, NetworkCommandError } from './errors';
import { inCidr, parseCidr, requireIpv4 } from './ipv4';
import { normalizeMac } from './mac';
import { macForIp } from '../../shared/net/ipv4';
import { bridgeName, isOwnLink, sandboxVethPrefix, validateIfname, validatePrefix, validateSandboxId, vethName, vxlanName } from './names';
import { desiredPeerState, diffPeers, isEmptyDiff, parseFdbJson, parseNeighJson, type PeerState } from './peers';
import { localnetBridges, nodeEndpointCommands, portsRuleset, validatePublishedPorts, type NodeEndpoint, type PublishedPort } from './ports';
import { meshReturnNft, meshReturnRoutes } from './mesh-return';
import { BatchRunner } from './runner';
import { nativeNetSys, type NetSys } from './sys';
import type { AttachSpec, Endpoint, HostNetworkOptions, OverlaySpec } from './types';
import type { NetworkKeyring } from '../../shared/network-keys';
import { espHelperPath } from '../runtime/native';
import { EspDatapath } from './encryption/datapath';
import type { EspStats } from './encryption/helper';

export type { NodeEndpoint, PublishedPort } from './ports';

type State = 'open' | 'closing' | 'closed';

/** `ip` and `bridge` say this when what a delete targets is already gone. */
const GONE = /Cannot find device|No such file or directory|No such device|not found/i;

interface SandboxRecord {
  path: string;
  /** network id → host end of the veth. */
  veths: Map<string, string>;
  /** The routing mesh's return paths as last written (setMeshReturn), or null. */
  mesh?: { ifname: string; endpoints: string[] } | null;
}

interface LinkRow {
  ifname: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

export function validateOverlaySpec(spec: OverlaySpec): void {
  const bad = (field: string, why: string): never => {
    throw new InvalidNetworkConfigError(`network ${JSON.stringify(spec.id)}: ${why}`, field);
  };
  if (spec.id === '' || /[\s\0]/.test(spec.id)) bad('id', 'empty id or whitespace in it');
  if (!Number.isInteger(spec.vni) || spec.vni < 1 || spec.vni > 0xffffff) bad('vni', `VNI ${spec.vni} outside 1..16777215`);
  if (!Number.isInteger(spec.mtu) || spec.mtu < 576 || spec.mtu > 65535) bad('mtu', `MTU ${spec.mtu} outside 576..65535`);
  if (typeof spec.encrypted !== 'boolean') bad('encrypted', 'encrypted must be true or false');
  const cidr = parseCidr(spec.subnet, 'subnet');
  if (!inCidr(requireIpv4(spec.gateway, 'gateway'), cidr)) bad('gateway', `gateway ${spec.gateway} not in ${spec.subnet}`);
}

export class HostNetwork {
  private readonly sys: NetSys;
  private readonly ip: BatchRunner;
  private readonly bridge: BatchRunner;
  private readonly overlays = new Map<string, OverlaySpec>();
  /** Per network, what the VXLAN device holds for remote endpoints (read from the kernel once). */
  private readonly peers = new Map<string, PeerState>();
  /** Networks with egress NAT (enableEgress). */
  private readonly egress = new Set<string>();
  /**
   * Per network, this node's own endpoint on it as last set (setNodeEndpoint; null: none), which a
   * recreated bridge gets back. Absent while unknown: the next setNodeEndpoint then looks at the bridge.
   */
  private readonly endpoints = new Map<string, NodeEndpoint | null>();
  /** The published ports as last asked for, and as last written to the kernel (null: unknown). */
  private ports: PublishedPort[] = [];
  private appliedPorts: PublishedPort[] | null = [];
  private readonly sandboxes = new Map<string, SandboxRecord>();
  /** Per network, the underlay addresses of its remote endpoints as last asked for (setPeers). */
  private readonly remoteHosts = new Map<string, Set<string>>();
  /** The encrypted networks' keys as last given (setEncryptionKeys); null until then. */
  private keyring: NetworkKeyring | null = null;
  private readonly esp: EspDatapath;
  private espRetry: NodeJS.Timeout | null = null;
  private readonly tails = new Map<string, Promise<unknown>>();
  private state: State = 'open';
  /** close() removes netnsDir only when this instance made it. */
  private madeNetnsDir = false;
  private readonly underlayAddr: string;
  private readonly netnsDir: string;
  private readonly prefix: string;

  constructor(opts: HostNetworkOptions, sys: NetSys = nativeNetSys()) {
    validatePrefix(opts.prefix);
    requireIpv4(opts.underlayAddr, 'underlayAddr');
    if (!isAbsolute(opts.netnsDir)) throw new InvalidNetworkConfigError(`netnsDir ${opts.netnsDir} must be absolute`, 'netnsDir');
    this.underlayAddr = opts.underlayAddr;
    this.netnsDir = opts.netnsDir;
    this.prefix = opts.prefix;
    this.sys = sys;
    this.ip = new BatchRunner(sys, ['ip', '-force', '-batch', '-']);
    this.bridge = new BatchRunner(sys, ['bridge', '-force', '-batch', '-']);
    this.esp = new EspDatapath(
      { prefix: opts.prefix, underlayAddr: opts.underlayAddr, dir: `${opts.netnsDir}-esp`, helperBin: espHelperPath },
      sys,
      this.ip,
      // The helper went away: start another (after a pause, should it keep dying).
      () => this.retryEncryptionSoon(),
      (m) => this.warn(m),
    );
  }

  /** Where warnings of work done in the background go (the agent gives its logger). */
  onWarning: (message: string) => void = (m) => process.stderr.write(`host network: ${m}\n`);

  private warn(message: string): void {
    this.onWarning(message);
  }

  /** Processes spawned so far by the batch runners (benchmarks report it). */
  get spawnCount(): number {
    return this.ip.spawns + this.bridge.spawns;
  }

  /** Path of a sandbox's netns file: what ContainerConfig.netns gets. */
  sandboxPath(id: string): string {
    validateSandboxId(id);
    return join(this.netnsDir, id);
  }

  async ensureOverlay(spec: OverlaySpec): Promise<void> {
    this.assertOpen();
    validateOverlaySpec(spec);
    return this.serial(`net:${spec.id}`, async () => {
      const known = this.overlays.get(spec.id);
      if (known !== undefined && isDeepStrictEqual(known, spec)) return;
      const found = await this.overlayPresence(spec);
      await this.ip.run(overlayCommands(this.prefix, this.underlayAddr, spec, found));
      const wasEncrypted = known?.encrypted === true;
      this.overlays.set(spec.id, { ...spec });
      // A recreated VXLAN device has lost its FDB and neighbour entries.
      if (found.vxlanStale || !found.vxlan) this.peers.set(spec.id, { fdb: new Map(), neigh: new Map() });
      // A new bridge has the gateway's MAC and no endpoint address: put a known endpoint back.
      const ep = this.endpoints.get(spec.id);
      if (ep != null && !found.bridge) {
        if (inCidr(requireIpv4(ep.ip, 'ip'), parseCidr(spec.subnet, 'subnet')) && ep.ip !== spec.gateway) {
          await this.ip.run(nodeEndpointCommands(this.prefix, spec, ep, [], macForIp(spec.gateway)));
        } else {
          this.endpoints.delete(spec.id);
        }
      }
      // The nft fence of an encrypted network is in place before any peer entry can send to it.
      await this.writeRuleset();
      if (spec.encrypted || wasEncrypted) await this.syncEncryption();
    });
  }

  private async overlayPresence(spec: OverlaySpec): Promise<OverlayPresence> {
    const br = bridgeName(this.prefix, spec.id);
    const vx = vxlanName(this.prefix, spec.id);
    const links = await this.listLinks(true);
    const bridge = links.find((l) => l.ifname === br);
    if (bridge !== undefined && bridge.linkinfo?.info_kind !== 'bridge') {
      throw new InvalidNetworkConfigError(`link ${br} exists and is not a bridge`, 'id');
    }
    const vxlan = links.find((l) => l.ifname === vx);
    const data = vxlan?.linkinfo?.info_data;
    const right =
      vxlan?.linkinfo?.info_kind === 'vxlan' && data?.['id'] === spec.vni && data['local'] === this.underlayAddr && data['port'] === VXLAN_PORT;
    return { bridge: bridge !== undefined, vxlan: right, vxlanStale: vxlan !== undefined && !right };
  }

  private async listLinks(details: boolean): Promise<LinkRow[]> {
    const r = await this.sys.exec(details ? ['ip', '-j', '-d', 'link', 'show'] : ['ip', '-j', 'link', 'show'], '');
    if (r.code !== 0) throw new NetworkCommandError('ip', [{ command: 'link show', message: r.stderr.trim() }]);
    const rows: unknown = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout);
    return Array.isArray(rows) ? rows.filter((x): x is LinkRow => typeof x === 'object' && x !== null && typeof (x as LinkRow).ifname === 'string') : [];
  }

  /** Deletes the network's VXLAN device and bridge (veths still on it go down with the bridge port). */
  async removeOverlay(id: string): Promise<void> {
    this.assertOpen();
    return this.serial(`net:${id}`, async () => {
      this.egress.delete(id);
      this.endpoints.delete(id);
      const encrypted = this.overlays.get(id)?.encrypted === true;
      const had = this.overlays.delete(id);
      this.remoteHosts.delete(id);
      if (had) await this.writeRuleset();
      await this.ip.run(removeOverlayCommands(this.prefix, id), GONE);
      this.peers.delete(id);
      if (encrypted) await this.syncEncryption();
    });
  }

  /** A new network namespace with lo up, as the file `<netnsDir>/<id>`; returns that path. */
  async createSandbox(id: string): Promise<string> {
    this.assertOpen();
    const path = this.sandboxPath(id);
    return this.serial(`sb:${id}`, async () => {
      if (mkdirSync(this.netnsDir, { recursive: true, mode: 0o755 }) !== undefined) this.madeNetnsDir = true;
      this.sys.netnsCreate(path);
      this.sandboxes.set(id, { path, veths: new Map() });
      return path;
    });
  }

  /** A veth from the network's bridge into the sandbox, named, addressed and routed as `ep` says. */
  async attach(sandboxId: string, net: OverlaySpec, ep: AttachSpec): Promise<void> {
    this.assertOpen();
    validateOverlaySpec(net);
    validateIfname(ep.ifname);
    const mac = normalizeMac(ep.mac, 'mac');
    const cidr = parseCidr(net.subnet, 'subnet');
    if (!inCidr(requireIpv4(ep.ip, 'ip'), cidr)) throw new InvalidNetworkConfigError(`${ep.ip} is not in ${net.subnet}`, 'ip');
    if (ep.ip === net.gateway) throw new InvalidNetworkConfigError(`${ep.ip} is the gateway of ${net.id}`, 'ip');
    const path = this.sandboxPath(sandboxId);
    return this.serial(`sb:${sandboxId}`, async () => {
      await this.ip.run(attachCommands(this.prefix, sandboxId, path, net, { ...ep, mac }));
      const record = this.sandboxes.get(sandboxId) ?? { path, veths: new Map<string, string>() };
      record.veths.set(net.id, vethName(this.prefix, sandboxId, ep.ifname));
      this.sandboxes.set(sandboxId, record);
      this.sys.netnsConfigureIpv4(path, ep.ifname, ep.ip, cidr.prefixLen, ep.defaultRoute ? net.gateway : null);
    });
  }

  /**
   * The routing mesh's return paths in a sandbox on the ingress network (mesh-return.ts): replies
   * to a connection that came in through a node's published port leave through that node, so the
   * task sees the client's own address. `endpoints`: every node's address on the ingress network
   * (this node's too), the whole set each time.
   */
  async setMeshReturn(sandboxId: string, ifname: string, endpoints: readonly string[]): Promise<void> {
    this.assertOpen();
    validateIfname(ifname);
    for (const e of endpoints) requireIpv4(e, 'endpoint');
    const next = [...new Set(endpoints)].sort();
    return this.serial(`sb:${sandboxId}`, async () => {
      const record = this.sandboxes.get(sandboxId);
      if (!record) throw new InvalidNetworkConfigError(`no sandbox ${sandboxId}`, 'sandboxId');
      const cur = record.mesh ?? null;
      if (cur !== null && cur.ifname === ifname && isDeepStrictEqual(cur.endpoints, next)) return;
      const before = cur !== null && cur.ifname === ifname ? cur.endpoints : [];
      const r = await this.sys.nftIn(record.path, meshReturnNft(ifname, next));
      if (!r.ok) throw new NetworkCommandError('nft', [{ command: `nft -f - in ${record.path}`, message: r.error }]);
      // rp_filter loose on the interface (the first time), then the rules and tables, in one process.
      const lines = meshReturnRoutes(ifname, before, next);
      const script = `${cur === null ? `echo 2 > /proc/sys/net/ipv4/conf/${ifname}/rp_filter && ` : ''}exec ip -force -batch -`;
      const out = await this.sys.exec(['nsenter', `--net=${record.path}`, 'sh', '-c', script], `${lines.join('\n')}\n`);
      if (out.code !== 0) throw new NetworkCommandError('ip', [{ command: `ip -batch in ${record.path}`, message: out.stderr.trim() }]);
      record.mesh = { ifname, endpoints: next };
    });
  }

  /**
   * Deletes the sandbox's veths and its netns file. The namespace itself lives on while a process
   * (a container not yet reaped) is still in it, but with no link to any network.
   */
  async removeSandbox(id: string): Promise<void> {
    this.assertOpen();
    const path = this.sandboxPath(id);
    return this.serial(`sb:${id}`, () => this.removeSandboxNow(id, path));
  }

  private async removeSandboxNow(id: string, path: string): Promise<void> {
    const record = this.sandboxes.get(id);
    let veths: string[];
    if (record !== undefined) {
      veths = [...record.veths.values()];
    } else {
      // Not created by this instance (agent restart): find its veths by their shared name prefix.
      const head = sandboxVethPrefix(this.prefix, id);
      veths = (await this.listLinks(false)).map((l) => l.ifname.split('@')[0] ?? '').filter((n) => n.startsWith(head) && isOwnLink(this.prefix, n));
    }
    await this.ip.run(veths.map((v) => `link del ${v}`), GONE);
    this.sys.netnsRemove(path);
    this.sandboxes.delete(id);
  }

  /**
   * Makes the network's VXLAN device hold exactly `remote` (endpoints on other hosts): FDB entries
   * MAC → host and permanent neighbour entries IP → MAC. Level-based: pass the full set each time.
   */
  async setPeers(networkId: string, remote: readonly Endpoint[]): Promise<void> {
    this.assertOpen();
    const desired = desiredPeerState(remote);
    return this.serial(`net:${networkId}`, async () => {
      const hosts = new Set(desired.fdb.values());
      const hostsChanged = !isDeepStrictEqual(hosts, this.remoteHosts.get(networkId) ?? new Set());
      this.remoteHosts.set(networkId, hosts);
      // SAs for a new host before its FDB entries: its first frames go out sealed, not dropped.
      if (hostsChanged && this.overlays.get(networkId)?.encrypted === true) await this.syncEncryption();
      const vx = vxlanName(this.prefix, networkId);
      const current = this.peers.get(networkId) ?? (await this.readPeers(vx));
      const diff = diffPeers(current, desired);
      if (isEmptyDiff(diff)) {
        this.peers.set(networkId, current);
        return;
      }
      // Forget the cache first: if a batch fails half-way the next call re-reads the kernel.
      this.peers.delete(networkId);
      await Promise.all([this.bridge.run(fdbCommands(vx, diff), GONE), this.ip.run(neighCommands(vx, diff), GONE)]);
      this.peers.set(networkId, desired);
    });
  }

  /**
   * The keys of the encrypted networks (the cluster's ring; an empty ring: none). Until keys are
   * given, an encrypted network reaches no other host: its traffic is dropped, never sent plain.
   */
  async setEncryptionKeys(ring: NetworkKeyring): Promise<void> {
    this.assertOpen();
    this.keyring = { primary: ring.primary, keys: ring.keys.map((k) => ({ tag: k.tag, key: Buffer.from(k.key) })) };
    if ([...this.overlays.values()].some((o) => o.encrypted)) await this.syncEncryption();
  }

  /** The ESP data path's packet counters (tests, benchmarks), or null when no network here is encrypted. */
  async encryptionStats(): Promise<EspStats | null> {
    this.assertOpen();
    return this.serial('esp', () => this.esp.stats());
  }

  /**
   * Makes the ESP data path match the encrypted overlays here: routing and helper while there is
   * one, SAs with every host their endpoints live on. Serialised on its own key, and computed when
   * it runs, so the last one applied has the latest overlays, peers and keys.
   */
  private syncEncryption(): Promise<void> {
    return this.serial('esp', async () => {
      if (this.state !== 'open') return;
      const encrypted = [...this.overlays.values()].filter((o) => o.encrypted);
      const remotes = new Set<string>();
      let known = true;
      for (const o of encrypted) {
        const hosts = this.remoteHosts.get(o.id);
        if (hosts === undefined) known = false;
        for (const h of hosts ?? []) remotes.add(h);
      }
      await this.esp.apply({ active: encrypted.length > 0, remotes: known ? [...remotes].sort() : null, ring: this.keyring });
    }).catch((e: Error) => {
      // Not the caller's failure: its network is set up and fenced in (an encrypted network that
      // cannot encrypt sends nothing); the ESP data path is tried again on its own.
      this.warn(`encrypted networks: ${e.message}; trying again`);
      this.retryEncryptionSoon();
    });
  }

  private retryEncryptionSoon(): void {
    if (this.state !== 'open' || this.espRetry !== null) return;
    this.espRetry = setTimeout(() => {
      this.espRetry = null;
      void this.syncEncryption();
    }, 1000);
    this.espRetry.unref();
  }

  private async readPeers(vxlan: string): Promise<PeerState> {
    const [fdb, neigh] = await Promise.all([
      this.sys.exec(['bridge', '-j', 'fdb', 'show', 'dev', vxlan], ''),
      this.sys.exec(['ip', '-j', 'neigh', 'show', 'dev', vxlan], ''),
    ]);
    if (fdb.code !== 0 || neigh.code !== 0) {
      throw new NetworkCommandError('bridge/ip', [{ command: `show dev ${vxlan}`, message: `${fdb.stderr.trim()} ${neigh.stderr.trim()}`.trim() }]);
    }
    return { fdb: parseFdbJson(fdb.stdout), neigh: parseNeighJson(neigh.stdout) };
  }

  /**
   * NAT to the outside for the network's subnet (see filterRuleset), and IP forwarding on. The
   * network must have been ensured on this host first.
   */
  async enableEgress(spec: OverlaySpec): Promise<void> {
    this.assertOpen();
    validateOverlaySpec(spec);
    return this.serial(`net:${spec.id}`, async () => {
      if (!this.overlays.has(spec.id)) throw new InvalidNetworkConfigError(`network ${spec.id} is not set up on this host`, 'id');
      // Views arrive many times a second during a deploy: nothing to do when it is on already.
      if (this.egress.has(spec.id)) return;
      // Per network namespace, like every net.* sysctl: this agent's host namespace.
      this.sys.writeSysctl('/proc/sys/net/ipv4/ip_forward', '1');
      this.egress.add(spec.id);
      await this.writeRuleset();
    });
  }

  /**
   * This node's own endpoint on a network (used on the cluster's ingress network): a second address
   * on the network's bridge, and the bridge's MAC set to `ep.mac`, so that other hosts' static
   * neighbour/FDB entries for this node (they get it as a peer) reach it. `null` removes it (the
   * bridge gets the gateway's MAC back). Level-based: any other address on the bridge but the
   * gateway's is removed. Sandboxes attached before the MAC changes keep the gateway's old MAC in
   * their neighbour cache until it goes stale, so set it before attaching tasks.
   */
  async setNodeEndpoint(networkId: string, ep: NodeEndpoint | null): Promise<void> {
    this.assertOpen();
    if (ep !== null) requireIpv4(ep.ip, 'ip');
    const want = ep === null ? null : { ip: ep.ip, mac: normalizeMac(ep.mac, 'mac') };
    return this.serial(`net:${networkId}`, async () => {
      const spec = this.overlays.get(networkId);
      if (spec === undefined) throw new InvalidNetworkConfigError(`network ${networkId} is not set up on this host`, 'id');
      if (want !== null) {
        if (!inCidr(requireIpv4(want.ip, 'ip'), parseCidr(spec.subnet, 'subnet'))) throw new InvalidNetworkConfigError(`${want.ip} is not in ${spec.subnet}`, 'ip');
        if (want.ip === spec.gateway) throw new InvalidNetworkConfigError(`${want.ip} is the gateway of ${spec.id}`, 'ip');
      }
      // Views arrive many times a second during a deploy: nothing to do when the bridge has it already.
      const applied = this.endpoints.get(networkId);
      if (applied !== undefined && isDeepStrictEqual(applied, want)) return;
      // Forget first: if the batch fails half-way the record does not claim what is not there.
      this.endpoints.delete(networkId);
      const current = await this.bridgeAddrs(bridgeName(this.prefix, networkId));
      await this.ip.run(nodeEndpointCommands(this.prefix, spec, want, current, macForIp(spec.gateway)), GONE);
      this.endpoints.set(networkId, want);
    });
  }

  /** The bridge's IPv4 addresses as `a.b.c.d/len`. */
  private async bridgeAddrs(br: string): Promise<string[]> {
    const r = await this.sys.exec(['ip', '-j', '-4', 'addr', 'show', 'dev', br], '');
    if (r.code !== 0) throw new NetworkCommandError('ip', [{ command: `addr show dev ${br}`, message: r.stderr.trim() }]);
    const rows: unknown = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout);
    const out: string[] = [];
    if (!Array.isArray(rows)) return out;
    for (const row of rows as Array<{ addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }> }>) {
      for (const a of row.addr_info ?? []) if (a.family === 'inet' && typeof a.local === 'string' && typeof a.prefixlen === 'number') out.push(`${a.local}/${a.prefixlen}`);
    }
    return out;
  }

  /**
   * Makes the host publish exactly `ports` (see ports.ts for the rules): DNAT from every local
   * address, 127.0.0.1 included, round robin over the backends; ingress ports SNAT to this node's
   * endpoint on the backends' network, host-mode ports do not (but from a loopback source). The
   * whole table is rewritten in one transaction; the same set again is a no-op. Turns IP
   * forwarding on when there is a port, and route_localnet on the backends' bridges (writeRuleset).
   */
  async setPublishedPorts(ports: readonly PublishedPort[]): Promise<void> {
    this.assertOpen();
    validatePublishedPorts(ports, this.overlays);
    const next = ports.map((p) => ({
      protocol: p.protocol,
      published: p.published,
      backends: p.backends.map((b) => ({ ip: b.ip, port: b.port })),
      snat: p.snat === null ? null : { networkId: p.snat.networkId, ip: p.snat.ip },
    }));
    if (isDeepStrictEqual(next, this.ports) && isDeepStrictEqual(next, this.appliedPorts)) return;
    if (next.length > 0) this.sys.writeSysctl('/proc/sys/net/ipv4/ip_forward', '1');
    this.ports = next;
    await this.writeRuleset();
  }

  private writeRuleset(): Promise<void> {
    // All networks share one table: serialised on its own key so that rewrites never interleave,
    // and built when it runs so that the last one written has every network's latest state.
    return this.serial('nft', async () => {
      const overlays = [...this.overlays.values()];
      const ports = this.ports;
      const text = filterRuleset(this.prefix, overlays, this.egress) + portsRuleset(this.prefix, overlays, ports);
      const localnet = new Set(localnetBridges(this.prefix, overlays, ports));
      const bridges = overlays.map((o) => bridgeName(this.prefix, o.id));
      this.appliedPorts = null;
      // route_localnet is on only where the table's ports_localnet guard stands: off before a
      // rewrite can take the guard away, on once it is there. Level-based (every bridge each time:
      // a recreated bridge, or one left on by an earlier run, is set right).
      for (const br of bridges) if (!localnet.has(br)) this.setRouteLocalnet(br, false);
      const r = await this.sys.nft(text);
      if (!r.ok) throw new NetworkCommandError('nft', [{ command: 'nft -f -', message: r.error }]);
      for (const br of localnet) this.setRouteLocalnet(br, true);
      this.appliedPorts = ports;
    });
  }

  /**
   * `net.ipv4.conf.<bridge>.route_localnet` in the agent's netns (per device, so it goes with the
   * bridge): lets 127.0.0.1:<published> be DNATed out through it (see ports.ts). A bridge already
   * gone (removeOverlay racing a rewrite) has nothing to set.
   */
  private setRouteLocalnet(br: string, on: boolean): void {
    try {
      this.sys.writeSysctl(`/proc/sys/net/ipv4/conf/${br}/route_localnet`, on ? '1' : '0');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /**
   * Removes everything of this agent's: every sandbox file under netnsDir, every link its prefix
   * names (also those of an earlier run of the same agent), the nft table. Idempotent.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closing';
    await Promise.allSettled([...this.tails.values()]);
    const problems: unknown[] = [];
    const attempt = async (f: () => Promise<void> | void): Promise<void> => {
      try {
        await f();
      } catch (e) {
        problems.push(e);
      }
    };
    // The ESP helper first: while it and its TUN device are gone and the nft fence still stands,
    // nothing of an encrypted network can leave in the clear.
    if (this.espRetry !== null) clearTimeout(this.espRetry);
    this.espRetry = null;
    await attempt(() => this.esp.close());
    // Before the table (and its loopback guard) goes, should a bridge outlive a failed delete.
    await attempt(() => {
      for (const o of this.overlays.values()) this.setRouteLocalnet(bridgeName(this.prefix, o.id), false);
    });
    await attempt(async () => {
      const own = (await this.listLinks(false)).map((l) => l.ifname.split('@')[0] ?? '').filter((n) => isOwnLink(this.prefix, n));
      // Veths first, then VXLAN devices, then bridges: each delete finds what it names.
      const order = (n: string): number => 'vxb'.indexOf(n.charAt(this.prefix.length));
      own.sort((a, b) => order(a) - order(b));
      await this.ip.run(own.map((n) => `link del ${n}`), GONE);
    });
    await attempt(async () => {
      const r = await this.sys.nft(filterRuleset(this.prefix, [], new Set()));
      if (!r.ok) throw new NetworkCommandError('nft', [{ command: 'delete table', message: r.error }]);
    });
    await attempt(() => {
      let names: string[] = [];
      try {
        names = readdirSync(this.netnsDir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      for (const n of names) this.sys.netnsRemove(join(this.netnsDir, n));
      if (this.madeNetnsDir) rmdirSync(this.netnsDir);
    });
    this.overlays.clear();
    this.peers.clear();
    this.egress.clear();
    this.endpoints.clear();
    this.ports = [];
    this.appliedPorts = [];
    this.sandboxes.clear();
    this.remoteHosts.clear();
    this.keyring = null;
    this.state = 'closed';
    if (problems.length > 0) throw new AggregateError(problems, `closing host network ${this.prefix}: ${problems.map(String).join('; ')}`);
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new HostNetworkClosedError(`host network ${this.prefix} is ${this.state}`);
  }

  /** Runs fn after every earlier call with the same key has settled. */
  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
