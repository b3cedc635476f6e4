import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpv4, invalidSubnetReason, parseHostsAddress, parseIpv4, subnetRange } from '../../../shared/compose/addresses';

describe('parseIpv4', () => {
  it('reads dotted quads', () => {
    assert.equal(parseIpv4('0.0.0.0'), 0);
    assert.equal(parseIpv4('10.0.9.1'), 0x0a000901);
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    assert.equal(formatIpv4(0xc0a80101), '192.168.1.1');
  });
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', '1..2.3', ' 1.2.3.4', '1.2.3.4/8', '::1', '0x1.2.3.4']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseIpv4(bad), null));
  }
});

describe('invalidSubnetReason', () => {
  for (const good of ['10.0.0.0/8', '10.0.9.0/24', '192.168.4.0/30', '172.16.0.0/12']) {
    it(`accepts ${good}`, () => assert.equal(invalidSubnetReason(good), null));
  }
  const bad: [string, RegExp][] = [
    ['10.0.0.0', /CIDR form/],
    ['10.0.0.0/', /CIDR form/],
    ['10.0.0/24', /CIDR form/],
    ['fd00::/64', /CIDR form/],
    ['10.0.0.0/7', /between 8 and 30, got \/7/],
    ['10.0.0.0/31', /got \/31/],
    ['10.0.0.0/32', /got \/32/],
    ['10.0.0.4/29', /^the host bits must be zero \(did you mean 10\.0\.0\.0\/29\?\)$/],
    ['10.1.0.0/8', /did you mean 10\.0\.0\.0\/8/],
  ];
  for (const [text, pattern] of bad) {
    it(`refuses ${text}`, () => assert.match(invalidSubnetReason(text) ?? '', pattern));
  }
  it('gives the range of a subnet', () => {
    assert.deepEqual(subnetRange('10.0.1.0/24'), { first: 0x0a000100, last: 0x0a0001ff });
    assert.equal(subnetRange('10.0.1.1/24'), null);
  });
});

describe('parseHostsAddress', () => {
  it('accepts IPv4 and IPv6, with or without brackets', () => {
    assert.equal(parseHostsAddress('10.0.0.1'), '10.0.0.1');
    assert.equal(parseHostsAddress('::1'), '::1');
    assert.equal(parseHostsAddress('[fe80::1]'), 'fe80::1');
  });
  for (const bad of ['', 'host', '10.0.0', '[10.0.0.1', ':::1', '1.2.3.4:80']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseHostsAddress(bad), null));
  }
});
