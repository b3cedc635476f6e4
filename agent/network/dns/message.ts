/** The server's side of a DNS exchange: reading one query, writing the reply to it. */
import { DnsFormatError } from './errors';
import {
  CLASS_IN, HEADER_LEN, TYPE_A, TYPE_OPT, UDP_CLASSIC_SIZE, UDP_EDNS_SIZE,
  ipv4Bytes, optRecord, readHeader, readName, readRecord, writeHeader, type Header,
} from './wire';

export interface Query {
  header: Header;
  /** As sent (case kept); lookups fold it. */
  name: string;
  type: number;
  klass: number;
  /** The question section's bytes, echoed back verbatim so the client sees its own spelling. */
  question: Buffer;
  /** UDP payload size the client advertised in an OPT record, or null when it sent none. */
  ednsSize: number | null;
}

/** Throws DnsFormatError for anything but one well-formed question. */
export function parseQuery(msg: Buffer): Query {
  const header = readHeader(msg);
  if (header.qr) throw new DnsFormatError('message is a response, not a query');
  if (header.qdcount !== 1) throw new DnsFormatError(`expected 1 question, got ${header.qdcount}`);
  const q = readName(msg, HEADER_LEN);
  // A pointer in the first name could only point forward; echoing such bytes would be wrong.
  if (q.compressed) throw new DnsFormatError('compressed name in the question');
  if (q.end + 4 > msg.length) throw new DnsFormatError('question runs past the end of the message');
  const type = msg.readUInt16BE(q.end);
  const klass = msg.readUInt16BE(q.end + 2);
  let pos = q.end + 4;
  let ednsSize: number | null = null;
  const before = header.ancount + header.nscount;
  for (let i = 0; i < before + header.arcount; i++) {
    const rr = readRecord(msg, pos);
    pos = rr.end;
    // An OPT record's class field carries the requester's UDP payload size.
    if (i >= before && rr.type === TYPE_OPT) ednsSize = Math.max(UDP_CLASSIC_SIZE, rr.klass);
  }
  return { header, name: q.name, type, klass, question: msg.subarray(HEADER_LEN, q.end + 4), ednsSize };
}

/** The largest UDP reply this client accepts, capped at what we advertise. */
export function udpLimit(q: Query): number {
  return q.ednsSize === null ? UDP_CLASSIC_SIZE : Math.min(q.ednsSize, UDP_EDNS_SIZE);
}

export interface Reply {
  rcode: number;
  /** True for names from our table: we are the authority for them. */
  authoritative: boolean;
  ips: readonly string[];
  ttl: number;
}

/** Each A record: pointer to the question name (2) + type, class, ttl, rdlength (10) + address (4). */
const A_RECORD_LEN = 16;

/**
 * Encodes `reply` to `q` within `maxSize` bytes. Records that do not fit are dropped and TC set,
 * so a UDP client retries over TCP and gets them all.
 */
export function encodeReply(q: Query, reply: Reply, maxSize: number): Buffer {
  const opt = q.ednsSize === null ? null : optRecord(UDP_EDNS_SIZE);
  const fixed = HEADER_LEN + q.question.length + (opt?.length ?? 0);
  const room = Math.max(0, Math.floor((maxSize - fixed) / A_RECORD_LEN));
  const ips = reply.ips.slice(0, room);
  const buf = Buffer.alloc(fixed + ips.length * A_RECORD_LEN);
  writeHeader(buf, {
    id: q.header.id,
    qr: true,
    opcode: q.header.opcode,
    aa: reply.authoritative,
    tc: ips.length < reply.ips.length,
    rd: q.header.rd,
    ra: true,
    rcode: reply.rcode,
    qdcount: 1,
    ancount: ips.length,
    nscount: 0,
    arcount: opt === null ? 0 : 1,
  });
  let pos = HEADER_LEN + q.question.copy(buf, HEADER_LEN);
  for (const ip of ips) {
    buf.writeUInt16BE(0xc000 | HEADER_LEN, pos);
    buf.writeUInt16BE(TYPE_A, pos + 2);
    buf.writeUInt16BE(CLASS_IN, pos + 4);
    buf.writeUInt32BE(reply.ttl, pos + 6);
    buf.writeUInt16BE(4, pos + 10);
    ipv4Bytes(ip).copy(buf, pos + 12);
    pos += A_RECORD_LEN;
  }
  if (opt !== null) opt.copy(buf, pos);
  return buf;
}

/** A reply with no sections, for queries we cannot parse or do not implement; null without a header. */
export function encodeHeaderOnly(msg: Buffer, rcode: number): Buffer | null {
  if (msg.length < HEADER_LEN) return null;
  const h = readHeader(msg);
  const buf = Buffer.alloc(HEADER_LEN);
  writeHeader(buf, { ...h, qr: true, aa: false, tc: false, ra: true, rcode, qdcount: 0, ancount: 0, nscount: 0, arcount: 0 });
  return buf;
}
