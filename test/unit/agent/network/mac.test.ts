import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeMac } from '../../../../agent/network/mac';
import { macForIp } from '../../../../shared/net/ipv4';
import { InvalidArgumentError } from '../../../../shared/errors';
import { inCidr, parseCidr, parseIpv4 } from '../../../../agent/network/ipv4';
import { InvalidNetworkConfigError } from '../../../../agent/network/errors';

describe('macForIp', () => {
  it('is 02:42 plus the address bytes, like Docker', () => {
    assert.equal(macForIp('10.214.1.2'), '02:42:0a:d6:01:02');
    assert.equal(macForIp('255.0.0.1'), '02:42:ff:00:00:01');
  });
  it('is locally administered unicast', () => {
    const first = parseInt(macForIp('10.0.0.1').slice(0, 2), 16);
    assert.equal(first & 0b11, 0b10);
  });
  it('rejects what is not IPv4', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', 'fe80::1', '']) assert.throws(() => macForIp(bad), InvalidArgumentError, bad);
  });
});

describe('normalizeMac', () => {
  it('lower-cases and rejects multicast and zero', () => {
    assert.equal(normalizeMac('02:42:0A:D6:01:02', 'mac'), '02:42:0a:d6:01:02');
    for (const bad of ['01:00:5e:00:00:01', '00:00:00:00:00:00', '02:42:0a:d6:01', 'zz:42:0a:d6:01:02']) {
      assert.throws(() => normalizeMac(bad, 'mac'), InvalidNetworkConfigError, bad);
    }
  });
});

describe('ipv4', () => {
  it('parses CIDRs and membership', () => {
    const c = parseCidr('10.214.1.0/24', 'subnet');
    assert.equal(c.prefixLen, 24);
    assert.ok(inCidr(parseIpv4('10.214.1.200') ?? 0, c));
    assert.ok(!inCidr(parseIpv4('10.214.2.1') ?? 0, c));
    assert.throws(() => parseCidr('10.214.1.1/24', 'subnet'), /host bits/);
    assert.throws(() => parseCidr('10.214.1.0/33', 'subnet'), InvalidNetworkConfigError);
    assert.throws(() => parseCidr('10.214.1.0', 'subnet'), InvalidNetworkConfigError);
  });
});
