import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attachCommands, filterRuleset, fdbCommands, neighCommands, overlayCommands, removeOverlayCommands } from '../../../../agent/network/batch';
import { bridgeName, vethName, vxlanName } from '../../../../agent/network/names';
import type { OverlaySpec } from '../../../../agent/network/types';

const spec: OverlaySpec = { id: 'net1', vni: 4097, subnet: '10.214.1.0/24', gateway: '10.214.1.1', mtu: 1450, encrypted: false };
const br = bridgeName('t1', 'net1');
const vx = vxlanName('t1', 'net1');

describe('batch texts', () => {
  it('create a missing overlay: bridge with gateway and fixed MAC, VXLAN without learning or flooding', () => {
    assert.deepEqual(overlayCommands('t1', '10.213.0.1', spec, { bridge: false, vxlan: false, vxlanStale: false }), [
      `link add ${br} address 02:42:0a:d6:01:01 mtu 1450 type bridge`,
      `link set ${br} mtu 1450 up`,
      `addr replace 10.214.1.1/24 dev ${br}`,
      `link add ${vx} mtu 1450 type vxlan id 4097 local 10.213.0.1 dstport 4789 nolearning proxy`,
      `link set ${vx} master ${br} mtu 1450 up`,
    ]);
  });
  it('only re-assert an overlay that is there, and replace a VXLAN device configured otherwise', () => {
    assert.deepEqual(overlayCommands('t1', '10.213.0.1', spec, { bridge: true, vxlan: true, vxlanStale: false }), [
      `link set ${br} mtu 1450 up`,
      `addr replace 10.214.1.1/24 dev ${br}`,
      `link set ${vx} master ${br} mtu 1450 up`,
    ]);
    const stale = overlayCommands('t1', '10.213.0.1', spec, { bridge: true, vxlan: false, vxlanStale: true });
    assert.ok(stale.indexOf(`link del ${vx}`) < stale.findIndex((l) => l.startsWith(`link add ${vx}`)));
    assert.deepEqual(removeOverlayCommands('t1', 'net1'), [`link del ${vx}`, `link del ${br}`]);
  });
  it('attach with one host-side line: veth on the bridge, peer made inside the sandbox', () => {
    assert.deepEqual(attachCommands('t1', 'sb1', '/run/t/netns/sb1', spec, { ip: '10.214.1.2', mac: '02:42:0a:d6:01:02', ifname: 'eth0', defaultRoute: true }), [
      `link add ${vethName('t1', 'sb1', 'eth0')} mtu 1450 master ${br} up type veth peer name eth0 mtu 1450 address 02:42:0a:d6:01:02 netns /run/t/netns/sb1`,
    ]);
  });
  it('peer updates: deletes, then replaces (idempotent)', () => {
    const d = { fdbSet: [{ mac: '02:42:0a:d6:01:03', hostAddr: '10.213.0.2' }], fdbDel: ['02:42:0a:d6:01:09'], neighSet: [{ ip: '10.214.1.3', mac: '02:42:0a:d6:01:03' }], neighDel: ['10.214.1.9'] };
    assert.deepEqual(fdbCommands(vx, d), [`fdb del 02:42:0a:d6:01:09 dev ${vx} self`, `fdb replace 02:42:0a:d6:01:03 dev ${vx} dst 10.213.0.2 self permanent`]);
    assert.deepEqual(neighCommands(vx, d), [`neigh del 10.214.1.9 dev ${vx}`, `neigh replace 10.214.1.3 lladdr 02:42:0a:d6:01:03 dev ${vx} nud permanent`]);
  });
  it('nft: one table per agent, rewritten whole; isolation for every overlay, NAT only with egress; empty means deleted', () => {
    const other: OverlaySpec = { ...spec, id: 'net0', subnet: '10.214.2.0/24', gateway: '10.214.2.1' };
    const text = filterRuleset('t1', [spec, other], new Set(['net1']));
    assert.match(text, /^table ip tsswarm_t1\ndelete table ip tsswarm_t1\ntable ip tsswarm_t1 \{/);
    assert.ok(text.includes(`ip saddr 10.214.1.0/24 oifname != "${br}" masquerade`));
    assert.ok(!text.includes('10.214.2.0/24'), 'no NAT without egress');
    assert.ok(text.includes('type nat hook postrouting priority srcnat'));
    for (const b of [br, bridgeName('t1', 'net0')]) {
      assert.ok(text.includes(`oifname "${b}" ct state established,related accept\n    oifname "${b}" iifname != "${b}" drop`), b);
    }
    assert.equal(filterRuleset('t1', [], new Set()), 'table ip tsswarm_t1\ndelete table ip tsswarm_t1\n');
    assert.equal(filterRuleset('t1', [spec, other], new Set(['net1'])), filterRuleset('t1', [other, spec], new Set(['net1'])));
  });
});
