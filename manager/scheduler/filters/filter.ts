import type { Task } from '../../../shared/types';
import type { NodeInfo } from '../node-info';

/**
 * One stage of the pipeline: keeps nodes a task can run on, and says why it dropped the others.
 * `check` sees the node as this pass has it so far (its load and free capacity after the tasks
 * placed before this one), so filters stay pure functions of (task, node info).
 */
export interface Filter {
  readonly name: string;
  check(task: Task, info: NodeInfo): boolean;
  /** Explains `count` rejected nodes, e.g. "insufficient resources on 2 nodes". */
  explain(count: number): string;
}

export const nodes = (n: number): string => (n === 1 ? '1 node' : `${n} nodes`);
