import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PortConfig } from '../../../shared/types';
import { assertFails, load, problemsOf, service, yaml } from './helpers';

const NS = 'com.docker.stack.namespace';

describe('loadStackText: networks, ports and name resolution', () => {
  it('converts a full stack with networks, ports, dns and extra_hosts', () => {
    const stack = load(yaml`
      services:
        web:
          image: nginx
          hostname: web-1
          ports:
            - "8080:80"
            - target: 443
              published: "8443"
              protocol: tcp
              mode: host
          networks:
            front:
              aliases: [www, www.internal]
            back:
          dns: [10.0.0.2, 10.0.0.3]
          extra_hosts:
            - "db.local:10.0.5.1"
            - "v6.local=::1"
        api:
          image: api
          networks: [back, shared]
          dns: 8.8.8.8
          extra_hosts:
            cache.local: 10.0.5.2
          deploy:
            endpoint_mode: dnsrr
      networks:
        front:
          driver: overlay
          attachable: true
          labels: [tier=front, public]
        back:
          ipam:
            config:
              - subnet: 10.20.0.0/24
          labels: {tier: back, version: 1.0}
        shared:
          external: true
          name: platform-net
    `);
    assert.deepEqual(stack.warnings, []);
    assert.deepEqual(stack.networks, [
      {
        key: 'front',
        external: false,
        spec: { name: 'test_front', stack: 'test', driver: 'overlay', subnet: null, attachable: true, labels: { tier: 'front', public: '', [NS]: 'test' }, encrypted: false },
      },
      {
        key: 'back',
        external: false,
        spec: { name: 'test_back', stack: 'test', driver: 'overlay', subnet: '10.20.0.0/24', attachable: false, labels: { tier: 'back', version: '1.0', [NS]: 'test' }, encrypted: false },
      },
      {
        key: 'shared',
        external: true,
        spec: { name: 'platform-net', stack: null, driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false },
      },
    ]);

    const web = service(stack, 'test_web');
    assert.equal(web.task.container.hostname, 'web-1');
    assert.deepEqual(web.task.container.dns, ['10.0.0.2', '10.0.0.3']);
    assert.deepEqual(web.task.container.extraHosts, ['db.local:10.0.5.1', 'v6.local:::1']);
    assert.deepEqual(web.networks, [
      { target: 'test_front', aliases: ['www', 'www.internal'] },
      { target: 'test_back', aliases: [] },
    ]);
    assert.deepEqual(web.endpoint, {
      mode: 'vip',
      ports: [
        { target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' },
        { target: 443, published: 8443, protocol: 'tcp', mode: 'host' },
      ],
    });

    const api = service(stack, 'test_api');
    assert.deepEqual(api.task.container.dns, ['8.8.8.8']);
    assert.deepEqual(api.task.container.extraHosts, ['cache.local:10.0.5.2']);
    assert.deepEqual(api.networks, [
      { target: 'test_back', aliases: [] },
      { target: 'platform-net', aliases: [] },
    ]);
    assert.deepEqual(api.endpoint, { mode: 'dnsrr', ports: [] });
  });

  describe('the default network', () => {
    it('is added once when services join it implicitly or by name', () => {
      const stack = load(yaml`
        services:
          a: {image: x}
          b: {image: x, networks: [default, extra]}
          c: {image: x, networks: []}
        networks:
          extra:
      `);
      assert.deepEqual(
        stack.networks.map((n) => [n.key, n.spec.name, n.external]),
        [
          ['extra', 'test_extra', false],
          ['default', 'test_default', false],
        ],
      );
      assert.deepEqual(service(stack, 'test_a').networks, [{ target: 'test_default', aliases: [] }]);
      assert.deepEqual(service(stack, 'test_b').networks.map((n) => n.target), ['test_default', 'test_extra']);
      assert.deepEqual(service(stack, 'test_c').networks, [{ target: 'test_default', aliases: [] }]);
    });

    it('is not added when no service uses it, but unused networks are still created', () => {
      const stack = load(yaml`
        services:
          a: {image: x, networks: [front]}
        networks:
          front:
          spare:
      `);
      assert.deepEqual(stack.networks.map((n) => n.spec.name), ['test_front', 'test_spare']);
    });

    it('uses the file\'s own definition of default', () => {
      const stack = load(yaml`
        services:
          a: {image: x}
        networks:
          default:
            ipam: {config: [{subnet: 10.30.0.0/16}]}
      `);
      assert.equal(stack.networks.length, 1);
      assert.equal(stack.networks[0]?.spec.subnet, '10.30.0.0/16');
      assert.deepEqual(service(stack, 'test_a').networks, [{ target: 'test_default', aliases: [] }]);
    });

    it('can be an external network', () => {
      const stack = load(yaml`
        services:
          a: {image: x}
        networks:
          default: {external: true, name: shared-net}
      `);
      assert.deepEqual(stack.networks.map((n) => [n.key, n.spec.name, n.external, n.spec.stack]), [['default', 'shared-net', true, null]]);
      assert.deepEqual(service(stack, 'test_a').networks, [{ target: 'shared-net', aliases: [] }]);
    });
  });

  it('names an external network by its key when it has no name', () => {
    const stack = load('services:\n  a: {image: x, networks: [ingress-net]}\nnetworks:\n  ingress-net: {external: true}\n');
    assert.deepEqual(stack.networks[0], {
      key: 'ingress-net',
      external: true,
      spec: { name: 'ingress-net', stack: null, driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false },
    });
    assert.deepEqual(service(stack, 'test_a').networks, [{ target: 'ingress-net', aliases: [] }]);
  });

  it('takes name: of a stack network as its full name', () => {
    const stack = load('services:\n  a: {image: x, networks: [data]}\nnetworks:\n  data: {name: company-data}\n');
    assert.equal(stack.networks[0]?.spec.name, 'company-data');
    assert.equal(stack.networks[0]?.spec.stack, 'test');
    assert.deepEqual(service(stack, 'test_a').networks, [{ target: 'company-data', aliases: [] }]);
  });

  it('reads booleans given through variables', () => {
    const stack = load('services:\n  a: {image: x, networks: [n]}\nnetworks:\n  n: {attachable: "${ATTACH}"}\n', { env: { ATTACH: 'true' } });
    assert.equal(stack.networks[0]?.spec.attachable, true);
  });

  it('keeps aliases in order, dropping repeats, and joins networks in the order given', () => {
    const stack = load(yaml`
      services:
        a:
          image: x
          networks:
            b: {aliases: [one, two, one]}
            a:
            c: {aliases: []}
      networks: {a: null, b: null, c: null}
    `);
    assert.deepEqual(service(stack, 'test_a').networks, [
      { target: 'test_b', aliases: ['one', 'two'] },
      { target: 'test_a', aliases: [] },
      { target: 'test_c', aliases: [] },
    ]);
  });

  describe('ports', () => {
    const tcp = (target: number, published: number | null, mode: PortConfig['mode'] = 'ingress'): PortConfig => ({ target, published, protocol: 'tcp', mode });
    const cases: [string, string, PortConfig[]][] = [
      ['a number', '80', [tcp(80, null)]],
      ['target only', '"80"', [tcp(80, null)]],
      ['published and target', '"8080:80"', [tcp(80, 8080)]],
      ['udp', '"5353:53/udp"', [{ target: 53, published: 5353, protocol: 'udp', mode: 'ingress' }]],
      ['explicit tcp', '"8080:80/tcp"', [tcp(80, 8080)]],
      ['unquoted', '8080:80', [tcp(80, 8080)]],
      ['ranges', '"8080-8082:80-82"', [tcp(80, 8080), tcp(81, 8081), tcp(82, 8082)]],
      ['target range only', '"9000-9001"', [tcp(9000, null), tcp(9001, null)]],
      ['empty host IP', '":8080:80"', [tcp(80, 8080)]],
      ['long syntax', '{target: 80, published: 8080}', [tcp(80, 8080)]],
      ['long syntax, published as a string', '{target: "80", published: "8080", protocol: udp}', [{ target: 80, published: 8080, protocol: 'udp', mode: 'ingress' }]],
      ['long syntax, host mode without published', '{target: 80, mode: host}', [tcp(80, null, 'host')]],
      ['long syntax, unspecified host_ip', '{target: 80, published: 81, host_ip: 0.0.0.0}', [tcp(80, 81)]],
    ];
    for (const [title, entry, want] of cases) {
      it(title, () => {
        const stack = load(`services:\n  a:\n    image: x\n    ports:\n      - ${entry}\n`);
        assert.deepEqual(service(stack, 'test_a').endpoint.ports, want);
        assert.deepEqual(stack.warnings, []);
      });
    }

    it('allows the same port in host mode on two services, and on tcp and udp', () => {
      const stack = load(yaml`
        services:
          a:
            image: x
            ports: ["53:53/tcp", "53:53/udp", {target: 80, published: 80, mode: host}]
          b:
            image: x
            ports: [{target: 80, published: 80, mode: host}]
      `);
      assert.equal(service(stack, 'test_a').endpoint.ports.length, 3);
      assert.equal(service(stack, 'test_b').endpoint.ports.length, 1);
    });

    it('allows dnsrr with host-mode ports', () => {
      const stack = load('services:\n  a:\n    image: x\n    ports: [{target: 80, published: 80, mode: host}]\n    deploy: {endpoint_mode: dnsrr}\n');
      assert.equal(service(stack, 'test_a').endpoint.mode, 'dnsrr');
    });

    it('warns about long-syntax keys it ignores', () => {
      const stack = load('services:\n  a:\n    image: x\n    ports: [{target: 80, name: web, app_protocol: http}]\n');
      assert.deepEqual(stack.warnings, ['Ignoring unsupported options: ports.app_protocol, ports.name']);
    });
  });

  it('normalises extra_hosts with IPv6 in brackets', () => {
    const stack = load('services:\n  a:\n    image: x\n    extra_hosts: ["six=[fe80::1]", "four:10.1.2.3"]\n');
    assert.deepEqual(service(stack, 'test_a').task.container.extraHosts, ['six:fe80::1', 'four:10.1.2.3']);
  });
});

describe('loadStackText: network and port errors name the key and the line', () => {
  const svc = (body: string): string => `services:\n  web:\n    image: x\n${body}`;
  const net = (body: string): string => `services:\n  web: {image: x}\nnetworks:\n${body}`;
  const cases: [string, string, RegExp, number][] = [
    // top-level networks
    ['networks not a mapping', 'services:\n  web: {image: x}\nnetworks: [a]\n', /^networks: must be a mapping of network names to networks, got a list \(line 3\)$/, 3],
    ['network not a mapping', net('  front: overlay\n'), /^networks\.front: must be a mapping, got "overlay"/, 4],
    ['invalid network key', net('  "front end":\n'), /^networks\.front end: invalid network name/, 4],
    ['unknown network key', net('  front:\n    drivr: overlay\n'), /^networks\.front\.drivr: unknown key \(line 5\)$/, 5],
    ['bridge driver', net('  front:\n    driver: bridge\n'), /^networks\.front\.driver: only the overlay driver is supported, got "bridge" \(line 5\)$/, 5],
    ['attachable not a boolean', net('  front:\n    attachable: sometimes\n'), /^networks\.front\.attachable: must be true or false, got "sometimes"/, 5],
    ['external not a boolean', net('  front:\n    external: [x]\n'), /^networks\.front\.external: must be true or false, got a list/, 5],
    ['external not a boolean word', net('  front:\n    external: maybe\n'), /^networks\.front\.external: must be true or false, got "maybe"/, 5],
    ['external with a driver', net('  front:\n    external: true\n    driver: overlay\n'), /^networks\.front\.driver: conflicting parameters "external" and "driver" specified \(line 6\)$/, 6],
    ['external with ipam', net('  front:\n    external: true\n    ipam: {config: [{subnet: 10.0.0.0/24}]}\n'), /conflicting parameters "external" and "ipam"/, 6],
    ['invalid name', net('  front:\n    name: "my net"\n'), /^networks\.front\.name: invalid network name "my net"/, 5],
    ['name not a string', net('  front:\n    name: [a]\n'), /^networks\.front\.name: must be a string, got a list/, 5],
    ['two subnets', net('  front:\n    ipam:\n      config:\n        - subnet: 10.0.0.0/24\n        - subnet: 10.0.1.0/24\n'), /^networks\.front\.ipam\.config: at most one subnet is supported, got 2 entries \(line 6\)$/, 6],
    ['subnet with host bits', net('  front:\n    ipam:\n      config:\n        - subnet: 10.0.0.1/24\n'), /^networks\.front\.ipam\.config\[0\]\.subnet: invalid subnet "10\.0\.0\.1\/24": the host bits must be zero \(did you mean 10\.0\.0\.0\/24\?\) \(line 7\)$/, 7],
    ['subnet too small', net('  front:\n    ipam:\n      config:\n        - subnet: 10.0.0.0/31\n'), /invalid subnet "10\.0\.0\.0\/31": the prefix length must be between 8 and 30, got \/31/, 7],
    ['subnet too large', net('  front:\n    ipam: {config: [{subnet: 10.0.0.0/7}]}\n'), /the prefix length must be between 8 and 30, got \/7/, 5],
    ['IPv6 subnet', net('  front:\n    ipam: {config: [{subnet: "fd00::/64"}]}\n'), /invalid subnet "fd00::\/64": must be an IPv4 subnet in CIDR form/, 5],
    ['subnet without prefix', net('  front:\n    ipam: {config: [{subnet: 10.0.0.0}]}\n'), /invalid subnet "10\.0\.0\.0"/, 5],
    ['bad octet in subnet', net('  front:\n    ipam: {config: [{subnet: 10.0.256.0/24}]}\n'), /invalid subnet "10\.0\.256\.0\/24"/, 5],
    ['ipam config not a list', net('  front:\n    ipam: {config: {subnet: 10.0.0.0/24}}\n'), /^networks\.front\.ipam\.config: must be a list, got a mapping/, 5],
    ['unknown ipam config key', net('  front:\n    ipam:\n      config:\n        - subnett: 10.0.0.0/24\n'), /^networks\.front\.ipam\.config\[0\]\.subnett: unknown key \(line 7\)$/, 7],
    ['overlapping subnets', net('  a:\n    ipam: {config: [{subnet: 10.0.0.0/16}]}\n  b:\n    ipam: {config: [{subnet: 10.0.5.0/24}]}\n'), /^networks\.b: subnet 10\.0\.5\.0\/24 overlaps 10\.0\.0\.0\/16 of networks\.a \(line 6\)$/, 6],
    ['two networks with one name', net('  a:\n  b:\n    name: test_a\n'), /^networks\.b: network name "test_a" is already used by networks\.a \(line 5\)$/, 5],
    ['labels of wrong type', net('  front:\n    labels: tier=front\n'), /^networks\.front\.labels: must be a list of "key=value" strings or a mapping, got "tier=front"/, 5],
    ['label without a name', net('  front:\n    labels: ["=x"]\n'), /^networks\.front\.labels\[0\]: label name must not be empty/, 5],
    // services.*.networks
    ['undefined network (list)', svc('    networks:\n      - front\n'), /^services\.web\.networks: undefined network "front" \(line 5\)$/, 5],
    ['undefined network (map)', svc('    networks:\n      front:\n        aliases: [a]\n'), /^services\.web\.networks: undefined network "front" \(line 5\)$/, 5],
    ['network listed twice', 'services:\n  web:\n    image: x\n    networks:\n      - default\n      - default\n', /^services\.web\.networks\[1\]: network "default" is listed twice \(line 6\)$/, 6],
    ['network name not a string', svc('    networks:\n      - 1\n'), /^services\.web\.networks\[0\]: must be a network name, got 1/, 5],
    ['networks of wrong type', svc('    networks: default\n'), /^services\.web\.networks: must be a list of network names or a mapping, got "default"/, 4],
    ['network options not a mapping', svc('    networks:\n      default: [a]\n'), /^services\.web\.networks\.default: must be a mapping, got a list/, 5],
    ['unknown network option', svc('    networks:\n      default:\n        alias: [a]\n'), /^services\.web\.networks\.default\.alias: unknown key \(line 6\)$/, 6],
    ['aliases not a list', svc('    networks:\n      default:\n        aliases: www\n'), /^services\.web\.networks\.default\.aliases: must be a list of names, got "www"/, 6],
    ['invalid alias', svc('    networks:\n      default:\n        aliases:\n          - ok\n          - "not ok"\n'), /^services\.web\.networks\.default\.aliases\[1\]: invalid alias "not ok"/, 8],
    // ports
    ['ports not a list', svc('    ports: "80:80"\n'), /^services\.web\.ports: must be a list, got "80:80"/, 4],
    ['host IP', svc('    ports:\n      - "127.0.0.1:8080:80"\n'), /^services\.web\.ports\[0\]: invalid port "127\.0\.0\.1:8080:80": publishing on a host IP is not supported in swarm mode \(line 5\)$/, 5],
    ['IPv6 host IP', svc('    ports:\n      - "[::1]:8080:80"\n'), /publishing on a host IP is not supported in swarm mode/, 5],
    ['host_ip in long syntax', svc('    ports:\n      - target: 80\n        host_ip: 127.0.0.1\n'), /^services\.web\.ports\[0\]\.host_ip: publishing on a host IP is not supported in swarm mode \(line 6\)$/, 6],
    ['port zero', svc('    ports:\n      - 0\n'), /^services\.web\.ports\[0\]: must be a port number between 1 and 65535, got 0/, 5],
    ['port too large', svc('    ports:\n      - "8080:65536"\n'), /invalid port "8080:65536": target port "65536" is out of range 1-65535/, 5],
    ['published port too large', svc('    ports:\n      - "70000:80"\n'), /published port "70000" is out of range/, 5],
    ['not a port', svc('    ports:\n      - "http"\n'), /invalid port "http": invalid target port "http"/, 5],
    ['range lengths differ', svc('    ports:\n      - "8080-8081:80-82"\n'), /the published range 8080-8081 and the target range 80-82 have different lengths/, 5],
    ['range backwards', svc('    ports:\n      - "90-80"\n'), /target port range "90-80" ends before it starts/, 5],
    ['sctp', svc('    ports:\n      - "80:80/sctp"\n'), /invalid port "80:80\/sctp": protocol must be tcp or udp, got "sctp"/, 5],
    ['port a list', svc('    ports:\n      - [80]\n'), /^services\.web\.ports\[0\]: must be a string such as "8080:80", a port number or a mapping, got a list/, 5],
    ['long syntax without target', svc('    ports:\n      - published: 80\n'), /^services\.web\.ports\[0\]: missing required key "target" \(line 5\)$/, 5],
    ['long syntax bad target', svc('    ports:\n      - target: http\n'), /^services\.web\.ports\[0\]\.target: must be a port number between 1 and 65535, got "http"/, 5],
    ['long syntax bad published', svc('    ports:\n      - target: 80\n        published: 8080-8081\n'), /^services\.web\.ports\[0\]\.published: must be a port number between 1 and 65535, got "8080-8081" \(line 6\)$/, 6],
    ['long syntax bad protocol', svc('    ports:\n      - target: 80\n        protocol: sctp\n'), /^services\.web\.ports\[0\]\.protocol: must be tcp or udp, got "sctp" \(line 6\)$/, 6],
    ['long syntax bad mode', svc('    ports:\n      - target: 80\n        mode: global\n'), /^services\.web\.ports\[0\]\.mode: must be ingress or host, got "global" \(line 6\)$/, 6],
    ['long syntax unknown key', svc('    ports:\n      - target: 80\n        publish: 80\n'), /^services\.web\.ports\[0\]\.publish: unknown key \(line 6\)$/, 6],
    ['duplicate in a service', svc('    ports:\n      - "8080:80"\n      - target: 81\n        published: 8080\n        mode: host\n'), /^services\.web\.ports\[1\]: published port 8080\/tcp is listed twice \(line 6\)$/, 6],
    ['duplicate in a range', svc('    ports:\n      - "8080:80"\n      - "8079-8081:79-81"\n'), /^services\.web\.ports\[1\]: published port 8080\/tcp is listed twice \(line 6\)$/, 6],
    ['duplicate across services', 'services:\n  web:\n    image: x\n    ports: ["80:80"]\n  api:\n    image: y\n    ports:\n      - "80:8080"\n', /^services\.api\.ports\[0\]: published port 80\/tcp is already used by service web \(line 8\)$/, 8],
    ['ingress against host across services', 'services:\n  web:\n    image: x\n    ports: [{target: 80, published: 80, mode: host}]\n  api:\n    image: y\n    ports:\n      - "80:80"\n', /services\.api\.ports\[0\]: published port 80\/tcp is already used by service web/, 8],
    // endpoint_mode
    ['bad endpoint_mode', svc('    deploy:\n      endpoint_mode: round-robin\n'), /^services\.web\.deploy\.endpoint_mode: must be vip or dnsrr, got "round-robin" \(line 5\)$/, 5],
    ['dnsrr with ingress ports', svc('    ports: ["80:80"]\n    deploy:\n      endpoint_mode: dnsrr\n'), /^services\.web\.deploy\.endpoint_mode: port published with ingress mode can't be used with dnsrr mode \(line 6\)$/, 6],
    ['dnsrr with an unpublished ingress port', svc('    ports: [80]\n    deploy:\n      endpoint_mode: dnsrr\n'), /port published with ingress mode can't be used with dnsrr mode/, 6],
    // dns and extra_hosts
    ['dns not an address', svc('    dns: dns.google\n'), /^services\.web\.dns: must be an IPv4 address such as 10\.0\.0\.2, got "dns\.google" \(line 4\)$/, 4],
    ['dns list entry', svc('    dns:\n      - 8.8.8.8\n      - 8.8.4\n'), /^services\.web\.dns\[1\]: must be an IPv4 address such as 10\.0\.0\.2, got "8\.8\.4" \(line 6\)$/, 6],
    ['dns IPv6', svc('    dns: ["2001:4860:4860::8888"]\n'), /services\.web\.dns\[0\]: must be an IPv4 address/, 4],
    ['dns a mapping', svc('    dns: {a: 1}\n'), /^services\.web\.dns: must be an IPv4 address or a list of them, got a mapping/, 4],
    ['dns leading zero', svc('    dns: 10.0.0.02\n'), /services\.web\.dns: must be an IPv4 address/, 4],
    ['extra_hosts without an address', svc('    extra_hosts:\n      - somehost\n'), /^services\.web\.extra_hosts\[0\]: must be a "host:ip" or "host=ip" string, got "somehost" \(line 5\)$/, 5],
    ['extra_hosts bad address', svc('    extra_hosts:\n      - "db:10.0.0"\n'), /^services\.web\.extra_hosts\[0\]: invalid IP address "10\.0\.0" for host db \(line 5\)$/, 5],
    ['extra_hosts bad address (map)', svc('    extra_hosts:\n      db: nowhere\n'), /^services\.web\.extra_hosts\.db: invalid IP address "nowhere" for host db \(line 5\)$/, 5],
    ['extra_hosts map value a number', svc('    extra_hosts:\n      db: 1\n'), /^services\.web\.extra_hosts\.db: must be an IP address, got 1/, 5],
    ['extra_hosts bad host name', svc('    extra_hosts: ["my host=10.0.0.1"]\n'), /^services\.web\.extra_hosts\[0\]: invalid host name "my host"/, 4],
    ['extra_hosts host-gateway', svc('    extra_hosts: ["host.docker.internal:host-gateway"]\n'), /host-gateway is not supported/, 4],
    ['extra_hosts of wrong type', svc('    extra_hosts: "db:10.0.0.1"\n'), /^services\.web\.extra_hosts: must be a list of "host:ip" strings or a mapping/, 4],
  ];
  for (const [title, text, pattern, line] of cases) {
    it(title, () => assertFails(text, pattern, line));
  }

  it('does not report services using a network whose definition is broken', () => {
    const text = 'services:\n  web:\n    image: x\n    networks: [front]\nnetworks:\n  front:\n    driver: host\n';
    assert.deepEqual(problemsOf(text), ['networks.front.driver: only the overlay driver is supported, got "host" (line 7)']);
  });

  it('reports every network and port problem, in file order', () => {
    const text = yaml`
      services:
        web:
          image: x
          networks: [front, back]
          ports:
            - "127.0.0.1:80:80"
            - "8080:80"
        api:
          image: x
          ports: ["8080:80"]
      networks:
        front:
          driver: macvlan
    `;
    assert.deepEqual(problemsOf(text), [
      'services.web.networks: undefined network "back" (line 4)',
      'services.web.ports[0]: invalid port "127.0.0.1:80:80": publishing on a host IP is not supported in swarm mode (line 6)',
      'services.api.ports[0]: published port 8080/tcp is already used by service web (line 10)',
      'networks.front.driver: only the overlay driver is supported, got "macvlan" (line 13)',
    ]);
  });
});
