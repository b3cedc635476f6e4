import type { Filter } from './filter';
import { nodes } from './filter';

/** A task whose memory limit is larger than a node's memory can never run there. */
export const resourcesFilter: Filter = {
  name: 'resources',
  check: (task, node) =>
    (task.spec.resources.limits.memoryBytes === null || node.resources.memoryBytes === 0 || task.spec.resources.limits.memoryBytes <= node.resources.memoryBytes) &&
    (task.spec.resources.limits.nanoCpus === null || node.resources.nanoCpus === 0 || task.spec.resources.limits.nanoCpus <= node.resources.nanoCpus),
  explain: (n) => `${nodes(n)} with too little memory or CPU`,
};
