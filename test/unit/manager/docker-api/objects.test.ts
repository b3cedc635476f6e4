import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  blobFromDocker,
  dockerConfig,
  dockerNetwork,
  dockerNode,
  dockerNodeArchitecture,
  dockerSecret,
  networkSpecFromDocker,
  nodeUpdateFromDocker,
  type DockerNodeOptions,
} from '../../../../manager/docker-api/objects';
import type { Versioned } from '../../../../manager/store/store';
import { InvalidArgumentError } from '../../../../shared/errors';
import type { ClusterNode, Network, StoredBlob } from '../../../../shared/types';

const node = (over: Partial<ClusterNode> = {}): ClusterNode => ({
  v: 1,
  id: 'n1',
  hostname: 'h1',
  addr: '10.1.0.1',
  role: 'manager',
  availability: 'active',
  status: { state: 'ready', message: '', timestamp: '2024-01-02T00:00:00.000Z' },
  resources: { nanoCpus: 4e9, memoryBytes: 8 << 30 },
  labels: { zone: 'a' },
  engineLabels: { disk: 'ssd' },
  platform: { os: 'linux', architecture: 'amd64' },
  createdAt: '2024-01-01T00:00:00.000Z',
  ...over,
});
const ver = <T>(value: T, modRevision = '42'): Versioned<T> => ({ key: 'k', value, modRevision });
const opts = (over: Partial<DockerNodeOptions> = {}): DockerNodeOptions => ({
  leaderNodeId: 'n1',
  liveManagerNodes: new Set(['n1']),
  engineVersion: '20.10.24',
  managerAddr: (id) => (id === 'n1' ? '10.1.0.1:4242' : null),
  ...over,
});

describe('dockerNode', () => {
  it('shows a leader with Docker field names', () => {
    assert.deepEqual(dockerNode(ver(node()), opts()), {
      ID: 'n1',
      Version: { Index: 42 },
      CreatedAt: '2024-01-01T00:00:00.000Z',
      UpdatedAt: '2024-01-02T00:00:00.000Z',
      Spec: { Labels: { zone: 'a' }, Role: 'manager', Availability: 'active' },
      Description: {
        Hostname: 'h1',
        Platform: { Architecture: 'x86_64', OS: 'linux' },
        Resources: { NanoCPUs: 4e9, MemoryBytes: 8 << 30 },
        Engine: { EngineVersion: '20.10.24', Labels: { disk: 'ssd' }, Plugins: [{ Type: 'Network', Name: 'overlay' }, { Type: 'Volume', Name: 'local' }] },
      },
      Status: { State: 'ready', Addr: '10.1.0.1' },
      ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.1.0.1:4242' },
    });
  });

  const managerCases: Array<{ name: string; n: Partial<ClusterNode>; o: Partial<DockerNodeOptions>; want: unknown }> = [
    { name: 'live non-leader manager', n: { id: 'n2', addr: '10.1.0.2' }, o: { liveManagerNodes: new Set(['n1', 'n2']) }, want: { Reachability: 'reachable', Addr: '10.1.0.2:2377' } },
    { name: 'dead manager', n: { id: 'n2', addr: '10.1.0.2' }, o: {}, want: { Reachability: 'unreachable', Addr: '10.1.0.2:2377' } },
    { name: 'leader not in the live set', n: {}, o: { liveManagerNodes: new Set() }, want: { Leader: true, Reachability: 'reachable', Addr: '10.1.0.1:4242' } },
    { name: 'worker', n: { role: 'worker' }, o: {}, want: undefined },
  ];
  for (const c of managerCases) {
    it(`ManagerStatus of a ${c.name}`, () => assert.deepEqual(dockerNode(ver(node(c.n)), opts(c.o)).ManagerStatus, c.want));
  }

  it('maps states, messages, generic resources and old records without platform or engine labels', () => {
    const old = node({ status: { state: 'down', message: 'heartbeat failure', timestamp: '2023-01-01T00:00:00.000Z' }, resources: { nanoCpus: 1e9, memoryBytes: 1, generic: { ssd: 1, gpu: 2 } } });
    delete old.platform;
    delete old.engineLabels;
    const d = dockerNode(ver(old), opts());
    assert.deepEqual(d.Status, { State: 'down', Message: 'heartbeat failure', Addr: '10.1.0.1' });
    assert.equal(d.UpdatedAt, old.createdAt, 'a status older than the record does not move UpdatedAt back');
    assert.deepEqual(d.Description.Resources.GenericResources, [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }, { DiscreteResourceSpec: { Kind: 'ssd', Value: 1 } }]);
    assert.deepEqual(d.Description.Platform, { Architecture: '', OS: 'linux' });
    assert.deepEqual(d.Description.Engine.Labels, {});
  });

  const arches: Array<[string, string]> = [['amd64', 'x86_64'], ['arm64', 'aarch64'], ['386', 'i686'], ['arm', 'armv7l'], ['ppc64', 'ppc64le'], ['s390x', 's390x'], ['riscv64', 'riscv64'], ['', '']];
  for (const [ours, docker] of arches) it(`architecture ${ours || '(none)'} → ${docker || '(none)'}`, () => assert.equal(dockerNodeArchitecture(ours), docker));
});

describe('nodeUpdateFromDocker', () => {
  const cur = node({ labels: { zone: 'a', rack: '1' } });
  const cases: Array<{ name: string; body: unknown; want: unknown }> = [
    { name: 'the same spec asks nothing', body: { Labels: { zone: 'a', rack: '1' }, Role: 'manager', Availability: 'active' }, want: {} },
    { name: 'label added, changed and removed', body: { Labels: { zone: 'b', gpu: 'yes' }, Role: 'manager', Availability: 'active' }, want: { labelAdd: { zone: 'b', gpu: 'yes' }, labelRm: ['rack'] } },
    { name: 'null labels remove them all', body: { Labels: null, Role: 'manager', Availability: 'active' }, want: { labelRm: ['zone', 'rack'] } },
    { name: 'drain, case-blind', body: { Labels: { zone: 'a', rack: '1' }, Role: 'manager', Availability: 'DRAIN' }, want: { availability: 'drain' } },
    { name: 'demote', body: { Name: '', Labels: { zone: 'a', rack: '1' }, Role: 'worker', Availability: 'active' }, want: { role: 'worker' } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(nodeUpdateFromDocker(c.body, cur), c.want));

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', [], /node h1 update: expected a JSON object/],
    ['no role', { Availability: 'active' }, /^invalid Role: ""$/],
    ['bad role', { Role: 'boss', Availability: 'active' }, /^invalid Role: "boss"$/],
    ['bad availability', { Role: 'worker', Availability: 'off' }, /^invalid Availability: "off"$/],
    ['a name', { Name: 'x', Role: 'worker', Availability: 'active' }, /node names are not supported/],
    ['a label not a string', { Labels: { a: 1 }, Role: 'worker', Availability: 'active' }, /Labels "a" must be a string/],
  ];
  for (const [name, body, msg] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => nodeUpdateFromDocker(body, cur), (e: unknown) => e instanceof InvalidArgumentError && msg.test(e.message)));
  }
});

const network = (over: Partial<Network> = {}): Network => ({
  v: 1,
  id: 'net1',
  spec: { name: 'app_net', stack: 'app', driver: 'overlay', subnet: null, attachable: true, labels: { 'com.docker.stack.namespace': 'app' }, encrypted: false },
  subnet: '10.0.1.0/24',
  gateway: '10.0.1.1',
  vni: 4097,
  ingress: false,
  nodeEndpoints: {},
  createdAt: '2024-01-01T00:00:00.000Z',
  ...over,
});

describe('dockerNetwork', () => {
  it('shows a swarm overlay network as Docker does', () => {
    assert.deepEqual(dockerNetwork(ver(network())), {
      Name: 'app_net',
      Id: 'net1',
      Created: '2024-01-01T00:00:00.000Z',
      Scope: 'swarm',
      Driver: 'overlay',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] },
      Internal: false,
      Attachable: true,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: {},
      Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' },
      Labels: { 'com.docker.stack.namespace': 'app' },
    });
  });

  it('marks encrypted and ingress networks, and lists the endpoints it is given', () => {
    const ep = { Name: 'c1', EndpointID: 'e1', MacAddress: '02:42:0a:00:01:02', IPv4Address: '10.0.1.2/24', IPv6Address: '' };
    const n = network({ ingress: true, spec: { ...network().spec, name: 'ingress', encrypted: true } });
    const d = dockerNetwork(ver(n), { containers: { c1: ep } });
    assert.equal(d.Ingress, true);
    assert.equal(d.Name, 'ingress');
    assert.deepEqual(d.Options, { 'com.docker.network.driver.overlay.vxlanid_list': '4097', encrypted: '' });
    assert.deepEqual(d.Containers, { c1: ep });
  });
});

describe('networkSpecFromDocker', () => {
  const cases: Array<{ name: string; body: unknown; want: unknown }> = [
    {
      name: 'what docker stack deploy sends',
      body: { Name: 'app_net', CheckDuplicate: true, Driver: 'overlay', Scope: 'swarm', IPAM: { Driver: 'default', Options: null, Config: null }, Attachable: false, Options: null, Labels: { 'com.docker.stack.namespace': 'app' } },
      want: { name: 'app_net', stack: 'app', driver: 'overlay', subnet: null, attachable: false, labels: { 'com.docker.stack.namespace': 'app' }, encrypted: false },
    },
    {
      name: 'network create -d overlay --attachable --opt encrypted --subnet --gateway --label',
      body: { Name: 'n', Driver: 'overlay', Attachable: true, Options: { encrypted: 'false' }, IPAM: { Config: [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.1' }] }, Labels: { a: 'b' } },
      want: { name: 'n', stack: null, driver: 'overlay', subnet: '10.5.0.0/16', attachable: true, labels: { a: 'b' }, encrypted: true },
    },
    {
      name: 'what docker network create -d overlay --subnet sends (docker 20.10 CLI)',
      body: { Name: 'x', CheckDuplicate: true, Driver: 'overlay', Scope: '', EnableIPv6: false, IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.5.0.0/24' }] }, Internal: false, Attachable: false, Ingress: false, ConfigOnly: false, ConfigFrom: null, Options: {}, Labels: {} },
      want: { name: 'x', stack: null, driver: 'overlay', subnet: '10.5.0.0/24', attachable: false, labels: {}, encrypted: false },
    },
    {
      name: 'empty IPAM config and ConfigFrom',
      body: { Name: 'n', Driver: 'overlay', IPAM: { Config: [] }, ConfigFrom: { Network: '' }, Internal: false, EnableIPv6: false, Ingress: false, ConfigOnly: false },
      want: { name: 'n', stack: null, driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(networkSpecFromDocker(c.body), c.want));

  const ov = { Name: 'n', Driver: 'overlay' };
  const bad: Array<[string, unknown, RegExp]> = [
    ['a body that is not an object', 'x', /^network create: expected a JSON object$/],
    ['no name', { Driver: 'overlay' }, /^network create: Name is required$/],
    ['the default driver (bridge)', { Name: 'n' }, /^network n: driver "bridge" is not supported: tsswarm makes swarm-scoped overlay networks only/],
    ['an empty driver (bridge)', { Name: 'n', Driver: '' }, /driver "bridge" is not supported/],
    ['macvlan', { Name: 'n', Driver: 'macvlan' }, /driver "macvlan" is not supported/],
    ['host', { Name: 'n', Driver: 'host' }, /driver "host" is not supported/],
    ['local scope', { ...ov, Scope: 'local' }, /scope "local" is not supported/],
    ['IPv6', { ...ov, EnableIPv6: true }, /IPv6 is not supported/],
    ['internal', { ...ov, Internal: true }, /internal networks are not supported/],
    ['ingress', { ...ov, Ingress: true }, /creating an ingress network is not supported/],
    ['config-only', { ...ov, ConfigOnly: true }, /config-only networks are not supported/],
    ['config-from', { ...ov, ConfigFrom: { Network: 'base' } }, /--config-from is not supported/],
    ['two subnets', { ...ov, IPAM: { Config: [{ Subnet: '10.5.0.0/24' }, { Subnet: '10.6.0.0/24' }] } }, /one subnet at most \(2 given\)/],
    ['another IPAM driver', { ...ov, IPAM: { Driver: 'dhcp' } }, /IPAM driver "dhcp" is not supported/],
    ['IPAM options', { ...ov, IPAM: { Options: { a: 'b' } } }, /IPAM options are not supported/],
    ['an IP range', { ...ov, IPAM: { Config: [{ Subnet: '10.5.0.0/24', IPRange: '10.5.0.128/25' }] } }, /--ip-range is not supported/],
    ['aux addresses', { ...ov, IPAM: { Config: [{ Subnet: '10.5.0.0/24', AuxiliaryAddresses: { h: '10.5.0.9' } }] } }, /--aux-address is not supported/],
    ['another gateway', { ...ov, IPAM: { Config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.254' }] } }, /gateway 10.5.0.254 is not supported: the gateway is the subnet's first address, 10.5.0.1/],
    ['a gateway alone', { ...ov, IPAM: { Config: [{ Gateway: '10.5.0.1' }] } }, /a gateway needs a subnet/],
    ['a bad subnet', { ...ov, IPAM: { Config: [{ Subnet: '10.5.0.1/24', Gateway: '10.5.0.1' }] } }, /invalid CIDR 10.5.0.1\/24/],
    ['another driver option', { ...ov, Options: { 'com.docker.network.driver.mtu': '1400' } }, /option "com.docker.network.driver.mtu" is not supported \(only encrypted\)/],
    ['a chosen VXLAN id', { ...ov, Options: { 'com.docker.network.driver.overlay.vxlanid_list': '5000' } }, /option "com.docker.network.driver.overlay.vxlanid_list" is not supported/],
    ['labels not strings', { ...ov, Labels: { a: true } }, /Labels "a" must be a string/],
    ['Attachable not a boolean', { ...ov, Attachable: 'yes' }, /Attachable must be true or false/],
  ];
  for (const [name, body, msg] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => networkSpecFromDocker(body), (e: unknown) => e instanceof InvalidArgumentError && msg.test(e.message) && !e.message.includes('\n')));
  }
});

const blob: StoredBlob = {
  v: 1,
  id: 'b1',
  spec: { name: 'app_s1', labels: { 'com.docker.stack.namespace': 'app' } },
  sealed: { alg: 'A256GCM', nonce: 'n', data: 'sealed' },
  digest: 'sha256:x',
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-03T00:00:00.000Z',
};

describe('secrets and configs', () => {
  it('dockerSecret shows the spec and never the bytes', () => {
    const s = dockerSecret(ver(blob, '7'));
    assert.deepEqual(s, { ID: 'b1', Version: { Index: 7 }, CreatedAt: blob.createdAt, UpdatedAt: blob.updatedAt, Spec: { Name: 'app_s1', Labels: { 'com.docker.stack.namespace': 'app' } } });
    assert.ok(!JSON.stringify(s).includes('sealed'));
  });

  it('dockerConfig shows the bytes in base64', () => {
    assert.deepEqual(dockerConfig(ver(blob, '8'), Buffer.from('hello')).Spec, { Name: 'app_s1', Labels: { 'com.docker.stack.namespace': 'app' }, Data: 'aGVsbG8=' });
  });

  const cases: Array<{ name: string; kind: 'secret' | 'config'; body: unknown; spec: unknown; data: string }> = [
    { name: 'a stack secret', kind: 'secret', body: { Name: 'app_s1', Labels: { 'com.docker.stack.namespace': 'app' }, Data: 'aGVsbG8=' }, spec: { name: 'app_s1', labels: { 'com.docker.stack.namespace': 'app' } }, data: 'hello' },
    { name: 'null labels, base64 with line breaks', kind: 'config', body: { Name: 'c', Labels: null, Data: 'aGVs\nbG8=' }, spec: { name: 'c', labels: {} }, data: 'hello' },
    { name: 'no data', kind: 'config', body: { Name: 'c' }, spec: { name: 'c', labels: {} }, data: '' },
    { name: 'a config with a Driver (Docker ignores it)', kind: 'config', body: { Name: 'c', Data: '', Driver: { Name: 'x' } }, spec: { name: 'c', labels: {} }, data: '' },
    { name: 'null Driver and Templating', kind: 'secret', body: { Name: 's', Data: 'eA==', Driver: null, Templating: null }, spec: { name: 's', labels: {} }, data: 'x' },
  ];
  for (const c of cases) {
    it(`blobFromDocker: ${c.name}`, () => {
      const r = blobFromDocker(c.kind, c.body);
      assert.deepEqual(r.spec, c.spec);
      assert.equal(r.data.toString(), c.data);
    });
  }

  const bad: Array<[string, 'secret' | 'config', unknown, RegExp]> = [
    ['not an object', 'secret', null, /^secret create: expected a JSON object$/],
    ['no name', 'config', { Data: 'eA==' }, /^config create: Name is required$/],
    ['a secret driver', 'secret', { Name: 's', Driver: { Name: 'vault' } }, /^secret s: secret drivers are not supported$/],
    ['templating', 'config', { Name: 'c', Templating: { Name: 'golang' } }, /^config c: templating is not supported$/],
    ['bad base64', 'secret', { Name: 's', Data: 'not base64!' }, /^secret s: Data is not valid base64$/],
    ['unpadded base64', 'secret', { Name: 's', Data: 'aGVsbG8' }, /Data is not valid base64/],
    ['data not a string', 'secret', { Name: 's', Data: [1, 2] }, /Data must be a base64 string/],
    ['labels not a map', 'config', { Name: 'c', Labels: ['a'] }, /Labels must be a map of strings/],
  ];
  for (const [name, kind, body, msg] of bad) {
    it(`blobFromDocker refuses ${name}`, () => assert.throws(() => blobFromDocker(kind, body), (e: unknown) => e instanceof InvalidArgumentError && msg.test(e.message)));
  }
});
