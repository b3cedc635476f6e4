/**
 * DNS wire format (RFC 1035 §4), only what an A-record server and a forwarder need: the header,
 * names (with compression pointers when reading), and EDNS's OPT record (RFC 6891) for the UDP size.
 * Written here rather than taken from a package because this subset is ~150 lines and the forwarder
 * relays upstream answers as opaque bytes, so nothing richer is ever decoded.
 */
import { DnsFormatError } from './errors';

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const TYPE_ANY = 255;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

export const OPCODE_QUERY = 0;
export const HEADER_LEN = 12;
/** What a client without EDNS accepts over UDP (RFC 1035 §4.2.1). */
export const UDP_CLASSIC_SIZE = 512;
/** The size we advertise and cap EDNS answers at: avoids IP fragmentation (DNS flag day 2020). */
export const UDP_EDNS_SIZE = 1232;

const MAX_NAME_LEN = 255;
const MAX_LABEL_LEN = 63;
/** Bounds pointer chasing so a looping pointer chain cannot spin. */
const MAX_POINTERS = 32;

export interface Header {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function readHeader(msg: Buffer): Header {
  if (msg.length < HEADER_LEN) throw new DnsFormatError(`message of ${msg.length} bytes is shorter than a header`);
  const flags = msg.readUInt16BE(2);
  return {
    id: msg.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    qdcount: msg.readUInt16BE(4),
    ancount: msg.readUInt16BE(6),
    nscount: msg.readUInt16BE(8),
    arcount: msg.readUInt16BE(10),
  };
}

export function writeHeader(buf: Buffer, h: Header): void {
  const flags =
    (h.qr ? 0x8000 : 0) |
    ((h.opcode & 0xf) << 11) |
    (h.aa ? 0x0400 : 0) |
    (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) |
    (h.ra ? 0x0080 : 0) |
    (h.rcode & 0xf);
  buf.writeUInt16BE(h.id, 0);
  buf.writeUInt16BE(flags, 2);
  buf.writeUInt16BE(h.qdcount, 4);
  buf.writeUInt16BE(h.ancount, 6);
  buf.writeUInt16BE(h.nscount, 8);
  buf.writeUInt16BE(h.arcount, 10);
}

export interface ReadName {
  /** Labels joined with dots, bytes as sent (case kept; the caller folds it). */
  name: string;
  /** Offset just after the name where it starts, which is not where a pointer led. */
  end: number;
  compressed: boolean;
}

export function readName(msg: Buffer, offset: number): ReadName {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let pointers = 0;
  let length = 1;
  for (;;) {
    if (pos >= msg.length) throw new DnsFormatError('name runs past the end of the message');
    const len = msg.readUInt8(pos);
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new DnsFormatError('truncated compression pointer');
      if (++pointers > MAX_POINTERS) throw new DnsFormatError('compression pointer loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | msg.readUInt8(pos + 1);
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError(`unsupported label type 0x${len.toString(16)}`);
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    length += len + 1;
    if (length > MAX_NAME_LEN) throw new DnsFormatError('name longer than 255 bytes');
    if (pos + 1 + len > msg.length) throw new DnsFormatError('label runs past the end of the message');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), end, compressed: pointers > 0 };
}

/** Uncompressed wire form of a dotted name; a trailing dot is optional. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > MAX_LABEL_LEN) throw new DnsFormatError(`bad label in ${JSON.stringify(name)}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME_LEN) throw new DnsFormatError(`name longer than 255 bytes: ${name}`);
  return out;
}

export interface ResourceRecord {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  data: Buffer;
  /** Offset just after the record. */
  end: number;
}

export function readRecord(msg: Buffer, offset: number): ResourceRecord {
  const { name, end: nameEnd } = readName(msg, offset);
  if (nameEnd + 10 > msg.length) throw new DnsFormatError('record header runs past the end of the message');
  const rdlength = msg.readUInt16BE(nameEnd + 8);
  const dataStart = nameEnd + 10;
  if (dataStart + rdlength > msg.length) throw new DnsFormatError('record data runs past the end of the message');
  return {
    name,
    type: msg.readUInt16BE(nameEnd),
    klass: msg.readUInt16BE(nameEnd + 2),
    ttl: msg.readUInt32BE(nameEnd + 4),
    data: msg.subarray(dataStart, dataStart + rdlength),
    end: dataStart + rdlength,
  };
}

/** An OPT pseudo-record for the root name advertising `udpSize` (RFC 6891 §6.1.2), no options. */
export function optRecord(udpSize: number): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt8(0, 0);
  b.writeUInt16BE(TYPE_OPT, 1);
  b.writeUInt16BE(udpSize, 3);
  // ttl (extended rcode, version 0, flags) and rdlength stay zero
  return b;
}

/** Dotted-quad text to 4 bytes; callers validate with net.isIPv4 first. */
export function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map((p) => Number(p)));
}
