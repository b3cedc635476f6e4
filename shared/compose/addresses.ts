/**
 * IPv4 addresses and subnets as a stack file gives them (`dns`, `extra_hosts`,
 * `ipam.config[].subnet`). Like units.ts, each function returns null or a
 * reason; the caller knows the key path and line and words the error.
 */
import { isIP } from 'node:net';

/** Dotted quad, four decimal octets without leading zeros, as a 32-bit unsigned number. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const part of parts) {
    // `010` is octal to some parsers and decimal to others: refuse it rather than guess.
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Prefix lengths a stack subnet may have: /8 is already huge, and a /31 or /32 leaves no room for tasks. */
export const MIN_SUBNET_PREFIX = 8;
export const MAX_SUBNET_PREFIX = 30;

/** Why `text` is not a usable IPv4 subnet (`10.0.9.0/24`), or null when it is. */
export function invalidSubnetReason(text: string): string | null {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  const address = m ? parseIpv4(m[1] ?? '') : null;
  if (!m || address === null) return 'must be an IPv4 subnet in CIDR form, such as 10.0.9.0/24';
  const prefix = Number(m[2]);
  if (prefix < MIN_SUBNET_PREFIX || prefix > MAX_SUBNET_PREFIX) {
    return `the prefix length must be between ${MIN_SUBNET_PREFIX} and ${MAX_SUBNET_PREFIX}, got /${prefix}`;
  }
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  if (network !== address) return `the host bits must be zero (did you mean ${formatIpv4(network)}/${prefix}?)`;
  return null;
}

/** The first and last address of a valid subnet, to find overlaps. */
export function subnetRange(text: string): { first: number; last: number } | null {
  if (invalidSubnetReason(text) !== null) return null;
  const [address, prefix] = text.split('/');
  const first = parseIpv4(address ?? '') ?? 0;
  return { first, last: first + 2 ** (32 - Number(prefix)) - 1 };
}

/**
 * An address for /etc/hosts: IPv4 or IPv6, the latter optionally in brackets
 * (`[::1]`, as compose writes it). Returns the address without brackets.
 */
export function parseHostsAddress(text: string): string | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (bare.includes(':')) return isIP(bare) === 6 ? bare : null;
  return parseIpv4(bare) === null ? null : bare;
}
