/** Decides what to do with one query message against a network's view. Pure; the server does I/O. */
import { DnsFormatError } from './errors';
import { encodeHeaderOnly, encodeReply, parseQuery, udpLimit, type Query } from './message';
import { resolveName, type DnsRecordSet } from './records';
import {
  CLASS_ANY, CLASS_IN, OPCODE_QUERY, RCODE_FORMERR, RCODE_NOERROR, RCODE_NOTIMP, RCODE_NXDOMAIN,
  RCODE_SERVFAIL, readHeader,
} from './wire';

export type Transport = 'udp' | 'tcp';

/** Service addresses move whenever a task does; a zero TTL keeps clients from caching stale ones. */
export const RECORD_TTL = 0;

/** The most a TCP reply may hold: its length prefix is 16 bits. */
const TCP_LIMIT = 65535;

export type Outcome =
  | { kind: 'reply'; bytes: Buffer }
  | { kind: 'forward'; query: Query }
  /** Not a query at all (a stray response, a runt): answering could start a loop. */
  | { kind: 'drop' };

export function limitFor(q: Query, transport: Transport): number {
  return transport === 'tcp' ? TCP_LIMIT : udpLimit(q);
}

export function answerQuery(view: DnsRecordSet, msg: Buffer, transport: Transport, random: () => number = Math.random): Outcome {
  let header;
  try {
    header = readHeader(msg);
  } catch {
    return { kind: 'drop' };
  }
  if (header.qr) return { kind: 'drop' };
  if (header.opcode !== OPCODE_QUERY) return headerOnly(msg, RCODE_NOTIMP);
  let q: Query;
  try {
    q = parseQuery(msg);
  } catch (err) {
    if (err instanceof DnsFormatError) return headerOnly(msg, RCODE_FORMERR);
    throw err;
  }
  // Other classes (CHAOS version.bind and the like) are not ours; the upstream may know them.
  if (q.klass !== CLASS_IN && q.klass !== CLASS_ANY) return { kind: 'forward', query: q };
  const r = resolveName(view, q.name, q.type, random);
  const limit = limitFor(q, transport);
  switch (r.kind) {
    case 'forward':
      return { kind: 'forward', query: q };
    case 'nxdomain':
      return reply(encodeReply(q, { rcode: RCODE_NXDOMAIN, authoritative: true, ips: [], ttl: RECORD_TTL }, limit));
    case 'nodata':
      return reply(encodeReply(q, { rcode: RCODE_NOERROR, authoritative: true, ips: [], ttl: RECORD_TTL }, limit));
    case 'records':
      return reply(encodeReply(q, { rcode: RCODE_NOERROR, authoritative: true, ips: r.ips, ttl: RECORD_TTL }, limit));
  }
}

/** What the client gets when no upstream answered a forwarded query. */
export function servfail(q: Query, transport: Transport): Buffer {
  return encodeReply(q, { rcode: RCODE_SERVFAIL, authoritative: false, ips: [], ttl: 0 }, limitFor(q, transport));
}

function reply(bytes: Buffer): Outcome {
  return { kind: 'reply', bytes };
}

function headerOnly(msg: Buffer, rcode: number): Outcome {
  const bytes = encodeHeaderOnly(msg, rcode);
  return bytes === null ? { kind: 'drop' } : { kind: 'reply', bytes };
}
