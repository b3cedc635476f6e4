/** IPv4 text <-> number, CIDR parsing: what validation and MAC derivation need, nothing more. */
import { InvalidNetworkConfigError } from './errors';

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
  /** Network address (host bits zero). */
  network: number;
  prefixLen: number;
}

/** `10.214.1.0/24` → { network, prefixLen }; throws InvalidNetworkConfigError naming `field`. */
export function parseCidr(text: string, field: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? null : parseIpv4(text.slice(0, slash));
  const lenText = slash < 0 ? '' : text.slice(slash + 1);
  const prefixLen = /^\d{1,2}$/.test(lenText) ? Number(lenText) : NaN;
  if (addr === null || !(prefixLen >= 0 && prefixLen <= 32)) {
    throw new InvalidNetworkConfigError(`${field}: ${JSON.stringify(text)} is not an IPv4 CIDR`, field);
  }
  const network = (addr & maskOf(prefixLen)) >>> 0;
  if (network !== addr) throw new InvalidNetworkConfigError(`${field}: ${text} has host bits set`, field);
  return { network, prefixLen };
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export function inCidr(addr: number, cidr: Cidr): boolean {
  return ((addr & maskOf(cidr.prefixLen)) >>> 0) === cidr.network;
}

/** Parses `text` as IPv4 or throws InvalidNetworkConfigError naming `field`. */
export function requireIpv4(text: string, field: string): number {
  const n = parseIpv4(text);
  if (n === null) throw new InvalidNetworkConfigError(`${field}: ${JSON.stringify(text)} is not an IPv4 address`, field);
  return n;
}
