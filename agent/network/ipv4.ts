/**
 * The data plane's checks of addresses and CIDRs it is handed (any prefix
 * length; errors name the field), on the shared IPv4 text <-> number.
 */
import { InvalidNetworkConfigError } from './errors';
import { formatIpv4, parseIpv4 } from '../../shared/net/ipv4';

export { formatIpv4, parseIpv4 };

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
