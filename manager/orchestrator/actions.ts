import type { Task } from '../../shared/types';

/** What a reconciler wants written: new tasks, changed tasks, tasks to delete. */
export interface TaskActions {
  create: Task[];
  update: Task[];
  remove: string[];
}

export function emptyActions(): TaskActions {
  return { create: [], update: [], remove: [] };
}

export function mergeActions(a: TaskActions, b: TaskActions): TaskActions {
  return { create: [...a.create, ...b.create], update: [...a.update, ...b.update], remove: [...a.remove, ...b.remove] };
}

export function isEmpty(a: TaskActions): boolean {
  return a.create.length === 0 && a.update.length === 0 && a.remove.length === 0;
}
