/**
 * IPv4 arithmetic: addresses as unsigned 32-bit numbers, subnets as CIDR
 * (the manager's IPAM), and task MACs derived from IPs (manager and agent).
 */
import { InvalidArgumentError } from '../errors';

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as an unsigned 32-bit number, or null when it is not dotted-quad IPv4. */
export function parseIpv4(text: string): number | null {
  const m = OCTETS.exec(text);
  if (m === null) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] ?? '';
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (part.length > 1 && part.startsWith('0')) return null;
    const v = Number(part);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const n = parseIpv4(ip);
  if (n === null) throw new InvalidArgumentError(`invalid IPv4 address ${ip}`);
  return n;
}

export const intToIp = formatIpv4;

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

/**
 * `02:42:` + the four address bytes, as Docker derives them: locally administered (bit 1 of the
 * first byte), unicast, unique as long as the IPs are unique on the network; any host computes any
 * task's MAC without asking anyone.
 */
export function macForIp(ip: string): string {
  const n = ipToInt(ip);
  return [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
