import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { dockerEvent, encodeDockerEvent, eventMatches, eventQuery, unixTimeParam, type DockerEvent } from '../../../../manager/docker-api/event-routes';
import { parseFilters } from '../../../../manager/docker-api/filters';
import type { ClusterEvent } from '../../../../shared/api-types';
import { InvalidArgumentError } from '../../../../shared/errors';

const isInvalid = (msg: RegExp) => (e: unknown) => e instanceof InvalidArgumentError && msg.test(e.message);

const MS = 1_700_000_000_123;
function ev(type: ClusterEvent['type'], action: ClusterEvent['action'], id: string, attributes: Record<string, string>): ClusterEvent {
  return { type, action, actor: { id, attributes }, scope: 'swarm', time: Math.floor(MS / 1000), timeNano: MS * 1e6 };
}

describe('dockerEvent', () => {
  it("a service's create and remove carry its name only, in Docker's field names", () => {
    const d = dockerEvent(ev('service', 'create', 's1', { name: 'web', image: 'busybox', replicas: '2', version: '1', updatestate: '' }));
    assert.deepEqual(d, { Type: 'service', Action: 'create', Actor: { ID: 's1', Attributes: { name: 'web' } }, scope: 'swarm', time: 1_700_000_000, timeNano: 1_700_000_000_123_000_000n });
    assert.deepEqual(dockerEvent(ev('service', 'remove', 's1', { name: 'web' }))?.Actor.Attributes, { name: 'web' });
  });

  it("a service's update names what dockerd names: image, replicas and update state, not tsswarm's spec version", () => {
    const d = dockerEvent(ev('service', 'update', 's1', { name: 'web', 'replicas.old': '2', 'replicas.new': '3', 'version.old': '1', 'version.new': '2', 'image.old': 'a', 'image.new': 'b' }));
    assert.deepEqual(d?.Actor.Attributes, { name: 'web', 'replicas.old': '2', 'replicas.new': '3', 'image.old': 'a', 'image.new': 'b' });
    // An update that changed nothing dockerd names is still an update, as each store update is in Docker.
    assert.deepEqual(dockerEvent(ev('service', 'update', 's1', { name: 'web', 'version.old': '1', 'version.new': '2' }))?.Actor.Attributes, { name: 'web' });
  });

  it("the update state: only the new one when there was none, nothing when it is cleared", () => {
    const state = (o: string, n: string) => dockerEvent(ev('service', 'update', 's1', { name: 'web', 'updatestate.old': o, 'updatestate.new': n }))?.Actor.Attributes;
    assert.deepEqual(state('', 'updating'), { name: 'web', 'updatestate.new': 'updating' });
    assert.deepEqual(state('updating', 'completed'), { name: 'web', 'updatestate.old': 'updating', 'updatestate.new': 'completed' });
    assert.deepEqual(state('completed', ''), { name: 'web' });
  });

  it("a node's update: availability, role and state", () => {
    const d = dockerEvent(ev('node', 'update', 'n1', { name: 'host2', 'availability.old': 'active', 'availability.new': 'drain', 'state.old': 'ready', 'state.new': 'down' }));
    assert.deepEqual(d?.Actor.Attributes, { name: 'host2', 'availability.old': 'active', 'availability.new': 'drain', 'state.old': 'ready', 'state.new': 'down' });
    assert.deepEqual(dockerEvent(ev('node', 'create', 'n1', { name: 'host2', state: 'ready', availability: 'active', role: 'worker' }))?.Actor.Attributes, { name: 'host2' });
  });

  it('networks, secrets and configs by name; tasks are not Docker events', () => {
    for (const t of ['network', 'secret', 'config'] as const) assert.deepEqual(dockerEvent(ev(t, 'create', 'x', { name: 'n' }))?.Actor.Attributes, { name: 'n' });
    assert.equal(dockerEvent(ev('task', 'update', 't1', { name: 'web.1', service: 'web', 'state.old': 'starting', 'state.new': 'running' })), null);
  });
});

describe('encodeDockerEvent', () => {
  it("writes events.Message's JSON, timeNano exact, without the legacy container fields", () => {
    const line = encodeDockerEvent(dockerEvent(ev('service', 'create', 's1', { name: 'web' }))!);
    assert.equal(line, '{"Type":"service","Action":"create","Actor":{"ID":"s1","Attributes":{"name":"web"}},"scope":"swarm","time":1700000000,"timeNano":1700000000123000000}\n');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    for (const legacy of ['status', 'id', 'from']) assert.equal(parsed[legacy], undefined);
  });
});

describe('since and until', () => {
  it('Unix seconds with an optional fraction, padded or cut to nanoseconds', () => {
    assert.equal(unixTimeParam('since', null), null);
    assert.equal(unixTimeParam('since', ''), null);
    assert.equal(unixTimeParam('since', '1700000000'), 1_700_000_000_000_000_000n);
    assert.equal(unixTimeParam('since', '1700000000.123456789'), 1_700_000_000_123_456_789n);
    assert.equal(unixTimeParam('since', '1700000000.5'), 1_700_000_000_500_000_000n);
    assert.equal(unixTimeParam('since', '1700000000.1234567891234'), 1_700_000_000_123_456_789n);
    assert.equal(unixTimeParam('since', '1700000000.'), 1_700_000_000_000_000_000n);
  });

  it("refuses what dockerd refuses (the CLI converts 10m and RFC 3339 itself)", () => {
    assert.throws(() => unixTimeParam('since', '10m'), isInvalid(/^invalid value for 'since': invalid timestamp "10m"$/));
    assert.throws(() => unixTimeParam('until', '2026-01-01T00:00:00Z'), isInvalid(/invalid value for 'until'/));
    assert.throws(() => unixTimeParam('since', '1.2.3'), isInvalid(/invalid timestamp/));
    assert.throws(() => eventQuery(new URLSearchParams('since=20&until=10')), isInvalid(/^`since` time \(20\) cannot be after `until` time \(10\)$/));
  });

  it('reads the filters', () => {
    const q = eventQuery(new URLSearchParams({ filters: '{"type":{"service":true}}' }));
    assert.deepEqual([...q.filters], [['type', ['service']]]);
    assert.throws(() => eventQuery(new URLSearchParams({ filters: 'nope' })), isInvalid(/invalid filter/));
  });
});

describe('eventMatches', () => {
  const of = (type: string, action: string, id: string, name: string, extra: Record<string, string> = {}): DockerEvent => ({ Type: type, Action: action, Actor: { ID: id, Attributes: { name, ...extra } }, scope: 'swarm', time: 0, timeNano: 0n });
  const events = [of('service', 'create', 'svc111', 'web'), of('service', 'update', 'svc222', 'talker'), of('node', 'update', 'nod333', 'host2'), of('network', 'create', 'net444', 'backend'), of('secret', 'remove', 'sec555', 'db_pass')];
  const pick = (filters: object) => events.filter((e) => eventMatches(e, parseFilters(JSON.stringify(filters)))).map((e) => e.Actor.ID);

  it('no filter: everything', () => assert.equal(pick({}).length, events.length));

  it('type, event and scope exactly', () => {
    assert.deepEqual(pick({ type: { service: true } }), ['svc111', 'svc222']);
    assert.deepEqual(pick({ type: { service: true, node: true } }), ['svc111', 'svc222', 'nod333']);
    assert.deepEqual(pick({ event: { create: true } }), ['svc111', 'net444']);
    assert.deepEqual(pick({ type: { service: true }, event: { update: true } }), ['svc222']);
    assert.deepEqual(pick({ scope: { swarm: true } }).length, events.length);
    assert.deepEqual(pick({ scope: { local: true } }), []);
    assert.deepEqual(pick({ type: { task: true } }), []);
    assert.deepEqual(pick({ event: { creat: true } }), []);
  });

  it("an object key matches the actor's id or name as a prefix, on every event, as dockerd's does", () => {
    assert.deepEqual(pick({ service: { web: true } }), ['svc111']);
    assert.deepEqual(pick({ service: { svc2: true } }), ['svc222']);
    assert.deepEqual(pick({ service: { tal: true } }), ['svc222']);
    assert.deepEqual(pick({ node: { host2: true } }), ['nod333']);
    assert.deepEqual(pick({ network: { back: true } }), ['net444']);
    assert.deepEqual(pick({ secret: { db_: true } }), ['sec555']);
    assert.deepEqual(pick({ config: { x: true } }), []);
    assert.deepEqual(pick({ container: { web: true } }), ['svc111']);
  });

  it('label against the attributes; image exactly', () => {
    assert.deepEqual(pick({ label: { name: true } }).length, events.length);
    assert.deepEqual(pick({ label: { 'name=web': true } }), ['svc111']);
    assert.deepEqual(pick({ label: { team: true } }), []);
    assert.deepEqual(pick({ image: { svc111: true } }), ['svc111']);
    assert.deepEqual(pick({ image: { svc: true } }), []);
  });
});
