import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { meshMark, meshReturnNft, meshReturnRoutes, MESH_RULE_PRIORITY } from '../../../../agent/network/mesh-return';
import { macForIp } from '../../../../shared/net/ipv4';
import { HostNetwork } from '../../../../agent/network/host-network';
import { FakeNetSys } from './fake-sys';

describe('the routing mesh return paths', () => {
  it('a mark per entry node, from its address: the same whatever other nodes there are', () => {
    assert.equal(meshMark('10.255.0.250'), 0x7a5e00fa);
    assert.equal(meshMark('10.255.1.7'), 0x7a5e0107);
    assert.throws(() => meshMark('nope'));
  });

  it('nft: new connections on the ingress interface marked by the source MAC of the entry node; the mark restored on output', () => {
    const text = meshReturnNft('eth1', ['10.255.0.251', '10.255.0.250']);
    assert.match(text, /^table ip tsswarm_mesh \{/);
    assert.ok(text.includes(`add element ip tsswarm_mesh entry { ${macForIp('10.255.0.250')} : 0x7a5e00fa, ${macForIp('10.255.0.251')} : 0x7a5e00fb }`), text);
    assert.ok(text.includes('add rule ip tsswarm_mesh prerouting iifname "eth1" ct state new ct mark set ether saddr map @entry'));
    assert.ok(text.includes('add rule ip tsswarm_mesh output ct mark and 0xffff0000 == 0x7a5e0000 meta mark set ct mark'));
    assert.ok(text.includes('flush map ip tsswarm_mesh entry'), 'level-based: the whole set each time');
  });

  it('no endpoints: the table stays, empty', () => {
    const text = meshReturnNft('eth1', []);
    assert.doesNotMatch(text, /add rule|add element/);
  });

  it('ip rules: added for new nodes, deleted for gone ones, every route replaced', () => {
    assert.deepEqual(meshReturnRoutes('eth1', [], ['10.255.0.250']), [
      `rule add fwmark 0x7a5e00fa lookup ${0x7a5e00fa} priority ${MESH_RULE_PRIORITY}`,
      `route replace default via 10.255.0.250 dev eth1 onlink table ${0x7a5e00fa}`,
    ]);
    assert.deepEqual(meshReturnRoutes('eth1', ['10.255.0.250', '10.255.0.251'], ['10.255.0.251', '10.255.0.252']), [
      `rule del fwmark 0x7a5e00fa lookup ${0x7a5e00fa} priority ${MESH_RULE_PRIORITY}`,
      `route flush table ${0x7a5e00fa}`,
      `route replace default via 10.255.0.251 dev eth1 onlink table ${0x7a5e00fb}`,
      `rule add fwmark 0x7a5e00fc lookup ${0x7a5e00fc} priority ${MESH_RULE_PRIORITY}`,
      `route replace default via 10.255.0.252 dev eth1 onlink table ${0x7a5e00fc}`,
    ]);
  });

  it('HostNetwork.setMeshReturn: nft and ip inside the sandbox, rp_filter loose the first time only, the same set again is a no-op', async () => {
    const sys = new FakeNetSys();
    const hn = new HostNetwork({ underlayAddr: '10.0.0.1', netnsDir: '/run/t-netns', prefix: 'ta' }, sys);
    const path = await hn.createSandbox('t1');
    await hn.setMeshReturn('t1', 'eth1', ['10.255.0.250']);
    await hn.setMeshReturn('t1', 'eth1', ['10.255.0.250']);
    await hn.setMeshReturn('t1', 'eth1', ['10.255.0.250', '10.255.0.251']);
    const nft = sys.calls.filter((c) => c.argv.join(' ') === `nsenter --net=${path} nft -f -`);
    const ip = sys.calls.filter((c) => c.argv[0] === 'nsenter' && c.argv.includes('sh'));
    assert.equal(nft.length, 2);
    assert.equal(ip.length, 2);
    assert.match(ip[0]!.argv.at(-1)!, /^echo 2 > \/proc\/sys\/net\/ipv4\/conf\/eth1\/rp_filter && exec ip -force -batch -$/);
    assert.equal(ip[1]!.argv.at(-1), 'exec ip -force -batch -');
    assert.match(ip[1]!.input, /rule add fwmark 0x7a5e00fb/);
    assert.doesNotMatch(ip[1]!.input, /rule add fwmark 0x7a5e00fa/);
    await assert.rejects(hn.setMeshReturn('nope', 'eth1', []), /no sandbox nope/);
  });
});
