import type { ClusterNode, Task } from '../../../shared/types';

/** One stage of the pipeline: keeps nodes a task can run on, and says why it dropped the others. */
export interface Filter {
  readonly name: string;
  check(task: Task, node: ClusterNode): boolean;
  /** Explains `count` rejected nodes, e.g. "2 nodes are drained". */
  explain(count: number): string;
}

export const nodes = (n: number): string => (n === 1 ? '1 node' : `${n} nodes`);
