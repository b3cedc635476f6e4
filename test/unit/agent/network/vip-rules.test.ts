import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { vipRules } from '../../../../agent/network/vip-rules';

test('vipRules declares the chain, flushes it and adds one DNAT rule per VIP with backends', () => {
  const text = vipRules([
    { vip: '10.0.1.2', backends: ['10.0.1.5', '10.0.1.6'] },
    { vip: '10.0.1.3', backends: [] },
  ]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'table ip tsswarm_lb {');
  assert.ok(lines.includes('    type nat hook output priority -100; policy accept;'));
  // Replaced in place, never deleted: the flush comes before the rules, in the same transaction.
  assert.ok(!/delete/.test(text));
  const flush = lines.indexOf('flush chain ip tsswarm_lb output');
  const rules = lines.filter((l) => l.startsWith('add rule'));
  assert.ok(flush > 0 && lines.indexOf(rules[0]!) > flush);
  assert.deepEqual(rules, ['add rule ip tsswarm_lb output ip daddr 10.0.1.2 dnat to numgen inc mod 2 map { 0 : 10.0.1.5, 1 : 10.0.1.6 }']);
});

test('vipRules with no backends leaves an empty chain', () => {
  assert.ok(!/add rule/.test(vipRules([{ vip: '10.0.1.2', backends: [] }])));
  assert.match(vipRules([]), /flush chain ip tsswarm_lb output\n$/);
});
