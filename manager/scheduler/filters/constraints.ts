import { nodeMeetsConstraints } from '../../../shared/constraints';
import type { Filter } from './filter';
import { nodes } from './filter';

/** Every constraint of the task holds on the node (shared/constraints.ts, as the global orchestrator reads them). */
export const constraintsFilter: Filter = {
  name: 'constraints',
  check: (task, { node }) => nodeMeetsConstraints(task.spec.placement.constraints, node),
  explain: (n) => `scheduling constraints not satisfied on ${nodes(n)}`,
};
