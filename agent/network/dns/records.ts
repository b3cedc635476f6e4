/** The per-network name table and the rules for answering from it. */
import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../../../shared/errors';
import { TYPE_A, TYPE_ANY } from './wire';

export interface DnsRecordSet {
  /** Lowercase FQDN-less name → IPv4 addresses. */
  names: Map<string, string[]>;
  /** Names answered with shuffled order (dnsrr services, tasks.*). */
  roundRobin: Set<string>;
}

export type Resolution =
  | { kind: 'records'; ips: string[] }
  /** The name is ours but has no record of this type (AAAA): empty NOERROR, as Docker does. */
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  /** Not ours: ask the host's resolvers. */
  | { kind: 'forward' };

export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function emptyRecordSet(): DnsRecordSet {
  return { names: new Map(), roundRobin: new Set() };
}

/**
 * A private copy with folded names and checked addresses, so the caller may keep mutating its maps
 * and the server's view only changes on the next update(). Spellings that fold together merge.
 */
export function normalizeRecordSet(rs: DnsRecordSet): DnsRecordSet {
  const names = new Map<string, string[]>();
  for (const [raw, ips] of rs.names) {
    const name = normalizeName(raw);
    if (name === '') throw new InvalidArgumentError('empty DNS name in record set');
    for (const ip of ips) {
      if (!isIPv4(ip)) throw new InvalidArgumentError(`DNS name ${name}: ${JSON.stringify(ip)} is not an IPv4 address`);
    }
    const merged = names.get(name) ?? [];
    for (const ip of ips) if (!merged.includes(ip)) merged.push(ip);
    names.set(name, merged);
  }
  return { names, roundRobin: new Set([...rs.roundRobin].map(normalizeName)) };
}

/**
 * `tasks.<one label>` is our namespace even when the table lacks it (a service with no tasks here,
 * or no such service): answering NXDOMAIN ourselves keeps it from leaking to the upstream resolvers.
 * `tasks.example.com` has more labels and is forwarded like any outside name.
 */
function isOwnNamespace(name: string): boolean {
  return /^tasks\.[^.]+$/.test(name);
}

/** Fisher–Yates on a copy; `random` is injectable so tests can pin an order. */
export function shuffled<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

/** `view` must come from normalizeRecordSet. */
export function resolveName(view: DnsRecordSet, qname: string, qtype: number, random: () => number = Math.random): Resolution {
  const name = normalizeName(qname);
  const ips = view.names.get(name);
  if (ips === undefined) return isOwnNamespace(name) ? { kind: 'nxdomain' } : { kind: 'forward' };
  // A service with no VIP yet or no running task: known to us, so not the upstream's business.
  if (ips.length === 0) return { kind: 'nxdomain' };
  if (qtype !== TYPE_A && qtype !== TYPE_ANY) return { kind: 'nodata' };
  return { kind: 'records', ips: view.roundRobin.has(name) ? shuffled(ips, random) : [...ips] };
}

/**
 * The names of several networks' tables as one, the first table's answer winning for a name on
 * more than one (a service on two networks answers with its address on the asking one's network).
 */
export function mergeRecordSets(sets: readonly DnsRecordSet[]): DnsRecordSet {
  const names = new Map<string, string[]>();
  const roundRobin = new Set<string>();
  for (const rs of sets) {
    for (const [name, ips] of rs.names) {
      if (names.has(name)) continue;
      names.set(name, [...ips]);
      if (rs.roundRobin.has(name)) roundRobin.add(name);
    }
  }
  return { names, roundRobin };
}
