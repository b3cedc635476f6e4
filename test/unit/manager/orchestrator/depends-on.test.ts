import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { starting, waitingFor } from '../../../../manager/orchestrator/depends-on';
import type { DependencyCondition, Service } from '../../../../shared/types';
import { service, task } from '../../fixtures';

const db = service({ id: 'svc-db', name: 'app_db', replicas: 2 });
const web = (condition: DependencyCondition): Service => service({ id: 'svc-web', name: 'app_web', dependsOn: [{ service: 'app_db', condition }] });
const dbTask = (id: string, o: Parameters<typeof task>[1] = {}) => task(db, { id, ...o });

describe('depends_on', () => {
  it('service_started: as many dependency tasks running as it wants', () => {
    assert.equal(waitingFor(web('service_started'), [db], [dbTask('a')]), 'waiting for app_db to be started (1/2)');
    assert.equal(waitingFor(web('service_started'), [db], [dbTask('a'), dbTask('b', { slot: 2 })]), null);
    assert.match(waitingFor(web('service_started'), [db], [dbTask('a'), dbTask('b', { slot: 2, state: 'starting' })]) ?? '', /1\/2/);
  });

  it('service_healthy: running and healthy', () => {
    const tasks = [dbTask('a', { status: { health: 'healthy' } }), dbTask('b', { slot: 2, status: { health: 'starting' } })];
    assert.equal(waitingFor(web('service_healthy'), [db], tasks), 'waiting for app_db to be healthy (1/2)');
    tasks[1] = dbTask('b', { slot: 2, status: { health: 'healthy' } });
    assert.equal(waitingFor(web('service_healthy'), [db], tasks), null);
  });

  it('service_completed_successfully: exited 0', () => {
    const tasks = [dbTask('a', { state: 'complete', status: { exitCode: 0 } }), dbTask('b', { slot: 2, state: 'failed', status: { exitCode: 1 } })];
    assert.match(waitingFor(web('service_completed_successfully'), [db], tasks) ?? '', /completed successfully \(1\/2\)/);
  });

  it('a dependency of an older spec does not count; one that is gone holds nothing', () => {
    assert.match(waitingFor(web('service_started'), [db], [dbTask('a', { specVersion: 0 }), dbTask('b', { slot: 2 })]) ?? '', /1\/2/);
    assert.equal(waitingFor(web('service_started'), [], []), null);
  });

  it('only start-up waits', () => {
    const w = web('service_started');
    assert.equal(starting(w, []), true);
    assert.equal(starting(w, [task(w, { id: 'w1' })]), false);
    assert.equal(starting(w, [task(w, { id: 'w1', desiredState: 'shutdown', state: 'shutdown' })]), true);
  });
});
