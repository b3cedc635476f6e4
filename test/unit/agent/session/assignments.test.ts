import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { mergeAssignments, type Assignments } from '../../../../agent/session/assignments';
import type { AssignedTask, NetworkView } from '../../../../shared/proto/codec';
import { taskSpec } from '../../fixtures';

function t(id: string, desired: 'running' | 'shutdown' = 'running'): AssignedTask {
  return { id, serviceId: 's', serviceName: 'svc', slot: 1, desiredState: desired, spec: taskSpec(), observedState: 'assigned', networks: [], paused: false, serviceLabels: {} };
}

function v(id: string, names: number): NetworkView {
  return { id, name: id, vni: 4097, subnet: '10.0.0.0/24', gateway: '10.0.0.1', peers: [], dns: Array.from({ length: names }, (_, i) => ({ name: `n${i}`, ips: [], roundRobin: false })), vips: [], localIp: null, encrypted: false };
}

function msg(o: Partial<Assignments>): Assignments {
  return { full: false, tasks: [], removed: [], networks: [], removedNetworks: [], ports: null, networkKeys: null, blobs: [], removedBlobs: [], ...o };
}

test('later task and network versions replace earlier ones', () => {
  const m = mergeAssignments(msg({ tasks: [t('a'), t('b')], networks: [v('n1', 1)] }), msg({ tasks: [t('a', 'shutdown')], networks: [v('n1', 2), v('n2', 1)] }));
  assert.deepEqual(m.tasks.map((x) => [x.id, x.desiredState]), [['a', 'shutdown'], ['b', 'running']]);
  assert.deepEqual(m.networks.map((x) => [x.id, x.dns.length]), [['n1', 2], ['n2', 1]]);
  assert.equal(m.full, false);
});

test('a removal drops the earlier version and a later version undoes a removal', () => {
  const m = mergeAssignments(msg({ tasks: [t('a'), t('b')], removed: ['c'], networks: [v('n1', 1)], removedNetworks: ['n9'] }), msg({ tasks: [t('c')], removed: ['a'], removedNetworks: ['n1'], networks: [v('n9', 3)] }));
  assert.deepEqual(m.tasks.map((x) => x.id), ['b', 'c']);
  assert.deepEqual(m.removed, ['a']);
  assert.deepEqual(m.networks.map((x) => x.id), ['n9']);
  assert.deepEqual(m.removedNetworks, ['n1']);
});

test('a full message replaces everything queued before it; an incremental one after a full keeps it full', () => {
  const full = msg({ full: true, tasks: [t('x')], ports: [] });
  assert.equal(mergeAssignments(msg({ tasks: [t('a')], removed: ['b'] }), full), full);
  const m = mergeAssignments(full, msg({ tasks: [t('y')] }));
  assert.equal(m.full, true);
  assert.deepEqual(m.tasks.map((x) => x.id), ['x', 'y']);
});

test('ports: the latest set wins, and null (unchanged) keeps the earlier set', () => {
  const rule = { protocol: 'tcp' as const, publishedPort: 8080, targetPort: 80, mode: 'ingress' as const };
  const withPorts = msg({ ports: [rule as never] });
  assert.deepEqual(mergeAssignments(withPorts, msg({})).ports, [rule]);
  assert.deepEqual(mergeAssignments(withPorts, msg({ ports: [] })).ports, []);
  assert.equal(mergeAssignments(msg({}), msg({})).ports, null);
});

test('network keys: the latest ring wins, null (unchanged) keeps the earlier one, an empty ring is kept', () => {
  const ring = { keys: [1, 2, 3].map((tag) => ({ tag, key: Buffer.alloc(20, tag) })), primary: 2 };
  const withKeys = msg({ networkKeys: ring });
  assert.equal(mergeAssignments(withKeys, msg({})).networkKeys, ring);
  assert.deepEqual(mergeAssignments(withKeys, msg({ networkKeys: { keys: [], primary: 0 } })).networkKeys, { keys: [], primary: 0 });
  assert.equal(mergeAssignments(msg({}), msg({})).networkKeys, null);
});

test('secrets and configs fold like tasks: a later removal drops one, a later send undoes a removal', () => {
  const b = (id: string) => ({ id, kind: 'secret' as const, name: id, data: Buffer.from(id) });
  const m = mergeAssignments(msg({ blobs: [b('s1'), b('s2')], removedBlobs: ['s3'] }), msg({ blobs: [b('s3')], removedBlobs: ['s1'] }));
  assert.deepEqual(m.blobs.map((x) => x.id), ['s2', 's3']);
  assert.deepEqual(m.removedBlobs, ['s1']);
});
