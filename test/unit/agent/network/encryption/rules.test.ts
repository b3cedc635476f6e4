import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { espIds } from '../../../../../agent/network/encryption/ids';
import { espChains } from '../../../../../agent/network/encryption/nft';
import { parseRules, routingCommands, unroutingCommands } from '../../../../../agent/network/encryption/routing';
import { filterRuleset } from '../../../../../agent/network/batch';
import { isOwnLink } from '../../../../../agent/network/names';
import type { OverlaySpec } from '../../../../../agent/network/types';

const ids = espIds('ta');

describe('espIds', () => {
  it('derives the TUN name, mark, table and rule priority from the prefix', () => {
    assert.equal(ids.tun, 'taesp');
    assert.equal(ids.mark >>> 16, 0x0e5c);
    assert.equal(ids.table, ids.mark);
    assert.ok(ids.pref >= 30000 && ids.pref < 32000, 'after local, before main');
    assert.notEqual(espIds('tb').mark, ids.mark);
    assert.deepEqual(espIds('ta'), ids, 'deterministic');
    assert.ok(isOwnLink('ta', 'taesp'), 'close() sweeps the TUN device');
    assert.equal(isOwnLink('ta', 'tbesp'), false);
  });
});

describe('espChains', () => {
  it('marks, fences out and fences in the encrypted VNIs only', () => {
    const mark = `0x${ids.mark.toString(16)}`;
    assert.deepEqual(espChains('ta', [4099, 4097, 4099], 4789), [
      '  chain esp_mark {',
      '    type route hook output priority mangle; policy accept;',
      `    udp dport 4789 @th,96,24 { 4097, 4099 } meta mark set ${mark}`,
      '  }',
      '  chain esp_out {',
      '    type filter hook postrouting priority filter; policy accept;',
      '    udp dport 4789 @th,96,24 { 4097, 4099 } oifname != "taesp" drop',
      '  }',
      '  chain esp_in {',
      '    type filter hook input priority filter; policy accept;',
      '    udp dport 4789 @th,96,24 { 4097, 4099 } iifname != "taesp" drop',
      '  }',
    ]);
    assert.deepEqual(espChains('ta', [], 4789), []);
  });

  it('is part of the agent table only while an overlay is encrypted', () => {
    const plain: OverlaySpec = { id: 'p', vni: 4097, subnet: '10.214.1.0/24', gateway: '10.214.1.1', mtu: 1450, encrypted: false };
    const enc: OverlaySpec = { id: 'e', vni: 4098, subnet: '10.214.2.0/24', gateway: '10.214.2.1', mtu: 1416, encrypted: true };
    assert.doesNotMatch(filterRuleset('ta', [plain], new Set()), /esp_/);
    const both = filterRuleset('ta', [plain, enc], new Set());
    assert.match(both, /@th,96,24 \{ 4098 \} meta mark set/);
    assert.doesNotMatch(both, /4097 \}/, 'the plain VNI is not matched');
    assert.ok(both.trimEnd().endsWith('}'));
  });
});

describe('routing commands', () => {
  it('makes the TUN device, its table and the fwmark rule, each only when missing', () => {
    const { tun, mark, table, pref } = ids;
    const hexMark = `0x${mark.toString(16)}`;
    assert.deepEqual(routingCommands('ta', { tun: false, rule: false }), [
      `tuntap add dev ${tun} mode tun`,
      `link set dev ${tun} mtu 1500 txqueuelen 2000 up`,
      `route replace default dev ${tun} table ${table}`,
      `rule add fwmark ${hexMark} lookup ${table} pref ${pref}`,
    ]);
    assert.deepEqual(routingCommands('ta', { tun: true, rule: true }), [`link set dev ${tun} mtu 1500 txqueuelen 2000 up`, `route replace default dev ${tun} table ${table}`]);
    assert.deepEqual(unroutingCommands('ta', 2), [`rule del fwmark ${hexMark} lookup ${table} pref ${pref}`, `rule del fwmark ${hexMark} lookup ${table} pref ${pref}`, `link del ${tun}`]);
  });

  it('counts its own rules in ip -j rule show', () => {
    const { mark, table, pref } = ids;
    const rules = JSON.stringify([
      { priority: 0, src: 'all', table: 'local' },
      { priority: pref, src: 'all', fwmark: `0x${mark.toString(16)}`, table: String(table) },
      { priority: pref, src: 'all', fwmark: '0x1', table: String(table) },
      { priority: 32766, src: 'all', table: 'main' },
    ]);
    assert.equal(parseRules('ta', rules), 1);
    assert.equal(parseRules('tb', rules), 0);
    assert.equal(parseRules('ta', ''), 0);
  });
});
