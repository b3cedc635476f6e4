import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeName, isOwnLink, nftTableName, sandboxVethPrefix, validateIfname, validatePrefix, vethName, vxlanName } from '../../../../agent/network/names';
import { InvalidNetworkConfigError } from '../../../../agent/network/errors';

describe('link names', () => {
  const netId = 'x'.repeat(64);
  const sbId = 'task-' + 'y'.repeat(120);
  it('fit IFNAMSIZ for the longest prefix and any id length', () => {
    for (const n of [bridgeName('abcd', netId), vxlanName('abcd', netId), vethName('abcd', sbId, 'eth12'), vethName('abcd', sbId, 'x'.repeat(15))]) {
      assert.ok(n.length <= 15, `${n} is ${n.length} chars`);
      assert.match(n, /^[a-z0-9]+$/);
    }
  });
  it('are deterministic and differ per kind, id and prefix', () => {
    assert.equal(bridgeName('t1', 'net1'), bridgeName('t1', 'net1'));
    const all = new Set([
      bridgeName('t1', 'net1'), vxlanName('t1', 'net1'), bridgeName('t1', 'net2'), bridgeName('t2', 'net1'),
      vethName('t1', 'sb1', 'eth0'), vethName('t1', 'sb1', 'eth1'), vethName('t1', 'sb2', 'eth0'), vethName('t2', 'sb1', 'eth0'),
    ]);
    assert.equal(all.size, 8);
  });
  it('never give two interfaces of one sandbox the same veth (a task on many networks)', () => {
    const names = Array.from({ length: 100 }, (_, i) => vethName('t1', 'sb1', `eth${i}`));
    assert.equal(new Set(names).size, 100);
  });
  it('give every veth of one sandbox the same name prefix', () => {
    const head = sandboxVethPrefix('t1', 'sb1');
    assert.ok(vethName('t1', 'sb1', 'a').startsWith(head));
    assert.ok(vethName('t1', 'sb1', 'b').startsWith(head));
    assert.ok(!vethName('t1', 'sb2', 'a').startsWith(head));
  });
  it('recognise their own links and nothing else', () => {
    assert.ok(isOwnLink('t1', bridgeName('t1', 'n')));
    assert.ok(isOwnLink('t1', vxlanName('t1', 'n')));
    assert.ok(isOwnLink('t1', vethName('t1', 's', 'n')));
    for (const other of ['eth0', 'lo', 't1', 't1b123', bridgeName('t2', 'n'), 't1bzzzzzzzz', 'docker0']) assert.ok(!isOwnLink('t1', other), other);
    // A prefix that is a prefix of another agent's prefix must not claim its links.
    assert.ok(!isOwnLink('t', bridgeName('t1', 'n')));
  });
  it('validate prefixes and interface names', () => {
    for (const p of ['a', 'ab12', 'z9']) validatePrefix(p);
    for (const p of ['', 'abcde', '1a', 'A', 'a-b']) assert.throws(() => validatePrefix(p), InvalidNetworkConfigError, p);
    validateIfname('eth0');
    for (const n of ['', 'a'.repeat(16), 'a b', 'a/b', '..']) assert.throws(() => validateIfname(n), InvalidNetworkConfigError, n);
  });
  it('name the nft table per prefix', () => {
    assert.equal(nftTableName('t1'), 'tsswarm_t1');
  });
});
