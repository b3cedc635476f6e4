import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  blobMatches,
  BLOB_FILTERS,
  checkFilterKeys,
  checkFilters,
  CONFIG_FILTERS,
  labelsMatch,
  networkMatches,
  NETWORK_FILTERS,
  NODE_FILTERS,
  nodeMatches,
  parseFilters,
  SERVICE_FILTERS,
  serviceMatches,
  TASK_FILTERS,
  taskFilterName,
  taskMatches,
  type FilterKind,
  type TaskMatchContext,
} from '../../../../manager/docker-api/filters';
import type { DockerNetwork, DockerNode } from '../../../../manager/docker-api/object-types';
import { InvalidArgumentError } from '../../../../shared/errors';

const isInvalid = (msg: RegExp) => (e: unknown) => e instanceof InvalidArgumentError && msg.test(e.message) && !e.message.includes('\n');
/** The names of the items a filters value selects. */
const pick = <T>(items: Array<[string, T]>, match: (t: T) => boolean): string[] => items.filter(([, t]) => match(t)).map(([n]) => n);

describe('parseFilters', () => {
  const cases: Array<[string | null, Array<[string, string[]]>]> = [
    [null, []],
    ['', []],
    ['null', []],
    ['{}', []],
    ['{"name":{"web":true}}', [['name', ['web']]]],
    ['{"_up-to-date":{"true":true},"service":{"abc":true}}', [['_up-to-date', ['true']], ['service', ['abc']]]],
    ['{"name":{"web":false}}', [['name', ['web']]]], // dockerd's Args.Get ignores the boolean
    ['{"name":["web","db","web"]}', [['name', ['web', 'db']]]], // clients before API 1.22
    ['{"name":null}', [['name', []]]],
    ['{"label":{"com.docker.stack.namespace=app":true}}', [['label', ['com.docker.stack.namespace=app']]]],
  ];
  for (const [raw, want] of cases) it(`reads ${raw}`, () => assert.deepEqual([...parseFilters(raw)], want));

  for (const raw of ['{', '[]', '"x"', '3', '{"name":"web"}', '{"name":{"web":"yes"}}', '{"name":[1]}']) {
    it(`refuses ${raw}`, () => assert.throws(() => parseFilters(raw), isInvalid(/^invalid filter: filters must be JSON such as \{"name":\{"web":true\}\}/)));
  }
});

describe('checkFilterKeys and checkFilters', () => {
  it('names the first key the endpoint does not know, in Docker words', () => {
    assert.throws(() => checkFilterKeys(parseFilters('{"name":{"a":true},"colour":{"b":true}}'), NODE_FILTERS), isInvalid(/^invalid filter 'colour'$/));
    assert.doesNotThrow(() => checkFilterKeys(parseFilters('{"node.label":{"a":true}}'), NODE_FILTERS));
  });

  const ok: Array<[FilterKind, string]> = [
    ['node', '{"id":[],"label":[],"membership":["Accepted",""],"name":[],"node.label":[],"role":["MANAGER","worker",""]}'],
    ['service', '{"id":[],"label":[],"mode":["global"],"name":[],"runtime":["container"]}'],
    ['task', '{"_up-to-date":[],"desired-state":["Running","shutdown",""],"id":[],"label":[],"name":[],"node":[],"runtime":[],"service":[]}'],
    ['network', '{"dangling":["1"],"driver":[],"id":[],"label":[],"name":[],"scope":[],"type":["custom","builtin"]}'],
    ['secret', '{"id":[],"label":[],"name":[],"names":[]}'],
    ['config', '{"id":[],"label":[],"name":[]}'],
  ];
  for (const [kind, raw] of ok) it(`accepts every ${kind} filter`, () => assert.doesNotThrow(() => checkFilters(kind, parseFilters(raw))));

  const bad: Array<[FilterKind, string, RegExp]> = [
    ['node', '{"role":{"boss":true}}', /^Invalid role filter: 'boss'$/],
    ['node', '{"membership":{"rejected":true}}', /^Invalid membership filter: 'rejected'$/],
    ['node', '{"mode":{"global":true}}', /^invalid filter 'mode'$/],
    ['service', '{"node":{"x":true}}', /^invalid filter 'node'$/],
    ['task', '{"desired-state":{"sleeping":true}}', /^Invalid desired-state filter: 'sleeping'$/],
    ['task', '{"mode":{"global":true}}', /^invalid filter 'mode'$/],
    ['network', '{"dangling":["true","false"]}', /^got more than one value for filter key "dangling"$/],
    ['network', '{"dangling":{"yes":true}}', /^invalid value for filter 'dangling', must be "true" \(or "1"\), or "false" \(or "0"\)$/],
    ['network', '{"type":{"system":true}}', /^invalid filter: 'type'='system'$/],
    ['network', '{"names":{"x":true}}', /^invalid filter 'names'$/],
    ['config', '{"names":{"x":true}}', /^invalid filter 'names'$/],
    ['secret', '{"driver":{"x":true}}', /^invalid filter 'driver'$/],
  ];
  for (const [kind, raw, msg] of bad) it(`${kind}: refuses ${raw}`, () => assert.throws(() => checkFilters(kind, parseFilters(raw)), isInvalid(msg)));

  it('exports the key lists', () => {
    assert.deepEqual([...BLOB_FILTERS], ['id', 'label', 'name', 'names']);
    assert.deepEqual([...CONFIG_FILTERS], ['id', 'label', 'name']);
    assert.ok(TASK_FILTERS.includes('_up-to-date') && SERVICE_FILTERS.includes('mode') && NETWORK_FILTERS.includes('type'));
  });
});

describe('labelsMatch', () => {
  const labels = { 'com.docker.stack.namespace': 'app', tier: 'web', empty: '' };
  const cases: Array<[string[] | undefined, boolean]> = [
    [undefined, true],
    [[], true],
    [['com.docker.stack.namespace'], true],
    [['com.docker.stack.namespace=app'], true],
    [['com.docker.stack.namespace=app2'], false],
    [['com.docker.stack.namespace=app', 'tier=web'], true],
    [['com.docker.stack.namespace=app', 'tier=db'], false],
    [['missing'], false],
    [['tier='], true], // SwarmKit: an empty value only asks for the key
    [['empty'], true],
    [['a=b=c'], false],
  ];
  for (const [wanted, want] of cases) it(`${JSON.stringify(wanted)} → ${want}`, () => assert.equal(labelsMatch(labels, wanted), want));
  it('splits at the first =', () => assert.equal(labelsMatch({ a: 'b=c' }, ['a=b=c']), true));
});

const dnode = (id: string, hostname: string, role: 'manager' | 'worker', engine: Record<string, string>, spec: Record<string, string>): DockerNode => ({
  ID: id,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Labels: spec, Role: role, Availability: 'active' },
  Description: { Hostname: hostname, Platform: { Architecture: 'x86_64', OS: 'linux' }, Resources: { NanoCPUs: 1, MemoryBytes: 1 }, Engine: { EngineVersion: '', Labels: engine, Plugins: [] } },
  Status: { State: 'ready', Addr: '10.0.0.1' },
});

describe('nodeMatches', () => {
  const nodes: Array<[string, DockerNode]> = [
    ['m1', dnode('abc123', 'manager-1', 'manager', { disk: 'ssd' }, { zone: 'a' })],
    ['w1', dnode('abd456', 'worker-1', 'worker', { disk: 'hdd' }, { zone: 'b' })],
    ['w2', dnode('xyz789', 'Worker-2', 'worker', {}, {})],
  ];
  const cases: Array<[string, string[]]> = [
    ['', ['m1', 'w1', 'w2']],
    ['{"id":{"ab":true}}', ['m1', 'w1']],
    ['{"id":{"abc123":true}}', ['m1']],
    ['{"id":{"bc":true}}', []], // a prefix, not a substring
    ['{"name":{"worker":true}}', ['w1']], // a prefix of the hostname, case-sensitive
    ['{"name":{"worker-1":true,"Worker":true}}', ['w1', 'w2']],
    ['{"name":{"1":true}}', []],
    ['{"label":{"disk":true}}', ['m1', 'w1']], // engine labels
    ['{"label":{"disk=ssd":true}}', ['m1']],
    ['{"label":{"zone":true}}', []], // node labels are node.label's
    ['{"node.label":{"zone=b":true}}', ['w1']],
    ['{"node.label":{"zone":true}}', ['m1', 'w1']],
    ['{"role":{"manager":true}}', ['m1']],
    ['{"role":{"WORKER":true}}', ['w1', 'w2']],
    ['{"role":{"manager":true,"worker":true}}', ['m1', 'w1', 'w2']],
    ['{"membership":{"accepted":true}}', ['m1', 'w1', 'w2']],
    ['{"membership":{"pending":true}}', []],
    ['{"role":{"worker":true},"node.label":{"zone":true}}', ['w1']],
  ];
  for (const [raw, want] of cases) it(`${raw || '(none)'} → ${want.join(',') || 'nothing'}`, () => assert.deepEqual(pick(nodes, (n) => nodeMatches(n, parseFilters(raw))), want));
});

describe('serviceMatches', () => {
  const services: Array<[string, { ID: string; Spec: { Name: string; Labels?: Record<string, string>; Mode: object } }]> = [
    ['web', { ID: 'sv1aaa', Spec: { Name: 'app_web', Labels: { 'com.docker.stack.namespace': 'app' }, Mode: { Replicated: { Replicas: 2 } } } }],
    ['web2', { ID: 'sv2bbb', Spec: { Name: 'app_web2', Labels: { 'com.docker.stack.namespace': 'app' }, Mode: { Global: {} } } }],
    ['db', { ID: 'zz3ccc', Spec: { Name: 'db', Mode: { Replicated: {} } } }],
    ['job', { ID: 'zz4ddd', Spec: { Name: 'once', Labels: {}, Mode: { ReplicatedJob: {} } } }],
  ];
  const cases: Array<[string, string[]]> = [
    ['', ['web', 'web2', 'db', 'job']],
    ['{"name":{"app_web":true}}', ['web', 'web2']], // Docker's name filter is a prefix
    ['{"name":{"App_web":true}}', []],
    ['{"name":{"web":true}}', []],
    ['{"id":{"sv":true}}', ['web', 'web2']],
    ['{"id":{"app_web":true}}', []], // the CLI tries the name as an id first
    ['{"label":{"com.docker.stack.namespace=app":true}}', ['web', 'web2']],
    ['{"label":{"com.docker.stack.namespace":true}}', ['web', 'web2']],
    ['{"mode":{"replicated":true}}', ['web', 'db']],
    ['{"mode":{"global":true}}', ['web2']],
    ['{"mode":{"replicated-job":true}}', ['job']],
    ['{"mode":{"Global":true}}', []], // dockerd matches modes exactly
    ['{"runtime":{"container":true}}', ['web', 'web2', 'db', 'job']],
    ['{"runtime":{"plugin":true}}', []],
    ['{"name":{"app_":true},"mode":{"replicated":true}}', ['web']],
  ];
  for (const [raw, want] of cases) it(`${raw || '(none)'} → ${want.join(',') || 'nothing'}`, () => assert.deepEqual(pick(services, (s) => serviceMatches(s, parseFilters(raw))), want));
});

describe('taskMatches', () => {
  const svcNames: Record<string, string> = { svc1: 'app_web', svc2: 'app_db' };
  const svcLabels: Record<string, Record<string, string>> = { svc1: { 'com.docker.stack.namespace': 'app' }, svc2: { tier: 'db' } };
  const hosts: Record<string, string> = { node1: 'h1', node2: 'h2' };
  const ctx: TaskMatchContext = {
    serviceName: (id) => svcNames[id] ?? null,
    serviceLabels: (id) => svcLabels[id] ?? {},
    nodeHostname: (id) => hosts[id] ?? null,
    upToDate: (id) => id !== 't2',
  };
  type T = { ID: string; ServiceID: string; NodeID?: string; Slot?: number; DesiredState: string };
  const tasks: Array<[string, T]> = [
    ['t1', { ID: 't1', ServiceID: 'svc1', NodeID: 'node1', Slot: 1, DesiredState: 'running' }],
    ['t2', { ID: 't2', ServiceID: 'svc1', NodeID: 'node2', Slot: 1, DesiredState: 'shutdown' }],
    ['t10', { ID: 't10', ServiceID: 'svc1', NodeID: 'node2', Slot: 10, DesiredState: 'running' }],
    ['g1', { ID: 'g1', ServiceID: 'svc2', NodeID: 'node1', DesiredState: 'running' }],
    ['new', { ID: 'n1', ServiceID: 'svc2', Slot: 2, DesiredState: 'running' }],
  ];
  const cases: Array<[string, string[]]> = [
    ['', ['t1', 't2', 't10', 'g1', 'new']],
    ['{"_up-to-date":{"true":true},"service":{"svc1":true}}', ['t1', 't10']], // the CLI's convergence poll
    ['{"_up-to-date":{"false":true}}', ['t1', 't10', 'g1', 'new']], // any value turns it on, as in dockerd
    ['{"service":{"svc1":true}}', ['t1', 't2', 't10']],
    ['{"service":{"app_web":true}}', ['t1', 't2', 't10']], // a name
    ['{"service":{"sv":true}}', ['t1', 't2', 't10', 'g1', 'new']], // an id prefix
    ['{"service":{"app":true}}', []], // names are not prefixes here
    ['{"label":{"com.docker.stack.namespace=app":true}}', ['t1', 't2', 't10']], // the service's labels
    ['{"label":{"tier":true}}', ['g1', 'new']],
    ['{"node":{"node1":true}}', ['t1', 'g1']],
    ['{"node":{"h2":true}}', ['t2', 't10']],
    ['{"node":{"no":true}}', ['t1', 't2', 't10', 'g1']], // an id prefix; an unassigned task has no node
    ['{"desired-state":{"running":true}}', ['t1', 't10', 'g1', 'new']],
    ['{"desired-state":{"Shutdown":true}}', ['t2']],
    ['{"desired-state":{"running":true,"shutdown":true}}', ['t1', 't2', 't10', 'g1', 'new']],
    ['{"id":{"t1":true}}', ['t1', 't10']],
    ['{"name":{"app_web.1":true}}', ['t1', 't2', 't10']], // SwarmKit's name prefix: app_web.10 too
    ['{"name":{"app_web.1.t1":true}}', ['t1']],
    ['{"name":{"app_db.node1":true}}', ['g1']], // a global task's name has its node id
    ['{"name":{"app_db.2.":true}}', ['new']],
    ['{"runtime":{"container":true}}', ['t1', 't2', 't10', 'g1', 'new']],
    ['{"runtime":{"attachment":true}}', []],
    ['{"service":{"app_web":true},"desired-state":{"running":true},"node":{"h2":true}}', ['t10']],
  ];
  for (const [raw, want] of cases) it(`${raw || '(none)'} → ${want.join(',') || 'nothing'}`, () => assert.deepEqual(pick(tasks, (t) => taskMatches(t, parseFilters(raw), ctx)), want));

  it('taskFilterName is SwarmKit naming.Task', () => {
    assert.equal(taskFilterName('app_web', { ID: 'abc', Slot: 3, NodeID: 'n' }), 'app_web.3.abc');
    assert.equal(taskFilterName('g', { ID: 'abc', NodeID: 'n9' }), 'g.n9.abc');
  });
});

const dnet = (id: string, name: string, over: Partial<DockerNetwork> = {}): DockerNetwork => ({
  Name: name,
  Id: id,
  Created: '',
  Scope: 'swarm',
  Driver: 'overlay',
  EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [] },
  Internal: false,
  Attachable: false,
  Ingress: false,
  ConfigFrom: { Network: '' },
  ConfigOnly: false,
  Containers: {},
  Options: {},
  Labels: {},
  ...over,
});

describe('networkMatches', () => {
  const ep = { Name: 'c', EndpointID: 'e', MacAddress: '', IPv4Address: '', IPv6Address: '' };
  const nets: Array<[string, DockerNetwork]> = [
    ['ingress', dnet('ing111', 'ingress', { Ingress: true })],
    ['app_net', dnet('app222', 'app_net', { Labels: { 'com.docker.stack.namespace': 'app', empty: '' }, Containers: { c: ep } })],
    ['myapp', dnet('my333', 'myapp', { Labels: { 'com.docker.stack.namespace': 'myapp' } })],
    ['bridge', dnet('br444', 'bridge', { Scope: 'local', Driver: 'bridge' })], // never in tsswarm; Docker's builtin
  ];
  const inUse = (id: string) => id === 'my333';
  const cases: Array<[string, string[]]> = [
    ['', ['ingress', 'app_net', 'myapp', 'bridge']],
    ['{"name":{"app":true}}', ['app_net', 'myapp']], // a regular expression, unanchored
    ['{"name":{"^app":true}}', ['app_net']],
    ['{"name":{"(?i)^APP_":true}}', ['app_net']],
    ['{"name":{"[":true}}', []], // does not compile: matches only by equality
    ['{"name":{"ingress":true}}', ['ingress']],
    ['{"id":{"app2":true}}', ['app_net']],
    ['{"id":{"22":true}}', ['app_net']], // Match, not a prefix
    ['{"driver":{"overlay":true}}', ['ingress', 'app_net', 'myapp']],
    ['{"driver":{"over":true}}', []],
    ['{"scope":{"swarm":true}}', ['ingress', 'app_net', 'myapp']],
    ['{"scope":{"local":true}}', ['bridge']],
    ['{"label":{"com.docker.stack.namespace=app":true}}', ['app_net']],
    ['{"label":{"com.docker.stack.namespace":true}}', ['app_net', 'myapp']],
    ['{"label":{"empty=":true}}', ['app_net']], // moby MatchKVList: "key=" asks for an empty value
    ['{"label":{"com.docker.stack.namespace=":true}}', []],
    ['{"type":{"custom":true}}', ['ingress', 'app_net', 'myapp']],
    ['{"type":{"builtin":true}}', ['bridge']],
    ['{"type":{"builtin":true,"custom":true}}', ['ingress', 'app_net', 'myapp', 'bridge']],
    ['{"dangling":{"true":true}}', ['ingress']],
    ['{"dangling":{"0":true}}', ['app_net', 'myapp', 'bridge']],
  ];
  for (const [raw, want] of cases) it(`${raw || '(none)'} → ${want.join(',') || 'nothing'}`, () => assert.deepEqual(pick(nets, (n) => networkMatches(n, parseFilters(raw), { inUse })), want));

  it('without inUse, only endpoints make a network used', () => {
    assert.deepEqual(pick(nets, (n) => networkMatches(n, parseFilters('{"dangling":{"true":true}}'))), ['ingress', 'myapp']);
  });
});

describe('blobMatches', () => {
  const blobs: Array<[string, { ID: string; Spec: { Name: string; Labels?: Record<string, string> } }]> = [
    ['s1', { ID: 'aa11', Spec: { Name: 'app_s1', Labels: { 'com.docker.stack.namespace': 'app' } } }],
    ['s2', { ID: 'aa22', Spec: { Name: 'app_s2', Labels: { 'com.docker.stack.namespace': 'app' } } }],
    ['db', { ID: 'bb33', Spec: { Name: 'DB_password' } }],
  ];
  const cases: Array<[string, string[]]> = [
    ['', ['s1', 's2', 'db']],
    ['{"name":{"app_s1":true}}', ['s1']], // what docker stack deploy asks
    ['{"name":{"app_":true}}', ['s1', 's2']], // a prefix
    ['{"name":{"db_":true}}', ['db']], // case-blind, as SwarmKit's name index
    ['{"names":{"app_s1":true}}', ['s1']],
    ['{"names":{"app_":true}}', []], // names: exact
    ['{"names":{"db_PASSWORD":true}}', ['db']],
    ['{"id":{"aa":true}}', ['s1', 's2']],
    ['{"id":{"AA":true}}', []],
    ['{"name":{"app_s1":true},"id":{"bb":true}}', ['s1', 'db']], // alternatives, not all-of
    ['{"label":{"com.docker.stack.namespace=app":true}}', ['s1', 's2']],
    ['{"label":{"com.docker.stack.namespace=app":true},"id":{"bb":true}}', []], // the label must hold too
    ['{"label":{"com.docker.stack.namespace":true},"name":{"app_s2":true}}', ['s2']],
  ];
  for (const [raw, want] of cases) it(`${raw || '(none)'} → ${want.join(',') || 'nothing'}`, () => assert.deepEqual(pick(blobs, (b) => blobMatches(b, parseFilters(raw))), want));
});
