import type { ClusterNode, Resources } from '../../../shared/types';
import type { Capacity } from '../node-info';
import type { Filter } from './filter';
import { nodes } from './filter';

/**
 * A limit larger than the node's whole memory or CPU can never be met there. A node that reports
 * 0 (none measured) is not judged on that resource, here and for reservations.
 */
export function limitsFit(r: Resources, node: ClusterNode): boolean {
  const { memoryBytes, nanoCpus } = r.limits;
  const total = node.resources;
  return (memoryBytes === null || total.memoryBytes === 0 || memoryBytes <= total.memoryBytes) && (nanoCpus === null || total.nanoCpus === 0 || nanoCpus <= total.nanoCpus);
}

/** The reservations fit in `room`: free capacity during a pass, or a node's whole capacity. */
export function reservationsFit(r: Resources, room: Capacity, node: ClusterNode): boolean {
  const { memoryBytes, nanoCpus, generic } = r.reservations;
  if (memoryBytes !== null && node.resources.memoryBytes !== 0 && memoryBytes > room.memoryBytes) return false;
  if (nanoCpus !== null && node.resources.nanoCpus !== 0 && nanoCpus > room.nanoCpus) return false;
  // Generic resources exist only where the node offers them: no "not measured" case.
  for (const kind in generic) {
    const n = generic[kind]!;
    if (n > 0 && n > (room.generic.get(kind) ?? 0)) return false;
  }
  return true;
}

/**
 * Swarm's resource filter: the task's reservations fit in what the node has left after the
 * reservations of the tasks already there, and of those placed before it in this pass; and its
 * limits do not exceed the node's total.
 */
export const resourcesFilter: Filter = {
  name: 'resources',
  check: (task, info) => limitsFit(task.spec.resources, info.node) && reservationsFit(task.spec.resources, info.free, info.node),
  explain: (n) => `insufficient resources on ${nodes(n)}`,
};
