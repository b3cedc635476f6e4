/** IPv4 arithmetic for IPAM: addresses as unsigned 32-bit numbers, subnets as CIDR. */
import { InvalidArgumentError } from '../errors';

export interface Cidr {
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new InvalidArgumentError(`invalid IPv4 address ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new InvalidArgumentError(`invalid IPv4 address ${ip}`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new InvalidArgumentError(`invalid CIDR ${cidr}: expected a.b.c.d/n`);
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 30) throw new InvalidArgumentError(`invalid CIDR ${cidr}: the prefix must be between /8 and /30`);
  const base = ipToInt(m[1]!);
  if ((base & hostMask(prefix)) !== 0) throw new InvalidArgumentError(`invalid CIDR ${cidr}: host bits are set (did you mean ${intToIp(base & ~hostMask(prefix) >>> 0)}/${prefix}?)`);
  return { base, prefix };
}

function hostMask(prefix: number): number {
  return prefix === 0 ? 0xffffffff : (2 ** (32 - prefix) - 1);
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + size(c);
}

/** The gateway is the subnet's first host address, as Docker does. */
export function gatewayOf(c: Cidr): string {
  return intToIp(c.base + 1);
}

/** Locally administered MAC derived from the IP (02:42 + the four bytes), as Docker derives them. */
export function macForIp(ip: string): string {
  const n = ipToInt(ip);
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
