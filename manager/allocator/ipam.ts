/**
 * Address management, pure: subnets for new networks (the next free /24 of
 * the default pool, or a requested one that overlaps nothing), VXLAN ids, and
 * host addresses inside a subnet. The allocator loop records every choice
 * under an etcd key written only if absent, so two managers never hand out
 * the same thing.
 */
import { ConflictError, InvalidArgumentError } from '../../shared/errors';
import { formatCidr, gatewayOf, intToIp, ipToInt, overlaps, parseCidr, size, type Cidr } from '../../shared/net/ipv4';

export const DEFAULT_POOL = '10.0.0.0/8';
export const DEFAULT_SUBNET_PREFIX = 24;
/** VNIs below this are left for other users of VXLAN on the hosts. */
export const FIRST_VNI = 4097;

export interface ExistingNetwork {
  name: string;
  subnet: string;
  vni: number;
}

export function pickSubnet(requested: string | null, existing: ExistingNetwork[], pool = DEFAULT_POOL): string {
  const taken = existing.map((n) => ({ name: n.name, c: parseCidr(n.subnet) }));
  if (requested !== null) {
    const c = parseCidr(requested);
    const clash = taken.find((t) => overlaps(t.c, c));
    if (clash) throw new ConflictError(`subnet ${requested} overlaps network ${clash.name} (${formatCidr(clash.c)})`);
    return formatCidr(c);
  }
  const p = parseCidr(pool);
  const step = 2 ** (32 - DEFAULT_SUBNET_PREFIX);
  for (let base = p.base; base + step <= p.base + size(p); base += step) {
    const c: Cidr = { base, prefix: DEFAULT_SUBNET_PREFIX };
    if (!taken.some((t) => overlaps(t.c, c))) return formatCidr(c);
  }
  throw new ConflictError(`no free /${DEFAULT_SUBNET_PREFIX} left in the address pool ${pool}`);
}

export function pickVni(existing: ExistingNetwork[]): number {
  const used = new Set(existing.map((n) => n.vni));
  let v = FIRST_VNI;
  while (used.has(v)) v++;
  if (v > 0xffffff) throw new ConflictError('no free VXLAN id left');
  return v;
}

export function gateway(subnet: string): string {
  return gatewayOf(parseCidr(subnet));
}

/** The lowest host address of the subnet that is not the gateway and not used. */
export function pickAddress(subnet: string, used: Set<string>): string {
  const c = parseCidr(subnet);
  const gw = ipToInt(gatewayOf(c));
  for (let n = c.base + 1; n < c.base + size(c) - 1; n++) {
    if (n === gw) continue;
    const ip = intToIp(n);
    if (!used.has(ip)) return ip;
  }
  throw new InvalidArgumentError(`network subnet ${subnet} has no free address left`);
}

export function prefixOf(subnet: string): number {
  return parseCidr(subnet).prefix;
}
