/**
 * tsswarm's stored objects as Docker's Engine API shows them (object-types.ts), and Docker's
 * create / update bodies as tsswarm's requests. Pure: the routes read the store, call these, and
 * write. Docker's `Version.Index` is the record's etcd mod revision, which is what a Docker client
 * sends back as `?version=` on an update.
 *
 * What Docker can ask and tsswarm cannot do is refused here with a one-line InvalidArgumentError,
 * never silently dropped: a `docker network create -d bridge` that "works" but makes an overlay
 * would be worse than a clear no.
 */
import type { NodeUpdateRequest } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { gatewayOf, parseCidr } from '../../shared/net/ipv4';
import { NAMESPACE_LABEL } from '../../shared/task-spec';
import type { BlobSpec, ClusterNode, Network, NetworkSpec, NodeState, StoredBlob } from '../../shared/types';
import type { Versioned } from '../store/store';
import type {
  DockerConfig,
  DockerEndpointResource,
  DockerGenericResource,
  DockerNetwork,
  DockerNode,
  DockerNodeState,
  DockerPluginDescription,
  DockerSecret,
  DockerVersion,
} from './object-types';

/** The option Docker's overlay driver reads the VXLAN id from; `network inspect` shows it. */
export const VXLAN_ID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';
/** `docker network create --opt encrypted` (any value, as Docker's overlay driver reads it). */
export const ENCRYPTED_OPTION = 'encrypted';
/** Docker's managers listen for each other here; the default when a manager's address is unknown. */
export const SWARM_MANAGER_PORT = 2377;

/** What a node's engine offers, as `docker node inspect` lists it: the drivers tsswarm has. */
const ENGINE_PLUGINS: readonly DockerPluginDescription[] = [
  { Type: 'Network', Name: 'overlay' },
  { Type: 'Volume', Name: 'local' },
];

const version = (modRevision: string): DockerVersion => ({ Index: Number(modRevision) });

// ---------------------------------------------------------------------------------------------
// Nodes

export interface DockerNodeOptions {
  /** The node the leading manager runs beside. */
  leaderNodeId: string | null;
  /** Nodes whose manager is alive (has its record under its lease). */
  liveManagerNodes: Set<string>;
  engineVersion: string;
  /** The manager's address (host:port) as other managers reach it, or null when unknown. */
  managerAddr: (nodeId: string) => string | null;
}

/**
 * tsswarm records the architecture under Docker's image names (`amd64`, shared/oci.ts), but a
 * Docker node reports its engine's `uname -m` (dockerd's info.Architecture): `x86_64`, `aarch64`.
 * Tools compare against what dockerd shows, so show that.
 */
export function dockerNodeArchitecture(arch: string): string {
  switch (arch) {
    case 'amd64':
    case 'x64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case '386':
    case 'ia32':
      return 'i686';
    case 'arm':
      return 'armv7l';
    // Node calls little-endian POWER `ppc64`; Linux on POWER that runs containers is ppc64le.
    case 'ppc64':
      return 'ppc64le';
    default:
      return arch;
  }
}

/** tsswarm's node states are a subset of Docker's (which adds `disconnected`). */
const NODE_STATES: Record<NodeState, DockerNodeState> = { unknown: 'unknown', ready: 'ready', down: 'down' };

function laterOf(a: string, b: string | undefined): string {
  if (b === undefined) return a;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return Number.isNaN(tb) || (!Number.isNaN(ta) && ta >= tb) ? a : b;
}

function genericResources(generic: Record<string, number> | undefined): DockerGenericResource[] | undefined {
  const entries = Object.entries(generic ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return undefined; // Docker omits the field when there are none
  return entries.map(([Kind, Value]) => ({ DiscreteResourceSpec: { Kind, Value } }));
}

export function dockerNode(v: Versioned<ClusterNode>, o: DockerNodeOptions): DockerNode {
  const n = v.value;
  const generic = genericResources(n.resources.generic);
  const out: DockerNode = {
    ID: n.id,
    Version: version(v.modRevision),
    CreatedAt: n.createdAt,
    // The record changes with every status change; the status time is the last write we know of.
    UpdatedAt: laterOf(n.createdAt, n.status.timestamp),
    Spec: { Labels: { ...n.labels }, Role: n.role, Availability: n.availability },
    Description: {
      Hostname: n.hostname,
      Platform: { Architecture: dockerNodeArchitecture(n.platform?.architecture ?? ''), OS: n.platform?.os || 'linux' },
      Resources: { NanoCPUs: n.resources.nanoCpus, MemoryBytes: n.resources.memoryBytes, ...(generic && { GenericResources: generic }) },
      Engine: { EngineVersion: o.engineVersion, Labels: { ...(n.engineLabels ?? {}) }, Plugins: ENGINE_PLUGINS.map((p) => ({ ...p })) },
    },
    Status: { State: NODE_STATES[n.status.state] ?? 'unknown', ...(n.status.message && { Message: n.status.message }), Addr: n.addr },
  };
  if (n.role === 'manager') {
    // The meaning of manager/api/views.ts nodeView: the leader's node leads; a manager node is
    // reachable while its manager is alive, whatever the node's own agent is doing.
    const leader = n.id === o.leaderNodeId;
    out.ManagerStatus = {
      ...(leader && { Leader: true }),
      Reachability: leader || o.liveManagerNodes.has(n.id) ? 'reachable' : 'unreachable',
      Addr: o.managerAddr(n.id) ?? `${n.addr}:${SWARM_MANAGER_PORT}`,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Networks

export function dockerNetwork(v: Versioned<Network>, o: { containers?: Record<string, DockerEndpointResource> } = {}): DockerNetwork {
  const n = v.value;
  const options: Record<string, string> = { [VXLAN_ID_OPTION]: String(n.vni) };
  if (n.spec.encrypted === true) options[ENCRYPTED_OPTION] = '';
  return {
    Name: n.spec.name,
    Id: n.id,
    Created: n.createdAt,
    Scope: 'swarm',
    Driver: n.spec.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: false,
    Attachable: n.spec.attachable,
    Ingress: n.ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    // dockerd says null for a swarm network with no local endpoints; {} reads the same to Go
    // clients and does not trip tools written in languages where null is not an empty map.
    Containers: { ...(o.containers ?? {}) },
    Options: options,
    Labels: { ...n.spec.labels },
  };
}

// ---------------------------------------------------------------------------------------------
// Secrets and configs

/** Docker never shows a secret's bytes, and tsswarm's are sealed anyway: the spec only. */
export function dockerSecret(v: Versioned<StoredBlob>): DockerSecret {
  const b = v.value;
  return { ID: b.id, Version: version(v.modRevision), CreatedAt: b.createdAt, UpdatedAt: b.updatedAt, Spec: { Name: b.spec.name, Labels: { ...b.spec.labels } } };
}

/** Docker shows a config's bytes (base64 in Spec.Data): `docker config inspect --pretty` prints them. */
export function dockerConfig(v: Versioned<StoredBlob>, data: Buffer): DockerConfig {
  const b = v.value;
  return {
    ID: b.id,
    Version: version(v.modRevision),
    CreatedAt: b.createdAt,
    UpdatedAt: b.updatedAt,
    Spec: { Name: b.spec.name, Labels: { ...b.spec.labels }, Data: data.toString('base64') },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading Docker's bodies

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Absent and null are Go's zero value, which Docker treats as "not set". */
const isSet = (v: unknown): boolean => v !== undefined && v !== null;

function objectBody(body: unknown, what: string): Json {
  if (!isObject(body)) throw new InvalidArgumentError(`${what}: expected a JSON object`);
  return body;
}

function optString(o: Json, field: string, what: string): string {
  const v = o[field];
  if (!isSet(v)) return '';
  if (typeof v !== 'string') throw new InvalidArgumentError(`${what}: ${field} must be a string`);
  return v;
}

function optBool(o: Json, field: string, what: string): boolean {
  const v = o[field];
  if (!isSet(v)) return false;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${what}: ${field} must be true or false`);
  return v;
}

/** A map of strings (Labels, Options); null or absent is empty, as Go decodes it. */
function stringMap(v: unknown, what: string, field: string): Record<string, string> {
  if (!isSet(v)) return {};
  if (!isObject(v)) throw new InvalidArgumentError(`${what}: ${field} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw new InvalidArgumentError(`${what}: ${field} ${JSON.stringify(k)} must be a string`);
    out[k] = x;
  }
  return out;
}

/** Go decodes []byte from standard, padded base64 and skips line breaks; Buffer.from would accept anything. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64Field(o: Json, field: string, what: string): Buffer {
  const v = o[field];
  if (!isSet(v)) return Buffer.alloc(0);
  if (typeof v !== 'string') throw new InvalidArgumentError(`${what}: ${field} must be a base64 string`);
  const s = v.replace(/[\r\n]/g, '');
  if (!BASE64.test(s)) throw new InvalidArgumentError(`${what}: ${field} is not valid base64`);
  return Buffer.from(s, 'base64');
}

/** Docker matches roles and availabilities case-blind (it upper-cases them into SwarmKit's enums). */
function enumField<T extends string>(o: Json, field: string, allowed: readonly T[]): T {
  const v = o[field];
  const lower = typeof v === 'string' ? v.toLowerCase() : null;
  const hit = allowed.find((a) => a === lower);
  // Docker's own wording (daemon/cluster/convert/node.go NodeSpecToGRPC).
  if (hit === undefined) throw new InvalidArgumentError(`invalid ${field}: ${JSON.stringify(typeof v === 'string' ? v : (v ?? ''))}`);
  return hit;
}

/**
 * Docker's node update sends the whole NodeSpec (the CLI reads the node, edits the spec, posts it
 * back with `?version=`): the labels it names are all the labels the node keeps. tsswarm's
 * request is a change, so compare with the node as it is. Role and Availability are required, as
 * in Docker; only what differs is asked for, so an unchanged role is no role change to check.
 */
export function nodeUpdateFromDocker(body: unknown, current: ClusterNode): NodeUpdateRequest {
  const what = `node ${current.hostname}`;
  const b = objectBody(body, `${what} update`);
  const role = enumField(b, 'Role', ['manager', 'worker'] as const);
  const availability = enumField(b, 'Availability', ['active', 'pause', 'drain'] as const);
  // tsswarm names a node by its hostname only; Docker's optional Spec.Name has no place to go.
  if (optString(b, 'Name', what) !== '') throw new InvalidArgumentError(`${what}: node names are not supported (a node is named by its hostname)`);
  const labels = stringMap(b['Labels'], what, 'Labels');
  const labelAdd: Record<string, string> = {};
  for (const [k, val] of Object.entries(labels)) if (current.labels[k] !== val) labelAdd[k] = val;
  const labelRm = Object.keys(current.labels).filter((k) => !(k in labels));
  return {
    ...(role !== current.role && { role }),
    ...(availability !== current.availability && { availability }),
    ...(Object.keys(labelAdd).length > 0 && { labelAdd }),
    ...(labelRm.length > 0 && { labelRm }),
  };
}

/**
 * POST /networks/create. tsswarm has one kind of network, Docker's swarm-scoped overlay; a body
 * asking for anything else is refused by name. Docker's default driver (Driver absent or "") is
 * `bridge`, so a plain `docker network create x` is refused too: it would be a local bridge on
 * Docker, which tsswarm does not make.
 */
export function networkSpecFromDocker(body: unknown): NetworkSpec {
  const b = objectBody(body, 'network create');
  const name = optString(b, 'Name', 'network create');
  if (name === '') throw new InvalidArgumentError('network create: Name is required');
  const what = `network ${name}`;

  const driver = optString(b, 'Driver', what) || 'bridge';
  if (driver !== 'overlay') throw new InvalidArgumentError(`${what}: driver ${JSON.stringify(driver)} is not supported: tsswarm makes swarm-scoped overlay networks only (--driver overlay)`);
  const scope = optString(b, 'Scope', what);
  if (scope !== '' && scope !== 'swarm') throw new InvalidArgumentError(`${what}: scope ${JSON.stringify(scope)} is not supported: overlay networks are swarm-scoped`);
  if (optBool(b, 'EnableIPv6', what)) throw new InvalidArgumentError(`${what}: IPv6 is not supported`);
  if (optBool(b, 'Internal', what)) throw new InvalidArgumentError(`${what}: internal networks are not supported`);
  if (optBool(b, 'Ingress', what)) throw new InvalidArgumentError(`${what}: creating an ingress network is not supported: tsswarm makes its own, named ingress`);
  if (optBool(b, 'ConfigOnly', what)) throw new InvalidArgumentError(`${what}: config-only networks are not supported`);
  const configFrom = b['ConfigFrom'];
  if (isSet(configFrom) && (!isObject(configFrom) || (isSet(configFrom['Network']) && configFrom['Network'] !== ''))) {
    throw new InvalidArgumentError(`${what}: --config-from is not supported`);
  }

  let encrypted = false;
  for (const key of Object.keys(stringMap(b['Options'], what, 'Options'))) {
    if (key === ENCRYPTED_OPTION) encrypted = true;
    else throw new InvalidArgumentError(`${what}: option ${JSON.stringify(key)} is not supported (only encrypted)`);
  }

  const labels = stringMap(b['Labels'], what, 'Labels');
  return {
    name,
    // What `docker stack deploy` labels a stack's networks with (it names them `<stack>_<name>`).
    stack: labels[NAMESPACE_LABEL] || null,
    driver: 'overlay',
    subnet: subnetFromIpam(b['IPAM'], what),
    attachable: optBool(b, 'Attachable', what),
    labels,
    encrypted,
  };
}

/** IPAM of a create body: at most one pool, a subnet and optionally its first address as gateway. */
function subnetFromIpam(ipam: unknown, what: string): string | null {
  if (!isSet(ipam)) return null;
  if (!isObject(ipam)) throw new InvalidArgumentError(`${what}: IPAM must be an object`);
  const driver = optString(ipam, 'Driver', what);
  if (driver !== '' && driver !== 'default') throw new InvalidArgumentError(`${what}: IPAM driver ${JSON.stringify(driver)} is not supported`);
  if (Object.keys(stringMap(ipam['Options'], what, 'IPAM.Options')).length > 0) throw new InvalidArgumentError(`${what}: IPAM options are not supported`);
  const configs = ipam['Config'];
  if (!isSet(configs)) return null;
  if (!Array.isArray(configs)) throw new InvalidArgumentError(`${what}: IPAM.Config must be a list`);
  if (configs.length === 0) return null;
  if (configs.length > 1) throw new InvalidArgumentError(`${what}: one subnet at most (${configs.length} given)`);
  const c: unknown = configs[0];
  if (!isObject(c)) throw new InvalidArgumentError(`${what}: IPAM.Config entries must be objects`);
  if (optString(c, 'IPRange', what) !== '') throw new InvalidArgumentError(`${what}: --ip-range is not supported`);
  if (Object.keys(stringMap(c['AuxiliaryAddresses'], what, 'AuxiliaryAddresses')).length > 0) throw new InvalidArgumentError(`${what}: --aux-address is not supported`);
  const subnet = optString(c, 'Subnet', what);
  const gw = optString(c, 'Gateway', what);
  if (subnet === '') {
    if (gw !== '') throw new InvalidArgumentError(`${what}: a gateway needs a subnet`);
    return null;
  }
  // tsswarm's gateway is always the subnet's first address (manager/allocator/ipam.ts).
  if (gw !== '' && gw !== gatewayOf(parseCidr(subnet))) throw new InvalidArgumentError(`${what}: gateway ${gw} is not supported: the gateway is the subnet's first address, ${gatewayOf(parseCidr(subnet))}`);
  return subnet;
}

/**
 * POST /secrets/create, /configs/create: the spec with the bytes in base64. Name and size rules
 * are manager/blobs/blobs.ts checkBlob's (the route's create applies them). Secrets with a
 * Driver (an external store) and templated payloads are things tsswarm does not do. A config has
 * no Driver in Docker's ConfigSpec, and Docker ignores one sent anyway: so does this.
 */
export function blobFromDocker(kind: 'secret' | 'config', body: unknown): { spec: BlobSpec; data: Buffer } {
  const b = objectBody(body, `${kind} create`);
  const name = optString(b, 'Name', `${kind} create`);
  if (name === '') throw new InvalidArgumentError(`${kind} create: Name is required`);
  const what = `${kind} ${name}`;
  if (kind === 'secret' && isSet(b['Driver'])) throw new InvalidArgumentError(`${what}: secret drivers are not supported`);
  if (isSet(b['Templating'])) throw new InvalidArgumentError(`${what}: templating is not supported`);
  return { spec: { name, labels: stringMap(b['Labels'], what, 'Labels') }, data: base64Field(b, 'Data', what) };
}
