import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsFormatError } from '../../../agent/network/dns/errors';
import { encodeReply, parseQuery } from '../../../agent/network/dns/message';
import { TYPE_A, TYPE_AAAA, encodeName, readName } from '../../../agent/network/dns/wire';
import { decodeResponse, encodeQuery } from './client';

/** `web.` as an A/IN query, id 0x1234, RD set: written out by hand from RFC 1035 §4.1. */
const HAND_QUERY = Buffer.from([
  0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x03, 0x57, 0x65, 0x62, 0x00, 0x00, 0x01, 0x00, 0x01,
]);

describe('dns wire format', () => {
  it('encodes a query exactly as RFC 1035 lays it out', () => {
    assert.deepEqual(encodeQuery(0x1234, 'Web.', TYPE_A), HAND_QUERY);
  });

  it('writes an A answer as a pointer to the question, type, class, ttl, 4 bytes', () => {
    const reply = encodeReply(parseQuery(HAND_QUERY), { rcode: 0, authoritative: true, ips: ['10.0.0.7'], ttl: 0 }, 512);
    assert.deepEqual(reply, Buffer.from([
      0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x03, 0x57, 0x65, 0x62, 0x00, 0x00, 0x01, 0x00, 0x01,
      0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 10, 0, 0, 7,
    ]));
  });

  it('follows compression pointers and refuses loops', () => {
    // "a" at 0, then "b" + pointer to 0 at 3: reads as b.a
    const msg = Buffer.from([0x01, 0x61, 0x00, 0x01, 0x62, 0xc0, 0x00]);
    assert.deepEqual(readName(msg, 3), { name: 'b.a', end: 7, compressed: true });
    assert.throws(() => readName(Buffer.from([0xc0, 0x00]), 0), DnsFormatError);
    assert.throws(() => readName(Buffer.from([0x05, 0x61]), 0), DnsFormatError);
  });

  it('rejects names that cannot be encoded', () => {
    assert.throws(() => encodeName(`${'x'.repeat(64)}.com`), DnsFormatError);
    assert.throws(() => encodeName('a..b'), DnsFormatError);
    assert.deepEqual(encodeName('.'), Buffer.from([0]));
  });

  it('reads the EDNS payload size and echoes an OPT record', () => {
    const q = parseQuery(encodeQuery(1, 'web', TYPE_AAAA, { ednsSize: 4096 }));
    assert.equal(q.ednsSize, 4096);
    assert.equal(q.type, TYPE_AAAA);
    const d = decodeResponse(encodeReply(q, { rcode: 0, authoritative: true, ips: [], ttl: 0 }, 1232));
    assert.ok(d.hasOpt);
    assert.equal(parseQuery(encodeQuery(1, 'web', TYPE_A)).ednsSize, null);
  });

  it('truncates to the size limit and sets TC', () => {
    const q = parseQuery(encodeQuery(7, 'many', TYPE_A));
    const ips = Array.from({ length: 40 }, (_, i) => `10.0.1.${i + 1}`);
    const udp = encodeReply(q, { rcode: 0, authoritative: true, ips, ttl: 0 }, 512);
    assert.ok(udp.length <= 512);
    const d = decodeResponse(udp);
    assert.equal(d.header.tc, true);
    assert.equal(d.a.length, Math.floor((512 - 12 - 10) / 16));
    const tcp = decodeResponse(encodeReply(q, { rcode: 0, authoritative: true, ips, ttl: 0 }, 65535));
    assert.equal(tcp.header.tc, false);
    assert.deepEqual(tcp.a, ips);
  });
});
