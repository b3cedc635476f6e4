import type { Filter } from './filter';
import { nodes } from './filter';

/** Only active nodes take new tasks; pause and drain keep them off. */
export const availabilityFilter: Filter = {
  name: 'availability',
  check: (_task, { node }) => node.availability === 'active',
  explain: (n) => `${nodes(n)} paused or drained`,
};
