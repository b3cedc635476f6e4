/**
 * The top-level `networks:` mapping → StackNetworks. Overlay only; `driver_opts.encrypted` turns
 * on encryption; the predefined `host` network (`{external: true, name: host}`) is recognised so
 * services can join their host's network namespace instead (service-networks.ts).
 */
import { NAMESPACE_LABEL } from '../task-spec';
import type { NetworkSpec, StackNetwork } from '../types';
import { invalidSubnetReason, subnetRange } from './addresses';
import type { TreeEntry, TreeNode } from './parse';
import type { Reader } from './reader';
import { IPAM, IPAM_CONFIG, NETWORK, classifyKey } from './schema';
import { describe, isNull } from './tree';

/** The label docker puts on every object of a stack; `docker stack ls/rm` find them by it. */
export { NAMESPACE_LABEL };
/** The network services join when they name none, created for the stack when the file does not define it. */
export const DEFAULT_NETWORK = 'default';
/** Docker's predefined network of the host's own namespace: never created, never an overlay. */
export const HOST_NETWORK = 'host';

/** Keys of the top-level `networks:` mapping, as the compose schema allows them. */
const NETWORK_KEY = /^[a-zA-Z0-9._-]+$/;
/** Full network names (`name:`): they become labels in the cluster and in `network ls`. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * The networks of the top-level `networks:` by key. A key whose definition is
 * broken maps to null: it was reported already, so services naming it must
 * not add "undefined network" errors.
 */
export type NetworkTable = ReadonlyMap<string, StackNetwork | null>;

export function isHostNetwork(n: StackNetwork): boolean {
  return n.external && n.spec.name === HOST_NETWORK;
}

/** A network the stack creates: the namespace label marks it as the stack's, as docker does. */
export function stackNetworkSpec(name: string, stack: string, subnet: string | null = null, attachable = false, labels: Record<string, string> = {}, encrypted = false): NetworkSpec {
  return { name, stack, driver: 'overlay', subnet, attachable, labels: { ...labels, [NAMESPACE_LABEL]: stack }, encrypted };
}

export function networkTable(r: Reader, entry: TreeEntry | undefined, stack: string): Map<string, StackNetwork | null> {
  const out = new Map<string, StackNetwork | null>();
  if (!entry || isNull(entry.value)) return out;
  if (entry.value.kind !== 'map') {
    r.problem('networks', `must be a mapping of network names to networks, got ${describe(entry.value)}`, entry.keyLine);
    return out;
  }
  const names = new Map<string, string>();
  const subnets: { key: string; subnet: string; first: number; last: number }[] = [];
  for (const e of entry.value.entries) {
    const network = readNetwork(r, e, stack);
    out.set(e.key, network);
    if (network === null || network.external) continue;
    // Two keys naming one network would deploy whichever definition came last.
    const owner = names.get(network.spec.name);
    if (owner !== undefined) {
      r.problem(`networks.${e.key}`, `network name ${JSON.stringify(network.spec.name)} is already used by networks.${owner}`, e.keyLine);
    }
    names.set(network.spec.name, e.key);
    const range = network.spec.subnet === null ? null : subnetRange(network.spec.subnet);
    if (network.spec.subnet === null || range === null) continue;
    const clash = subnets.find((s) => s.first <= range.last && range.first <= s.last);
    if (clash) {
      r.problem(`networks.${e.key}`, `subnet ${network.spec.subnet} overlaps ${clash.subnet} of networks.${clash.key}`, e.keyLine);
    }
    subnets.push({ key: e.key, subnet: network.spec.subnet, ...range });
  }
  return out;
}

/** null when the definition has problems (they are recorded). */
function readNetwork(r: Reader, entry: TreeEntry, stack: string): StackNetwork | null {
  const key = entry.key;
  const path = `networks.${key}`;
  const before = r.count;
  if (!NETWORK_KEY.test(key)) {
    r.problem(path, 'invalid network name: use letters, digits, ".", "_" and "-"', entry.keyLine);
  }
  const node = entry.value;
  if (isNull(node)) {
    // `backend:` with nothing: a stack network with every default.
    return r.count > before ? null : { key, external: false, spec: stackNetworkSpec(`${stack}_${key}`, stack) };
  }
  if (node.kind !== 'map') {
    r.problem(path, `must be a mapping, got ${describe(node)}`, entry.keyLine);
    return null;
  }
  const f = r.fields(node, NETWORK, path, r.ignoredNetwork);

  const ext = r.external(f.entry('external'), `${path}.external`);
  if (ext.external) {
    // As compose: an external network is only looked up, so settings for creating it are mistakes.
    for (const e of node.entries) {
      const kind = classifyKey(NETWORK, e.key);
      if (e.key === 'external' || e.key === 'name' || kind === 'extension' || kind === 'unknown') continue;
      r.problem(`${path}.${e.key}`, `conflicting parameters "external" and "${e.key}" specified`, e.keyLine);
    }
  }

  let name = ext.external ? (ext.name ?? key) : `${stack}_${key}`;
  const nameNode = f.get('name');
  const given = nameNode ? r.string(nameNode, `${path}.name`) : null;
  if (given !== null && nameNode) {
    if (ext.name !== null) r.problem(`${path}.name`, 'external.name and name conflict; only use name', nameNode.line);
    else if (NETWORK_NAME.test(given)) name = given;
    else r.problem(`${path}.name`, `invalid network name ${JSON.stringify(given)}: use letters, digits, ".", "_" and "-", starting with a letter or digit`, nameNode.line);
  }

  const driverNode = f.get('driver');
  const driver = driverNode ? r.string(driverNode, `${path}.driver`) : null;
  if (driverNode && driver !== null && driver !== 'overlay') {
    r.problem(`${path}.driver`, `only the overlay driver is supported, got ${JSON.stringify(driver)}`, driverNode.line);
  }
  const attachable = r.boolean(f.get('attachable'), `${path}.attachable`) ?? false;
  const subnet = ipamSubnet(r, f.get('ipam'), `${path}.ipam`);
  const labels = r.labels(f.get('labels'), `${path}.labels`);
  const encrypted = driverOpts(r, f.get('driver_opts'), `${path}.driver_opts`);

  if (r.count > before) return null;
  if (ext.external) {
    return { key, external: true, spec: { name, stack: null, driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false } };
  }
  return { key, external: false, spec: stackNetworkSpec(name, stack, subnet, attachable, labels, encrypted) };
}

/**
 * `driver_opts` of an overlay network; returns whether it is encrypted. As in Docker, the key
 * `encrypted` with any value (`""`, `"true"`, none at all) turns encryption on. Docker's other
 * overlay options (`com.docker.network.driver.mtu`, ...) are ignored with a warning.
 */
function driverOpts(r: Reader, node: TreeNode | null, path: string): boolean {
  if (node === null) return false;
  if (node.kind !== 'map') {
    r.problem(path, `must be a mapping of option names to values, got ${describe(node)}`, node.line);
    return false;
  }
  let encrypted = false;
  for (const e of node.entries) {
    if (e.value.kind !== 'scalar') {
      r.problem(`${path}.${e.key}`, `must be a string, number, boolean or null, got ${describe(e.value)}`, e.keyLine);
    } else if (e.key === 'encrypted') {
      encrypted = true;
    } else {
      r.ignoredNetwork.add(`driver_opts.${e.key}`);
    }
  }
  return encrypted;
}

/** `ipam: { driver: default, config: [ { subnet: 10.0.9.0/24 } ] }`: Docker's own IPAM, at most one subnet, IPv4. */
function ipamSubnet(r: Reader, node: TreeNode | null, path: string): string | null {
  const map = r.mapping(node, path);
  if (map === null) return null;
  const f = r.fields(map, IPAM, path, r.ignoredNetwork, 'ipam.');
  const driverNode = f.get('driver');
  const driver = driverNode ? r.string(driverNode, `${path}.driver`) : null;
  if (driverNode && driver !== null && driver !== 'default') {
    r.problem(`${path}.driver`, `only the default IPAM driver is supported, got ${JSON.stringify(driver)}`, driverNode.line);
  }
  const config = f.entry('config');
  if (!config) return null;
  const configPath = `${path}.config`;
  if (config.value.kind !== 'seq') {
    r.problem(configPath, `must be a list, got ${describe(config.value)}`, config.keyLine);
    return null;
  }
  if (config.value.items.length > 1) {
    r.problem(configPath, `at most one subnet is supported, got ${config.value.items.length} entries`, config.keyLine);
    return null;
  }
  const item = config.value.items[0];
  if (item === undefined || isNull(item)) return null;
  const itemPath = `${configPath}[0]`;
  if (item.kind !== 'map') {
    r.problem(itemPath, `must be a mapping, got ${describe(item)}`, item.line);
    return null;
  }
  const itemFields = r.fields(item, IPAM_CONFIG, itemPath, r.ignoredNetwork, 'ipam.config.');
  const subnetEntry = itemFields.entry('subnet');
  if (!subnetEntry) return null;
  const subnet = r.string(subnetEntry.value, `${itemPath}.subnet`);
  if (subnet === null) return null;
  const reason = invalidSubnetReason(subnet);
  if (reason !== null) {
    r.problem(`${itemPath}.subnet`, `invalid subnet ${JSON.stringify(subnet)}: ${reason}`, subnetEntry.keyLine);
    return null;
  }
  return subnet;
}
