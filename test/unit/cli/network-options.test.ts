import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetworkOptions } from '../../../cli/commands/network-options';
import { InvalidArgumentError } from '../../../shared/errors';

describe('network create --opt', () => {
  it('turns encryption on for encrypted with any value, as Docker does', () => {
    for (const o of ['encrypted', 'encrypted=', 'encrypted=true', 'encrypted=false']) assert.deepEqual(parseNetworkOptions([o]), { encrypted: true }, o);
    assert.deepEqual(parseNetworkOptions([]), { encrypted: false });
    assert.deepEqual(parseNetworkOptions(['encrypted', 'encrypted=1']), { encrypted: true });
  });

  it('refuses other options and empty keys in one line', () => {
    assert.throws(() => parseNetworkOptions(['com.docker.network.driver.mtu=1400']), (e: Error) => e instanceof InvalidArgumentError && e.message === 'unsupported network option "com.docker.network.driver.mtu" (supported: encrypted)');
    assert.throws(() => parseNetworkOptions(['encrypt']), /unsupported network option "encrypt"/);
    assert.throws(() => parseNetworkOptions(['=x']), /invalid network option "=x": expected KEY or KEY=VALUE/);
    assert.throws(() => parseNetworkOptions(['']), /invalid network option/);
  });
});
