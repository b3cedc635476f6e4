import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upgradeRecord } from '../../../../manager/store/upgrade';
import { Keys } from '../../../../shared/keys';
import type { Service, Task } from '../../../../shared/types';
import { service, task } from '../../fixtures';

/** A container spec as the tree before the swarm-shaped model wrote it. */
const oldContainer = { image: 'busybox:latest', command: ['sleep', '1'], entrypoint: null, env: ['A=1'], workingDir: null, user: null, hostname: null, stopGracePeriodMs: 1000, dns: [], extraHosts: [], runtime: { privileged: false } };
const oldLimits = { memoryBytes: 1024, nanoCpus: null, pids: 5 };

describe('records written before the swarm-shaped model', () => {
  it('a service with spec.container and spec.limits reads with a task template', () => {
    const old = { v: 1, id: 's1', spec: { name: 'web', stack: null, mode: 'replicated', replicas: 2, container: oldContainer, limits: oldLimits, labels: {}, networks: [], endpoint: { mode: 'vip', ports: [] } }, specVersion: 3 };
    const s = upgradeRecord(Keys.service('s1'), old) as Service;
    assert.equal(s.spec.task.container.image, 'busybox:latest');
    assert.deepEqual(s.spec.task.container.env, ['A=1']);
    assert.deepEqual(s.spec.task.container.mounts, []);
    assert.deepEqual(s.spec.task.resources.limits, oldLimits);
    assert.deepEqual(s.spec.task.placement, { constraints: [], preferences: [], maxReplicas: 0 });
    assert.equal(s.spec.update, null);
    assert.equal(s.specVersion, 3);
    assert.ok(!('container' in s.spec) && !('limits' in s.spec));
  });

  it('a task with a ContainerSpec and limits beside it reads with a TaskSpec', () => {
    const old = { v: 1, id: 't1', serviceId: 's1', spec: oldContainer, limits: oldLimits, status: { state: 'running' } };
    const t = upgradeRecord(Keys.task('t1'), old) as Task;
    assert.deepEqual(t.spec.container.command, ['sleep', '1']);
    assert.deepEqual(t.spec.resources.limits, oldLimits);
    assert.ok(!('limits' in t));
  });

  it('leaves records in today\'s shape, and other keys, as they are', () => {
    const s = service();
    assert.equal(upgradeRecord(Keys.service(s.id), s), s);
    const t = task(s);
    assert.equal(upgradeRecord(Keys.task(t.id), t), t);
    const n = { id: 'n1' };
    assert.equal(upgradeRecord(Keys.node('n1'), n), n);
  });
});
