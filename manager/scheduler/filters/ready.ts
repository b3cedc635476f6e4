import type { Filter } from './filter';
import { nodes } from './filter';

export const readyFilter: Filter = {
  name: 'ready',
  check: (_task, { node }) => node.status.state === 'ready',
  explain: (n) => `${nodes(n)} not ready`,
};
