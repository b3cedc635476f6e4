import type { Filter } from './filter';
import { nodes } from './filter';

/** `max_replicas_per_node`: the node runs fewer of the service's tasks than the limit (0: none). */
export const maxReplicasFilter: Filter = {
  name: 'max-replicas',
  check: (task, info) => {
    const max = task.spec.placement.maxReplicas;
    return max <= 0 || (info.activeByService.get(task.serviceId) ?? 0) < max;
  },
  // Swarm's words ("max replicas per node limit exceed"), with the count the other filters give.
  explain: (n) => `max replicas per node limit exceeded on ${nodes(n)}`,
};
