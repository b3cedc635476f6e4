import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerQuery, servfail } from '../../../agent/network/dns/answer';
import { normalizeRecordSet } from '../../../agent/network/dns/records';
import { RCODE_FORMERR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA } from '../../../agent/network/dns/wire';
import { decodeResponse, encodeQuery } from './client';

const view = normalizeRecordSet({ names: new Map([['web', ['10.0.0.2']]]), roundRobin: new Set() });

function replyOf(msg: Buffer, transport: 'udp' | 'tcp' = 'udp') {
  const o = answerQuery(view, msg, transport);
  assert.equal(o.kind, 'reply');
  return decodeResponse(o.kind === 'reply' ? o.bytes : Buffer.alloc(0));
}

describe('dns answerQuery', () => {
  it('answers a table name authoritatively with TTL 0, echoing the question spelling', () => {
    const d = replyOf(encodeQuery(9, 'WEB.', TYPE_A));
    assert.equal(d.header.id, 9);
    assert.equal(d.header.aa, true);
    assert.equal(d.header.rcode, 0);
    assert.deepEqual(d.question, { name: 'WEB', type: TYPE_A });
    assert.deepEqual(d.a, ['10.0.0.2']);
    assert.deepEqual(d.ttls, [0]);
  });

  it('AAAA for a table name is an empty NOERROR', () => {
    const d = replyOf(encodeQuery(1, 'web', TYPE_AAAA));
    assert.equal(d.header.rcode, 0);
    assert.equal(d.header.ancount, 0);
  });

  it('tasks.<unknown> is NXDOMAIN, other unknown names are forwarded', () => {
    assert.equal(replyOf(encodeQuery(1, 'tasks.nope', TYPE_A)).header.rcode, RCODE_NXDOMAIN);
    assert.equal(answerQuery(view, encodeQuery(1, 'example.com', TYPE_A), 'udp').kind, 'forward');
    assert.equal(answerQuery(view, encodeQuery(1, 'web', TYPE_A, { klass: 3 }), 'udp').kind, 'forward');
  });

  it('FORMERR for junk after a header, NOTIMP for other opcodes, silence for runts and responses', () => {
    const junk = Buffer.concat([encodeQuery(5, 'web', TYPE_A).subarray(0, 12), Buffer.from([0x3f, 1, 2])]);
    assert.equal(replyOf(junk).header.rcode, RCODE_FORMERR);
    assert.equal(replyOf(junk).header.id, 5);
    assert.equal(replyOf(encodeQuery(1, 'web', TYPE_A, { opcode: 2 })).header.rcode, RCODE_NOTIMP);
    assert.equal(answerQuery(view, Buffer.from([1, 2, 3]), 'udp').kind, 'drop');
    const response = encodeQuery(1, 'web', TYPE_A);
    response.writeUInt8(0x81, 2);
    assert.equal(answerQuery(view, response, 'udp').kind, 'drop');
  });

  it('servfail keeps the id and question', () => {
    const o = answerQuery(view, encodeQuery(77, 'example.com', TYPE_A), 'udp');
    assert.equal(o.kind, 'forward');
    if (o.kind !== 'forward') return;
    const d = decodeResponse(servfail(o.query, 'udp'));
    assert.equal(d.header.id, 77);
    assert.equal(d.header.rcode, RCODE_SERVFAIL);
    assert.deepEqual(d.question, { name: 'example.com', type: TYPE_A });
  });
});
