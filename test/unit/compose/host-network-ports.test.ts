import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertFails, load, service, yaml } from './helpers';

const NS = 'com.docker.stack.namespace';

describe('the host network', () => {
  it('a service joining it uses its host\'s network, with no overlay and no default network', () => {
    const stack = load(yaml`
      services:
        agent:
          image: busybox
          networks: [hostnet]
        web:
          image: busybox
        probe:
          image: busybox
          networks:
            hostnet:
      networks:
        hostnet:
          external: true
          name: host
    `);
    assert.deepEqual(stack.warnings, []);
    const agent = service(stack, 'test_agent');
    assert.equal(agent.task.hostNetwork, true);
    assert.deepEqual(agent.networks, []);
    assert.equal(service(stack, 'test_probe').task.hostNetwork, true);
    const web = service(stack, 'test_web');
    assert.equal(web.task.hostNetwork, false);
    assert.deepEqual(web.networks, [{ target: 'test_default', aliases: [] }]);
    // host is the node's own network: the stack neither creates nor lists it.
    assert.deepEqual(stack.networks.map((n) => n.key), ['default']);
  });

  it('an external network keyed host needs no name', () => {
    const stack = load('services:\n  a:\n    image: busybox\n    networks: [host]\nnetworks:\n  host:\n    external: true\n');
    assert.equal(service(stack, 'test_a').task.hostNetwork, true);
    assert.deepEqual(stack.networks, []);
  });

  it('a stack network keyed host is an ordinary overlay', () => {
    const stack = load('services:\n  a:\n    image: busybox\n    networks: [host]\nnetworks:\n  host:\n');
    assert.equal(service(stack, 'test_a').task.hostNetwork, false);
    assert.deepEqual(service(stack, 'test_a').networks, [{ target: 'test_host', aliases: [] }]);
  });

  it('refuses host combined with other networks', () => {
    assertFails(
      'services:\n  a:\n    image: busybox\n    networks: [front, hostnet]\nnetworks:\n  front:\n  hostnet: {external: true, name: host}\n',
      /^services\.a\.networks: network hostnet is the host network, which cannot be combined with other networks \(front\) \(line 4\)$/,
      4,
    );
  });
});

describe('top-level network keys', () => {
  it('ipam driver default, labels as list or map, name on a stack network', () => {
    const stack = load(yaml`
      services:
        a: {image: busybox, networks: [one, two]}
      networks:
        one:
          name: team-one
          ipam:
            driver: default
            config: [{subnet: 10.30.0.0/24}]
          labels: [a=1, b]
        two:
          labels: {c: 3}
          driver_opts: {encrypted: "true"}
    `);
    assert.deepEqual(stack.warnings, []);
    assert.deepEqual(stack.networks.map((n) => n.spec), [
      { name: 'team-one', stack: 'test', driver: 'overlay', subnet: '10.30.0.0/24', attachable: false, labels: { a: '1', b: '', [NS]: 'test' }, encrypted: false },
      { name: 'test_two', stack: 'test', driver: 'overlay', subnet: null, attachable: false, labels: { c: '3', [NS]: 'test' }, encrypted: true },
    ]);
    assert.deepEqual(service(stack, 'test_a').networks.map((n) => n.target), ['team-one', 'test_two']);
  });

  it('an older external: {name: x} names the external network', () => {
    const stack = load('services:\n  a: {image: busybox, networks: [ext]}\nnetworks:\n  ext:\n    external: {name: platform}\n');
    assert.deepEqual(stack.networks, [{ key: 'ext', external: true, spec: { name: 'platform', stack: null, driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false } }]);
  });

  it('refuses another IPAM driver', () => {
    assertFails('services:\n  a: {image: busybox}\nnetworks:\n  n:\n    ipam:\n      driver: infoblox\n', /^networks\.n\.ipam\.driver: only the default IPAM driver is supported, got "infoblox" \(line 6\)$/, 6);
  });

  it('loads a file without version:', () => {
    assert.deepEqual(load('services:\n  a: {image: busybox}\n').warnings, []);
  });
});

describe('ports: modes and protocols', () => {
  it('mixes host and ingress mode in one service', () => {
    const stack = load(yaml`
      services:
        web:
          image: busybox
          ports:
            - {target: 80, published: 8080, mode: ingress}
            - {target: 81, published: 8081, mode: host}
            - {target: 82, mode: host}
            - "53:53/udp"
            - {target: 53, published: 53, protocol: tcp}
    `);
    assert.deepEqual(service(stack, 'test_web').endpoint.ports, [
      { target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' },
      { target: 81, published: 8081, protocol: 'tcp', mode: 'host' },
      { target: 82, published: null, protocol: 'tcp', mode: 'host' },
      { target: 53, published: 53, protocol: 'udp', mode: 'ingress' },
      { target: 53, published: 53, protocol: 'tcp', mode: 'ingress' },
    ]);
  });

  it('refuses one published port in two modes of one service', () => {
    assertFails('services:\n  web:\n    image: busybox\n    ports:\n      - {target: 80, published: 8080}\n      - {target: 81, published: 8080, mode: host}\n', /services\.web\.ports\[1\]: published port 8080\/tcp is listed twice/, 6);
  });
});
