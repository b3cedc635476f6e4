/** A task named on the command line: its id or an unambiguous prefix. */
import { Keys } from '../../shared/keys';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors';
import type { Task } from '../../shared/types';
import type { Store, Versioned } from '../store/store';

/** A task by id, or an unambiguous id prefix of at least 4 characters. */
export async function findTask(store: Store, ref: string): Promise<Versioned<Task>> {
  const all = await store.list<Task>(Keys.tasks);
  const hits = all.filter((t) => t.value.id === ref || (ref.length >= 4 && t.value.id.startsWith(ref)));
  if (hits.length === 0) throw new NotFoundError(`task ${ref} not found`);
  if (hits.length > 1) throw new InvalidArgumentError(`task id ${ref} is ambiguous: give more of it`);
  return hits[0]!;
}
