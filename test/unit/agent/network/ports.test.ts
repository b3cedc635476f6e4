import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filterRuleset } from '../../../../agent/network/batch';
import { InvalidNetworkConfigError } from '../../../../agent/network/errors';
import { HostNetwork } from '../../../../agent/network/host-network';
import { macForIp } from '../../../../shared/net/ipv4';
import { bridgeName } from '../../../../agent/network/names';
import { localnetBridges, nodeEndpointCommands, portsRuleset, validatePublishedPorts, type PublishedPort } from '../../../../agent/network/ports';
import type { OverlaySpec } from '../../../../agent/network/types';
import { FakeNetSys } from './fake-sys';

const ingress: OverlaySpec = { id: 'ingress', vni: 4096, subnet: '10.214.5.0/24', gateway: '10.214.5.1', mtu: 1450, encrypted: false };
const other: OverlaySpec = { id: 'other', vni: 4097, subnet: '10.214.6.0/24', gateway: '10.214.6.1', mtu: 1450, encrypted: false };
const BR = bridgeName('t1', ingress.id);
const BR2 = bridgeName('t1', other.id);

const web: PublishedPort = {
  protocol: 'tcp',
  published: 8080,
  backends: [
    { ip: '10.214.5.2', port: 80 },
    { ip: '10.214.5.3', port: 8000 },
  ],
  snat: { networkId: 'ingress', ip: '10.214.5.250' },
};
const dns: PublishedPort = { protocol: 'udp', published: 5353, backends: [{ ip: '10.214.5.4', port: 53 }], snat: { networkId: 'ingress', ip: '10.214.5.250' } };
const hostMode: PublishedPort = { protocol: 'tcp', published: 9090, backends: [{ ip: '10.214.6.7', port: 80 }], snat: null };

describe('portsRuleset', () => {
  it('ingress TCP: vmap dispatch from prerouting and output (loopback too), numgen concat map, forward accept, SNAT through the bridge only from loopback (everyone else is seen as they are), loopback guard', () => {
    const text = portsRuleset('t1', [ingress], [web]);
    assert.equal(
      text,
      [
        'table ip tsswarm_t1 {',
        '  set published_tcp {',
        '    type inet_service',
        '    elements = { 8080 }',
        '  }',
        '  set snat_0_tcp {',
        '    type inet_service',
        '    elements = { 8080 }',
        '  }',
        '  chain ports_prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    fib daddr type local meta l4proto . th dport vmap { tcp . 8080 : jump port_tcp_8080 }',
        '  }',
        '  chain ports_output {',
        '    type nat hook output priority -100; policy accept;',
        '    fib daddr type local meta l4proto . th dport vmap { tcp . 8080 : jump port_tcp_8080 }',
        '  }',
        '  chain port_tcp_8080 {',
        '    meta l4proto tcp dnat ip to numgen inc mod 2 map { 0 : 10.214.5.2 . 80, 1 : 10.214.5.3 . 8000 }',
        '  }',
        '  chain ports_postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    oifname "${BR}" ip saddr 127.0.0.0/8 ct status dnat meta l4proto tcp ct original proto-dst @snat_0_tcp snat ip to 10.214.5.250`,
        '    ip saddr 127.0.0.0/8 ct status dnat meta l4proto tcp ct original proto-dst @published_tcp masquerade',
        '  }',
        '  chain ports_localnet {',
        '    type filter hook prerouting priority raw; policy accept;',
        `    iifname { "${BR}" } ip daddr 127.0.0.0/8 drop`,
        `    iifname { "${BR}" } ip saddr 127.0.0.0/8 drop`,
        '  }',
        '}',
        'insert rule ip tsswarm_t1 forward ct status dnat meta l4proto tcp ct original proto-dst @published_tcp accept',
        '',
      ].join('\n'),
    );
  });

  it('host mode: DNAT and forward accept, no SNAT but for loopback sources (masquerade)', () => {
    const text = portsRuleset('t1', [other], [hostMode]);
    assert.match(text, /chain port_tcp_9090 \{\n {4}meta l4proto tcp dnat ip to numgen inc mod 1 map \{ 0 : 10\.214\.6\.7 \. 80 \}/);
    assert.match(text, /ct original proto-dst @published_tcp accept/);
    assert.doesNotMatch(text, /snat/);
    assert.ok(
      text.includes(
        [
          '  chain ports_postrouting {',
          '    type nat hook postrouting priority srcnat; policy accept;',
          '    ip saddr 127.0.0.0/8 ct status dnat meta l4proto tcp ct original proto-dst @published_tcp masquerade',
          '  }',
        ].join('\n'),
      ),
    );
    assert.ok(text.includes(`    iifname { "${BR2}" } ip daddr 127.0.0.0/8 drop\n`), 'the backend network is guarded');
  });

  it('empty: no port, or only ports without backends, adds nothing (the port stays closed)', () => {
    assert.equal(portsRuleset('t1', [ingress], []), '');
    assert.equal(portsRuleset('t1', [ingress], [{ ...web, backends: [] }]), '');
  });

  it('multiple ports and UDP: one vmap, one chain per port, one set per protocol, SNAT grouped per network and protocol', () => {
    const text = portsRuleset('t1', [ingress, other], [hostMode, dns, web, { ...web, published: 8081, backends: [] }, { ...web, published: 8443 }]);
    const vmap = 'meta l4proto . th dport vmap { tcp . 8080 : jump port_tcp_8080, tcp . 8443 : jump port_tcp_8443, tcp . 9090 : jump port_tcp_9090, udp . 5353 : jump port_udp_5353 }';
    assert.ok(text.includes(`    fib daddr type local ${vmap}\n`));
    assert.ok(text.includes(`  chain ports_output {\n    type nat hook output priority -100; policy accept;\n    fib daddr type local ${vmap}\n  }`));
    assert.doesNotMatch(text, /daddr != 127/, 'loopback destinations are published too');
    assert.doesNotMatch(text, /8081/, 'port without backends');
    assert.match(text, /set published_tcp \{\n {4}type inet_service\n {4}elements = \{ 8080, 8443, 9090 \}/);
    assert.match(text, /set published_udp \{\n {4}type inet_service\n {4}elements = \{ 5353 \}/);
    assert.match(text, /set snat_0_tcp \{\n {4}type inet_service\n {4}elements = \{ 8080, 8443 \}/);
    assert.match(text, /set snat_1_udp \{\n {4}type inet_service\n {4}elements = \{ 5353 \}/);
    assert.match(text, /chain port_udp_5353 \{\n {4}meta l4proto udp dnat ip to numgen inc mod 1 map \{ 0 : 10\.214\.5\.4 \. 53 \}/);
    assert.ok(text.includes(`oifname "${BR}" ip saddr 127.0.0.0/8 ct status dnat meta l4proto udp ct original proto-dst @snat_1_udp snat ip to 10.214.5.250`));
    assert.doesNotMatch(text, new RegExp(`oifname "${BR2}"`), 'host mode network has no SNAT');
    // Ingress SNAT first (the first NAT that applies wins), then the loopback masquerade, per protocol.
    const post = text.slice(text.indexOf('chain ports_postrouting')).split('\n').slice(2, 7);
    assert.deepEqual(post, [
      `    oifname "${BR}" ip saddr 127.0.0.0/8 ct status dnat meta l4proto tcp ct original proto-dst @snat_0_tcp snat ip to 10.214.5.250`,
      `    oifname "${BR}" ip saddr 127.0.0.0/8 ct status dnat meta l4proto udp ct original proto-dst @snat_1_udp snat ip to 10.214.5.250`,
      '    ip saddr 127.0.0.0/8 ct status dnat meta l4proto tcp ct original proto-dst @published_tcp masquerade',
      '    ip saddr 127.0.0.0/8 ct status dnat meta l4proto udp ct original proto-dst @published_udp masquerade',
      '  }',
    ]);
    assert.ok(text.includes(`    iifname { ${[BR, BR2].sort().map((b) => `"${b}"`).join(', ')} } ip saddr 127.0.0.0/8 drop\n`));
    const inserts = text.split('\n').filter((l) => l.startsWith('insert rule'));
    assert.deepEqual(inserts, [
      'insert rule ip tsswarm_t1 forward ct status dnat meta l4proto tcp ct original proto-dst @published_tcp accept',
      'insert rule ip tsswarm_t1 forward ct status dnat meta l4proto udp ct original proto-dst @published_udp accept',
    ]);
  });

  it('without overlays there is no isolation chain to insert into, no SNAT for unknown networks, no bridge to guard', () => {
    const text = portsRuleset('t1', [], [web]);
    assert.doesNotMatch(text, /insert rule/);
    assert.doesNotMatch(text, /snat ip to/);
    assert.doesNotMatch(text, /ports_localnet/);
    assert.match(text, /dnat ip to/);
  });
});

describe('localnetBridges', () => {
  it('names the bridges of the networks holding a backend of a port with backends, sorted, once each', () => {
    assert.deepEqual(localnetBridges('t1', [ingress, other], [web, dns, hostMode]), [BR, BR2].sort());
    assert.deepEqual(localnetBridges('t1', [ingress, other], [web, dns]), [BR]);
    assert.deepEqual(localnetBridges('t1', [ingress, other], [{ ...hostMode, backends: [] }]), [], 'no backend: nothing to open');
    assert.deepEqual(localnetBridges('t1', [ingress], [hostMode]), [], 'a backend on no network here');
    assert.deepEqual(localnetBridges('t1', [ingress, other], []), []);
  });

  it('relies on filterRuleset having a forward chain ahead of which the accepts go', () => {
    const base = filterRuleset('t1', [ingress], new Set());
    assert.match(base, /chain forward \{\n {4}type filter hook forward priority filter; policy accept;\n/);
    assert.match(base, /^table ip tsswarm_t1\ndelete table ip tsswarm_t1\n/);
  });
});

describe('validatePublishedPorts', () => {
  const nets = new Map([[ingress.id, ingress]]);
  it('accepts good ports and refuses bad ones', () => {
    validatePublishedPorts([web, dns, { ...hostMode, backends: [] }], nets);
    const bad: PublishedPort[] = [
      { ...web, published: 0 },
      { ...web, published: 65536 },
      { ...web, protocol: 'sctp' as 'tcp' },
      { ...web, backends: [{ ip: '10.214.5.300', port: 80 }] },
      { ...web, backends: [{ ip: '10.214.5.2', port: 0 }] },
      { ...web, snat: { networkId: 'nope', ip: '10.214.5.250' } },
      { ...web, snat: { networkId: 'ingress', ip: '10.214.9.250' } },
    ];
    for (const p of bad) assert.throws(() => validatePublishedPorts([p], nets), InvalidNetworkConfigError, JSON.stringify(p));
    assert.throws(() => validatePublishedPorts([web, { ...web, backends: [] }], nets), /published twice/);
    validatePublishedPorts([web, { ...web, protocol: 'udp' }], nets);
  });
});

describe('nodeEndpointCommands', () => {
  it('sets address and MAC, removes other non-gateway addresses; null restores the gateway MAC', () => {
    const gwMac = macForIp(ingress.gateway);
    assert.deepEqual(nodeEndpointCommands('t1', ingress, { ip: '10.214.5.250', mac: '02:42:0a:d6:05:fa' }, ['10.214.5.1/24', '10.214.5.249/24', '10.214.5.250/24'], gwMac), [
      `addr del 10.214.5.249/24 dev ${BR}`,
      `link set ${BR} address 02:42:0a:d6:05:fa`,
      `addr replace 10.214.5.250/24 dev ${BR}`,
    ]);
    assert.deepEqual(nodeEndpointCommands('t1', ingress, null, ['10.214.5.1/24', '10.214.5.250/24'], gwMac), [`addr del 10.214.5.250/24 dev ${BR}`, `link set ${BR} address ${gwMac}`]);
  });
});

describe('HostNetwork published ports (fake kernel)', () => {
  function setup(): { sys: FakeNetSys; hn: HostNetwork; cleanup: () => void } {
    const tmp = mkdtempSync(join(tmpdir(), 'tsswarm-hnp-'));
    const sys = new FakeNetSys();
    const hn = new HostNetwork({ underlayAddr: '10.213.0.1', netnsDir: join(tmp, 'netns'), prefix: 't1' }, sys);
    return { sys, hn, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
  }
  const nftInputs = (sys: FakeNetSys): string[] => sys.calls.filter((c) => c.argv[0] === 'nft').map((c) => c.input);

  it('setPublishedPorts writes one transaction with the table and the ports, turns forwarding on, skips the same set', async () => {
    const { sys, hn, cleanup } = setup();
    try {
      await hn.ensureOverlay(ingress);
      const before = nftInputs(sys).length;
      await hn.setPublishedPorts([web, dns]);
      const texts = nftInputs(sys);
      assert.equal(texts.length, before + 1);
      const last = texts.at(-1) ?? '';
      assert.ok(last.startsWith(filterRuleset('t1', [ingress], new Set())));
      assert.ok(last.endsWith(portsRuleset('t1', [ingress], [web, dns])));
      assert.ok(sys.native.includes('sysctl /proc/sys/net/ipv4/ip_forward=1'));
      await hn.setPublishedPorts([web, dns]);
      assert.equal(nftInputs(sys).length, before + 1, 'same set: no rewrite');
      // Another overlay's rewrite keeps the ports.
      await hn.ensureOverlay(other);
      assert.ok((nftInputs(sys).at(-1) ?? '').includes('chain port_tcp_8080'));
      await hn.setPublishedPorts([]);
      assert.doesNotMatch(nftInputs(sys).at(-1) ?? '', /port_/);
      await assert.rejects(hn.setPublishedPorts([{ ...web, snat: { networkId: 'nope', ip: '10.214.5.250' } }]), InvalidNetworkConfigError);
      await hn.close();
    } finally {
      cleanup();
    }
  });

  it('route_localnet: on for the backends\' bridges after the guard is written, off before a rewrite without it', async () => {
    // One log of nft writes and sysctl writes, in the order they happen.
    const log: string[] = [];
    const sys = new (class extends FakeNetSys {
      override async nft(script: string): Promise<{ ok: boolean; error: string }> {
        log.push(script.includes('chain ports_localnet') ? 'nft guarded' : 'nft');
        return super.nft(script);
      }
      override writeSysctl(path: string, value: string): void {
        if (path.endsWith('/route_localnet')) log.push(`${path.split('/')[6]}=${value}`);
        super.writeSysctl(path, value);
      }
    })();
    const tmp = mkdtempSync(join(tmpdir(), 'tsswarm-hnl-'));
    const hn2 = new HostNetwork({ underlayAddr: '10.213.0.1', netnsDir: join(tmp, 'netns'), prefix: 't1' }, sys);
    try {
      await hn2.ensureOverlay(ingress);
      await hn2.ensureOverlay(other);
      log.length = 0;
      await hn2.setPublishedPorts([web]);
      assert.deepEqual(log, [`${BR2}=0`, 'nft guarded', `${BR}=1`]);
      log.length = 0;
      await hn2.setPublishedPorts([web, hostMode]);
      assert.deepEqual(log, ['nft guarded', ...[BR, BR2].sort().map((b) => `${b}=1`)]);
      log.length = 0;
      await hn2.setPublishedPorts([{ ...web, backends: [] }]);
      assert.deepEqual(log, [...[BR, BR2].map((b) => `${b}=0`), 'nft']);
      // close(): off before the table goes.
      await hn2.setPublishedPorts([web]);
      log.length = 0;
      await hn2.close();
      assert.deepEqual(log, [`${BR}=0`, `${BR2}=0`, 'nft']);
      // A bridge gone already (ENOENT from /proc/sys) is not an error.
      const gone = new (class extends FakeNetSys {
        override writeSysctl(path: string, value: string): void {
          if (path.endsWith('/route_localnet')) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
          super.writeSysctl(path, value);
        }
      })();
      const hn3 = new HostNetwork({ underlayAddr: '10.213.0.1', netnsDir: join(tmp, 'netns3'), prefix: 't1' }, gone);
      await hn3.ensureOverlay(ingress);
      await hn3.setPublishedPorts([web]);
      await hn3.close();
    } finally {
      await hn2.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a failed write is retried by the same set', async () => {
    const { sys, hn, cleanup } = setup();
    try {
      await hn.ensureOverlay(ingress);
      sys.answers.set('nft -f -', { code: 1, stdout: '', stderr: 'Error: boom' });
      await assert.rejects(hn.setPublishedPorts([web]), /boom/);
      sys.answers.delete('nft -f -');
      const n = nftInputs(sys).length;
      await hn.setPublishedPorts([web]);
      assert.equal(nftInputs(sys).length, n + 1);
    } finally {
      cleanup();
    }
  });

  it('setNodeEndpoint reads the bridge addresses, then one ip batch; refuses unknown networks and bad addresses', async () => {
    const { sys, hn, cleanup } = setup();
    try {
      await assert.rejects(hn.setNodeEndpoint('ingress', { ip: '10.214.5.250', mac: macForIp('10.214.5.250') }), InvalidNetworkConfigError);
      await hn.ensureOverlay(ingress);
      sys.answers.set(`ip -j -4 addr show dev ${BR}`, {
        code: 0,
        stdout: JSON.stringify([{ ifname: BR, addr_info: [{ family: 'inet', local: '10.214.5.1', prefixlen: 24 }, { family: 'inet', local: '10.214.5.9', prefixlen: 24 }] }]),
        stderr: '',
      });
      await hn.setNodeEndpoint('ingress', { ip: '10.214.5.250', mac: '02:42:0A:D6:05:FA' });
      assert.deepEqual(sys.batches('ip').at(-1), [`addr del 10.214.5.9/24 dev ${BR}`, `link set ${BR} address 02:42:0a:d6:05:fa`, `addr replace 10.214.5.250/24 dev ${BR}`]);
      await assert.rejects(hn.setNodeEndpoint('ingress', { ip: '10.214.6.250', mac: macForIp('10.214.6.250') }), InvalidNetworkConfigError);
      await assert.rejects(hn.setNodeEndpoint('ingress', { ip: '10.214.5.1', mac: macForIp('10.214.5.1') }), InvalidNetworkConfigError);
      await assert.rejects(hn.setNodeEndpoint('ingress', { ip: '10.214.5.250', mac: '01:00:5e:00:00:01' }), InvalidNetworkConfigError);
      await hn.setNodeEndpoint('ingress', null);
      assert.deepEqual(sys.batches('ip').at(-1), [`addr del 10.214.5.9/24 dev ${BR}`, `link set ${BR} address ${macForIp(ingress.gateway)}`]);
    } finally {
      cleanup();
    }
  });
});
