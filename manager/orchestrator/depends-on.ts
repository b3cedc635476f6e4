/**
 * compose `depends_on`, which Swarm ignores: a service's first tasks wait until each service it
 * depends on is started (as many tasks running as it wants), healthy (that many ready: running and
 * healthy) or completed successfully (that many exited 0). Only start-up waits: once a service has
 * live tasks, a dependency that goes down later stops nothing and holds back no restart, as in
 * compose. A dependency that no longer exists is nothing to wait for.
 */
import type { Service, Task } from '../../shared/types';
import { isReady } from '../../shared/task-state';
import { isCurrent } from '../../shared/service-versions';

/** What the service's start waits for, in one line, or null when it may start. */
export function waitingFor(service: Service, services: Service[], tasks: Task[]): string | null {
  for (const d of service.spec.dependsOn ?? []) {
    const dep = services.find((s) => s.spec.name === d.service);
    if (dep === undefined) continue;
    const want = dep.spec.mode === 'global' ? 1 : dep.spec.replicas;
    const mine = tasks.filter((t) => t.serviceId === dep.id && isCurrent(t, dep));
    const count =
      d.condition === 'service_completed_successfully'
        ? mine.filter((t) => t.status.state === 'complete' && t.status.exitCode === 0).length
        : mine.filter((t) => t.desiredState === 'running' && (d.condition === 'service_healthy' ? isReady(t.status) : t.status.state === 'running')).length;
    if (count < want) {
      const what = d.condition === 'service_started' ? 'started' : d.condition === 'service_healthy' ? 'healthy' : 'completed successfully';
      return `waiting for ${dep.spec.name} to be ${what} (${count}/${want})`;
    }
  }
  return null;
}

/** True while the service has no live task: the only time its dependencies hold it back. */
export function starting(service: Service, tasks: Task[]): boolean {
  return !tasks.some((t) => t.serviceId === service.id && t.desiredState === 'running');
}
