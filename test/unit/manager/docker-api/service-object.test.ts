import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, Task } from '../../../../shared/types';
import type { SpecRefs } from '../../../../manager/docker-api/service-spec';
import { toDockerServiceSpec, toDockerTaskSpec } from '../../../../manager/docker-api/service-spec';
import { dockerService, dockerTask } from '../../../../manager/docker-api/service-object';
import { service as makeService, serviceSpec, task as makeTask } from '../../fixtures';

const refs: SpecRefs = {
  networkId: (name) => `id-${name}`,
  networkName: (target) => (target.startsWith('id-') ? target.slice(3) : target),
  networkSubnet: (id) => (id === 'id-front' ? '10.0.1.0/24' : id === 'id-ingress' ? '10.255.0.0/16' : null),
};
const T0 = '2024-05-01T10:00:00.000Z';
const T1 = '2024-05-01T10:05:00.000Z';

function svc(): Service {
  const s = makeService({ id: 'svc1' });
  return {
    ...s,
    spec: { ...s.spec, networks: [{ target: 'front', aliases: [] }], endpoint: { mode: 'vip', ports: [{ target: 80, published: 30000, protocol: 'tcp', mode: 'ingress' }, { target: 9100, published: 9100, protocol: 'tcp', mode: 'host' }] } },
    vips: [{ networkId: 'id-ingress', address: '10.255.0.5' }, { networkId: 'id-front', address: '10.0.1.2' }, { networkId: 'id-gone', address: '10.9.0.2' }],
    createdAt: T0,
    updatedAt: T1,
  };
}

describe('dockerService', () => {
  it('shows the service as Docker does', () => {
    const s = svc();
    const d = dockerService({ key: '/tsswarm/v1/services/svc1', value: s, modRevision: '1234' }, { refs, status: null });
    assert.equal(d.ID, 'svc1');
    assert.deepEqual(d.Version, { Index: 1234 });
    assert.equal(d.CreatedAt, T0);
    assert.equal(d.UpdatedAt, T1);
    assert.deepEqual(d.Spec, toDockerServiceSpec(s.spec, refs));
    assert.equal(d.PreviousSpec, undefined);
    assert.equal(d.UpdateStatus, undefined);
    assert.equal(d.ServiceStatus, undefined);
    const ports = [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress' }, { Protocol: 'tcp', TargetPort: 9100, PublishedPort: 9100, PublishMode: 'host' }];
    assert.deepEqual(d.Endpoint, {
      Spec: { Mode: 'vip', Ports: ports },
      Ports: ports,
      VirtualIPs: [{ NetworkID: 'id-ingress', Addr: '10.255.0.5/16' }, { NetworkID: 'id-front', Addr: '10.0.1.2/24' }, { NetworkID: 'id-gone', Addr: '10.9.0.2' }],
    });
  });
  it('adds the previous spec, the update status and the task counts', () => {
    const s: Service = { ...svc(), previousSpec: serviceSpec({ replicas: 2 }), updateStatus: { state: 'rollback_completed', startedAt: T0, completedAt: T1, message: 'rollback completed' } };
    const d = dockerService({ key: 'k', value: s, modRevision: '7' }, { refs, status: { running: 2, desired: 3, completed: 0 } });
    assert.deepEqual(d.PreviousSpec, toDockerServiceSpec(serviceSpec({ replicas: 2 }), refs));
    assert.deepEqual(d.UpdateStatus, { State: 'rollback_completed', StartedAt: T0, CompletedAt: T1, Message: 'rollback completed' });
    assert.deepEqual(d.ServiceStatus, { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 });
    const running = dockerService({ key: 'k', value: { ...s, updateStatus: { state: 'updating', startedAt: T0, completedAt: null, message: '' } }, modRevision: '8' }, { refs, status: null });
    assert.deepEqual(running.UpdateStatus, { State: 'updating', StartedAt: T0 });
  });
  it('shows an endpoint without ports or VIPs as its mode alone', () => {
    const s: Service = { ...makeService({ id: 'svc2' }), vips: [] };
    assert.deepEqual(dockerService({ key: 'k', value: s, modRevision: '1' }, { refs, status: null }).Endpoint, { Spec: { Mode: 'vip' } });
  });
});

describe('dockerTask', () => {
  const network = (id: string) => ({ ID: id });
  const s = svc();
  const make = (over: Partial<Task> = {}, status: Partial<Task['status']> = {}): Task => {
    const t = makeTask(s, { id: 'task1', slot: 2, nodeId: 'node1', createdAt: T0 });
    return { ...t, networks: [{ networkId: 'id-front', networkName: 'front', address: '10.0.1.7/24', mac: '02:42:0a:00:01:07', aliases: [] }], ...over, status: { ...t.status, timestamp: T1, pid: 4242, ...status } };
  };

  it('shows a running replicated task', () => {
    const d = dockerTask({ key: 'k', value: make(), modRevision: '55' }, { refs, service: s, network });
    assert.deepEqual(d, {
      ID: 'task1',
      Version: { Index: 55 },
      CreatedAt: T0,
      UpdatedAt: T1,
      Labels: {},
      Spec: toDockerTaskSpec(s.spec.task, s.spec.networks, refs),
      ServiceID: 'svc1',
      Slot: 2,
      NodeID: 'node1',
      Status: {
        Timestamp: T1,
        State: 'running',
        Message: '',
        ContainerStatus: { ContainerID: 'task1', PID: 4242 },
        PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 9100, PublishedPort: 9100, PublishMode: 'host' }] },
      },
      DesiredState: 'running',
      NetworksAttachments: [{ Network: { ID: 'id-front' }, Addresses: ['10.0.1.7/24'] }],
    });
    assert.deepEqual(d.Spec.Networks, [{ Target: 'id-front' }]);
  });
  it('shows a failed task with its error and exit code, a global one without a slot', () => {
    const d = dockerTask({ key: 'k', value: make({ slot: null, desiredState: 'shutdown' }, { state: 'failed', err: 'task: non-zero exit (3)', message: 'started', pid: null, exitCode: 3 }), modRevision: '9' }, { refs, service: s, network });
    assert.equal(d.Slot, undefined);
    assert.equal(d.DesiredState, 'shutdown');
    assert.deepEqual(d.Status, { Timestamp: T1, State: 'failed', Message: 'started', Err: 'task: non-zero exit (3)', ContainerStatus: { ContainerID: 'task1', ExitCode: 3 }, PortStatus: {} });
  });
  it('has no container before one is made, nor networks once its service is gone', () => {
    const d = dockerTask({ key: 'k', value: make({ nodeId: null, networks: [] }, { state: 'pending', pid: null }), modRevision: '3' }, { refs, service: undefined, network });
    assert.equal(d.NodeID, undefined);
    assert.deepEqual(d.Status.ContainerStatus, {});
    assert.equal(d.Spec.Networks, undefined);
    assert.equal(d.NetworksAttachments, undefined);
  });
});
