/**
 * Network objects: creation (subnet and VXLAN id chosen and reserved in the
 * same transaction), lookup and removal. Used by `network create|rm` and by
 * stack deploy / rm for a stack's own networks.
 */
import type { Network, NetworkSpec, Service } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { newId } from '../../shared/ids';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../shared/errors';
import type { Store, Versioned, WriteOp } from '../store/store';
import { gateway, pickSubnet, pickVni } from '../allocator/ipam';

export class NetworkNotFoundError extends NotFoundError {
  override readonly code = 'NETWORK_NOT_FOUND';
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateNetworkSpec(s: NetworkSpec): void {
  if (typeof s !== 'object' || s === null) throw new InvalidArgumentError('network spec must be an object');
  if (typeof s.name !== 'string' || !NAME.test(s.name) || s.name.length > 63) throw new InvalidArgumentError(`invalid network name ${String(s?.name)}`);
  if (s.driver !== 'overlay') throw new InvalidArgumentError(`network ${s.name}: only the overlay driver is supported`);
  if (s.subnet !== null && typeof s.subnet !== 'string') throw new InvalidArgumentError(`network ${s.name}: subnet must be a CIDR string`);
  // Absent from clients older than encrypted networks: off.
  if (s.encrypted !== undefined && typeof s.encrypted !== 'boolean') throw new InvalidArgumentError(`network ${s.name}: encrypted must be true or false`);
}

/**
 * The writes that create the networks (all of them or none: the caller puts
 * them in its transaction). Subnets and VXLAN ids are guarded by keys written
 * only if absent, so a concurrent creation elsewhere makes the transaction fail.
 */
export function planNetworks(specs: NetworkSpec[], existing: Network[], now: string, ingress = false): { networks: Network[]; ops: WriteOp[] } {
  const known = existing.map((n) => ({ name: n.spec.name, subnet: n.subnet, vni: n.vni }));
  const networks: Network[] = [];
  const ops: WriteOp[] = [];
  for (const spec of specs) {
    validateNetworkSpec(spec);
    if (known.some((k) => k.name === spec.name)) throw new ConflictError(`network ${spec.name} already exists`);
    const subnet = pickSubnet(spec.subnet, known);
    const vni = pickVni(known);
    const net: Network = { v: SCHEMA_VERSION, id: newId(), spec: { ...spec, encrypted: spec.encrypted === true }, subnet, gateway: gateway(subnet), vni, ingress, nodeEndpoints: {}, createdAt: now };
    known.push({ name: spec.name, subnet, vni });
    networks.push(net);
    ops.push(
      { put: Keys.network(net.id), value: net, guard: { absent: true } },
      { put: Keys.ipamVni(vni), value: { networkId: net.id }, guard: { absent: true } },
      { put: Keys.ipamSubnet(subnet), value: { networkId: net.id }, guard: { absent: true } },
    );
  }
  return { networks, ops };
}

/** The services on a network (the routing mesh's: those that publish a port in ingress mode). */
export function networkUsers(net: Network, services: Service[]): Service[] {
  return services.filter((s) => s.spec.networks.some((n) => n.target === net.spec.name) || (net.ingress && s.spec.endpoint.ports.some((p) => p.mode === 'ingress')));
}

/** Deleting a network and its reservations; refused while a service uses it. */
export function planNetworkRemoval(net: Versioned<Network>, services: Service[]): WriteOp[] {
  const users = networkUsers(net.value, services);
  if (users.length) throw new ConflictError(`network ${net.value.spec.name} is in use by service ${users.map((s) => s.spec.name).join(', ')}`);
  return [
    { del: net.key, guard: { modRevision: net.modRevision } },
    { del: Keys.ipamVni(net.value.vni), guard: null },
    { del: Keys.ipamSubnet(net.value.subnet), guard: null },
  ];
}

export async function findNetwork(store: Store, nameOrId: string): Promise<Versioned<Network>> {
  const all = await store.list<Network>(Keys.networks);
  const hit = all.find((n) => n.value.spec.name === nameOrId || n.value.id === nameOrId) ?? (nameOrId.length >= 4 ? all.filter((n) => n.value.id.startsWith(nameOrId)) : []);
  if (!Array.isArray(hit)) return hit;
  if (hit.length === 1) return hit[0]!;
  throw new NetworkNotFoundError(`network ${nameOrId} not found`);
}

export const INGRESS_NETWORK = 'ingress';

/** The routing mesh's network, made the first time a service publishes a port in ingress mode. */
export function ingressSpec(): NetworkSpec {
  return { name: INGRESS_NETWORK, stack: null, driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false };
}
