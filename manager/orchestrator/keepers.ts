/**
 * Which of a slot's (or a global node's) live tasks stay, shared by the replicated and the global
 * reconcilers. Out-of-date tasks are the updater's to replace (update/plan.ts), so here a task of
 * an older spec is kept while the slot has nothing newer, and while a newer one (a start-first
 * replacement) is not yet ready; once the newer one is ready the older goes.
 */
import type { Service, Task } from '../../shared/types';
import { isReady } from '../../shared/task-state';
import { isCurrent } from '../../shared/service-versions';

/** Ready first, then running, then the rest in the order given. */
function best(tasks: Task[]): Task | undefined {
  const rank = (t: Task) => (isReady(t.status) ? 0 : t.status.state === 'running' ? 1 : 2);
  return [...tasks].sort((a, b) => rank(a) - rank(b))[0];
}

export interface Kept {
  /** The newest-spec task kept, if any. */
  current: Task | undefined;
  /** An older-spec task kept until the updater replaces it or `current` is ready. */
  older: Task | undefined;
}

/** `candidates`: live tasks that have not stopped, on nodes that can keep them. */
export function keepers(candidates: Task[], service: Service): Kept {
  const current = best(candidates.filter((t) => isCurrent(t, service)));
  const older = current !== undefined && isReady(current.status) ? undefined : best(candidates.filter((t) => !isCurrent(t, service)));
  return { current, older };
}
