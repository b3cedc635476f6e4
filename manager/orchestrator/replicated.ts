/**
 * Replicated services: exactly `replicas` live tasks, one per slot 1..N.
 * Pure: (services, tasks) → actions. A task is live while its desired state
 * is running; a live task that has stopped is retired and its slot refilled
 * (restart policy "any", after the restart delay); a task made from an older
 * spec version is replaced.
 */
import type { Service, Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';
import { emptyActions, type TaskActions } from './actions';
import { newTask, withDesired } from './task-factory';
import { restartPending } from './restart';

export function reconcileReplicated(service: Service, tasks: Task[], now: string, restartDelayMs = 0): TaskActions {
  const out = emptyActions();
  const bySlot = new Map<number, Task[]>();
  const history = new Map<number, Task[]>();
  for (const t of tasks) {
    if (t.serviceId !== service.id || t.slot === null) continue;
    history.set(t.slot, [...(history.get(t.slot) ?? []), t]);
    if (t.desiredState !== 'running') continue;
    const list = bySlot.get(t.slot) ?? [];
    list.push(t);
    bySlot.set(t.slot, list);
  }
  const want = service.spec.replicas;
  for (let slot = 1; slot <= want; slot++) {
    const live = bySlot.get(slot) ?? [];
    // Keep the most advanced healthy task of the slot; anything else goes.
    const keep = live
      .filter((t) => !isTerminal(t.status.state) && t.specVersion === service.specVersion)
      .sort((a, b) => (a.status.state === 'running' ? -1 : 0) - (b.status.state === 'running' ? -1 : 0))[0];
    for (const t of live) if (t !== keep) out.update.push(withDesired(t, 'shutdown'));
    if (!keep && !restartPending(history.get(slot) ?? [], now, restartDelayMs)) out.create.push(newTask(service, slot, null, now));
  }
  for (const [slot, live] of bySlot) {
    if (slot <= want) continue;
    for (const t of live) out.update.push(withDesired(t, 'shutdown'));
  }
  return out;
}
