import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadDispatcher } from '../../../../shared/proto/load';
import {
  isTaskStateName,
  statusFromWire,
  statusToWire,
  taskFromWire,
  taskToWire,
  type AssignedTask,
  type StatusUpdate,
  type WireStatus,
  type WireTask,
} from '../../../../shared/proto/codec';
import type { Task } from '../../../../shared/types';
import { service, task, type SpecOptions } from '../../fixtures';

/** What the agent should see of a task. */
function expected(t: Task): AssignedTask {
  return {
    id: t.id,
    serviceId: t.serviceId,
    serviceName: t.serviceName,
    slot: t.slot,
    desiredState: t.desiredState,
    spec: t.spec,
    observedState: t.status.state, networks: [], paused: false, serviceLabels: {},
  };
}

function taskOf(spec: SpecOptions, o: Parameters<typeof task>[1] = {}): Task {
  return task(service({ id: 'svc-1', ...spec }), { id: 'task-1', nodeId: 'n1', state: 'assigned', ...o });
}

const tasks: { name: string; task: Task }[] = [
  { name: 'all nullable fields null', task: taskOf({}) },
  {
    name: 'every field set',
    task: taskOf(
      {
        container: {
          image: 'nginx:1.25',
          command: ['nginx', '-g', 'daemon off;'],
          entrypoint: ['/docker-entrypoint.sh'],
          env: ['A=1', 'B='],
          workingDir: '/srv',
          user: '101:101',
          hostname: 'web-1',
          stopGracePeriodMs: 2500,
        },
        limits: { memoryBytes: 256 * 1024 * 1024, nanoCpus: 1_500_000_000, pids: 64 },
      },
      { slot: 7, desiredState: 'shutdown', state: 'running' },
    ),
  },
  { name: 'empty command and entrypoint differ from null', task: taskOf({ container: { command: [], entrypoint: [] } }) },
  { name: 'empty command, null entrypoint', task: taskOf({ container: { command: [], entrypoint: null } }) },
  { name: 'a global task (no slot)', task: taskOf({ mode: 'global' }, { slot: null, desiredState: 'remove' }) },
  { name: 'a zero grace period', task: taskOf({ container: { stopGracePeriodMs: 0 } }) },
];

const statuses: { name: string; u: StatusUpdate }[] = [
  { name: 'nulls', u: { taskId: 't', state: 'accepted', message: 'accepted', err: null, pid: null, exitCode: null, timestamp: '2024-01-01T00:00:00.000Z', paused: false } },
  { name: 'running with a pid', u: { taskId: 't', state: 'running', message: 'started', err: null, pid: 12345, exitCode: null, timestamp: 'x', paused: false } },
  { name: 'complete with exit code 0', u: { taskId: 't', state: 'complete', message: 'finished', err: null, pid: null, exitCode: 0, timestamp: 'x', paused: false } },
  { name: 'failed with an error and exit code', u: { taskId: 't', state: 'failed', message: 'task exited', err: 'boom', pid: null, exitCode: 137, timestamp: 'x', paused: false } },
];

describe('codec: task round trip', () => {
  for (const c of tasks) {
    it(c.name, () => {
      assert.deepEqual(taskFromWire(taskToWire(c.task)), expected(c.task));
    });
  }

  it('unknown desired and observed states fall back safely', () => {
    const w: WireTask = { ...taskToWire(taskOf({})), desired_state: 'bogus', observed_state: 'bogus' };
    const a = taskFromWire(w);
    assert.equal(a.desiredState, 'shutdown');
    assert.equal(a.observedState, 'assigned');
  });

  it('a message without spec or limits decodes to empty ones', () => {
    const w: WireTask = { ...taskToWire(taskOf({})), spec_json: '' };
    const a = taskFromWire(w);
    assert.deepEqual(a.spec.resources.limits, { memoryBytes: null, nanoCpus: null, pids: null });
    assert.equal(a.spec.container.command, null);
    assert.equal(a.spec.container.entrypoint, null);
    assert.deepEqual(a.spec.container.env, []);
  });

  it('a spec from a manager that knows fewer fields gets their defaults', () => {
    const w: WireTask = { ...taskToWire(taskOf({})), spec_json: JSON.stringify({ container: { image: 'x:1', env: ['A=1'] } }) };
    const a = taskFromWire(w);
    assert.equal(a.spec.container.image, 'x:1');
    assert.deepEqual(a.spec.container.env, ['A=1']);
    assert.equal(a.spec.container.runtime.privileged, false);
    assert.deepEqual(a.spec.container.runtime.seccomp, { mode: 'default', profile: null });
    assert.deepEqual(a.spec.container.mounts, []);
    assert.deepEqual(a.spec.placement, { constraints: [], preferences: [], maxReplicas: 0 });
  });

  it('runtime settings travel whole', () => {
    const runtime = { ...taskOf({}).spec.container.runtime, capAdd: ['CAP_NET_ADMIN'], sysctls: { 'net.ipv4.ip_forward': '1' }, ulimits: [{ name: 'nofile', soft: 10, hard: 20 }] };
    const a = taskFromWire(taskToWire(taskOf({ container: { runtime } })));
    assert.deepEqual(a.spec.container.runtime, runtime);
  });
});

describe('codec: status round trip', () => {
  for (const c of statuses) {
    it(c.name, () => assert.deepEqual(statusFromWire(statusToWire(c.u)), c.u));
  }

  it('an unknown state is dropped', () => {
    const w: WireStatus = { ...statusToWire(statuses[0]!.u), state: 'exploded' };
    assert.equal(statusFromWire(w), null);
  });
});

describe('isTaskStateName', () => {
  for (const s of ['new', 'running', 'orphaned']) it(`${s} is a state`, () => assert.equal(isTaskStateName(s), true));
  for (const s of ['', 'Running', 'toString', '__proto__', 'constructor']) it(`${JSON.stringify(s)} is not`, () => assert.equal(isTaskStateName(s), false));
});

/** Through the real protobuf encoding of dispatcher.proto (proto3: absent travels as a default). */
describe('codec: through protobuf bytes', () => {
  const session = loadDispatcher().Dispatcher.service['Session'] as MethodDefinition<
    { status?: { updates: WireStatus[] } },
    { assignments?: { full: boolean; tasks: WireTask[]; removed: string[] } }
  >;

  for (const c of tasks) {
    it(`task: ${c.name}`, () => {
      const bytes = session.responseSerialize({ assignments: { full: true, tasks: [taskToWire(c.task)], removed: [] } });
      const back = session.responseDeserialize(bytes);
      const w = back.assignments?.tasks[0];
      assert.ok(w);
      assert.deepEqual(taskFromWire(w), expected(c.task));
    });
  }

  for (const c of statuses) {
    it(`status: ${c.name}`, () => {
      const bytes = session.requestSerialize({ status: { updates: [statusToWire(c.u)] } });
      const w = session.requestDeserialize(bytes).status?.updates[0];
      assert.ok(w);
      assert.deepEqual(statusFromWire(w), c.u);
    });
  }
});
