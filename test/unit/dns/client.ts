/**
 * A small DNS client for the DNS tests, built on the server's own wire helpers: queries out,
 * responses decoded. The unit tests check the wire helpers against hand-written bytes, so sharing
 * them here does not let an encoding mistake hide on both sides.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import {
  CLASS_IN, HEADER_LEN, TYPE_A, encodeName, optRecord, readHeader, readName, readRecord, writeHeader, type Header,
} from '../../../agent/network/dns/wire';

export function encodeQuery(id: number, name: string, type: number, opts: { ednsSize?: number; klass?: number; opcode?: number } = {}): Buffer {
  const header = Buffer.alloc(HEADER_LEN);
  writeHeader(header, {
    id, qr: false, opcode: opts.opcode ?? 0, aa: false, tc: false, rd: true, ra: false, rcode: 0,
    qdcount: 1, ancount: 0, nscount: 0, arcount: opts.ednsSize === undefined ? 0 : 1,
  });
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(opts.klass ?? CLASS_IN, 2);
  const parts = [header, encodeName(name), tail];
  if (opts.ednsSize !== undefined) parts.push(optRecord(opts.ednsSize));
  return Buffer.concat(parts);
}

export interface Decoded {
  header: Header;
  question: { name: string; type: number } | null;
  /** A records as dotted quads, in answer order. */
  a: string[];
  answerTypes: number[];
  ttls: number[];
  hasOpt: boolean;
}

export function decodeResponse(msg: Buffer): Decoded {
  const header = readHeader(msg);
  let pos = HEADER_LEN;
  let question: Decoded['question'] = null;
  if (header.qdcount > 0) {
    const q = readName(msg, pos);
    question = { name: q.name, type: msg.readUInt16BE(q.end) };
    pos = q.end + 4;
  }
  const a: string[] = [];
  const answerTypes: number[] = [];
  const ttls: number[] = [];
  let hasOpt = false;
  for (let i = 0; i < header.ancount + header.nscount + header.arcount; i++) {
    const rr = readRecord(msg, pos);
    pos = rr.end;
    if (i < header.ancount) {
      answerTypes.push(rr.type);
      ttls.push(rr.ttl);
      if (rr.type === TYPE_A) a.push([...rr.data].join('.'));
    } else if (rr.type === 41) {
      hasOpt = true;
    }
  }
  return { header, question, a, answerTypes, ttls, hasOpt };
}

export function udpExchange(host: string, port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error(`no UDP answer from ${host}:${port} in ${timeoutMs} ms`)); }, timeoutMs);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(m); });
    sock.on('error', (e) => { clearTimeout(timer); sock.close(); reject(e); });
    sock.send(msg, port, host);
  });
}

export function tcpExchange(host: string, port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no TCP answer from ${host}:${port} in ${timeoutMs} ms`)); }, timeoutMs);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    sock.on('connect', () => sock.write(Buffer.concat([len, msg])));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}
