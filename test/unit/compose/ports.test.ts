import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePortNumber, parseShortPort } from '../../../shared/compose/ports';

describe('parseShortPort', () => {
  it('expands ranges pairwise', () => {
    assert.deepEqual(parseShortPort('8000-8002:7000-7002/udp'), {
      ok: true,
      ports: [
        { target: 7000, published: 8000, protocol: 'udp', mode: 'ingress' },
        { target: 7001, published: 8001, protocol: 'udp', mode: 'ingress' },
        { target: 7002, published: 8002, protocol: 'udp', mode: 'ingress' },
      ],
    });
  });
  it('takes a single-port range as a port', () => {
    assert.deepEqual(parseShortPort('80-80'), { ok: true, ports: [{ target: 80, published: null, protocol: 'tcp', mode: 'ingress' }] });
  });
  const bad: [string, RegExp][] = [
    ['', /invalid target port ""/],
    ['8080:', /invalid target port ""/],
    ['1.2.3.4:80:80', /host IP/],
    ['a:b:c:d', /host IP/],
    ['80/TCP', /protocol must be tcp or udp, got "TCP"/],
    ['80:80/', /protocol must be tcp or udp, got ""/],
    ['0', /target port "0" is out of range/],
    ['80-', /invalid target port "80-"/],
    ['8080-8081:80', /different lengths/],
    ['+80', /invalid target port/],
  ];
  for (const [text, pattern] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const r = parseShortPort(text);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, pattern);
    });
  }
});

describe('parsePortNumber', () => {
  it('accepts 1..65535 as digits', () => {
    assert.equal(parsePortNumber('1'), 1);
    assert.equal(parsePortNumber('65535'), 65535);
    assert.equal(parsePortNumber('0'), null);
    assert.equal(parsePortNumber('65536'), null);
    assert.equal(parsePortNumber('8e3'), null);
    assert.equal(parsePortNumber('-1'), null);
  });
});
