/**
 * The scheduler pipeline, pure: pending tasks + the store's tasks and nodes → tasks with a node
 * (state assigned) or with an explanation of why none fits. Nodes pass the filters (filters/*),
 * then the scorer (spread.ts) picks one. Each placement updates the pass's view of its node
 * (node-info.ts), so the next task sees its load and the capacity it took.
 */
import type { ClusterNode, Task } from '../../shared/types';
import type { Filter } from './filters/filter';
import { readyFilter } from './filters/ready';
import { availabilityFilter } from './filters/availability';
import { constraintsFilter } from './filters/constraints';
import { resourcesFilter } from './filters/resources';
import { maxReplicasFilter } from './filters/max-replicas';
import { addTask, nodeInfos, type NodeInfo } from './node-info';
import { Scorer } from './spread';

/** In SwarmKit's order; a rejected node is explained by the first filter it fails. */
export const defaultFilters: Filter[] = [readyFilter, availabilityFilter, constraintsFilter, resourcesFilter, maxReplicasFilter];

export function needsScheduling(t: Task): boolean {
  return t.desiredState === 'running' && t.status.state === 'pending';
}

/** Runs the filters; returns the nodes that pass, or the explanation when none does. */
export function filterNodes(task: Task, candidates: NodeInfo[], filters: Filter[]): NodeInfo[] | string {
  const kept: NodeInfo[] = [];
  // Rejected nodes per filter: each node counts for the first filter it fails.
  const rejected = new Array<number>(filters.length).fill(0);
  next: for (const info of candidates) {
    for (let i = 0; i < filters.length; i++) {
      if (!filters[i]!.check(task, info)) {
        rejected[i]!++;
        continue next;
      }
    }
    kept.push(info);
  }
  if (kept.length > 0) return kept;
  if (candidates.length === 0) return 'no suitable node (no nodes in the cluster)';
  const reasons = filters.flatMap((f, i) => (rejected[i]! > 0 ? [f.explain(rejected[i]!)] : []));
  return `no suitable node (${reasons.join('; ')})`;
}

export function schedule(pending: Task[], all: Task[], nodes: ClusterNode[], now: string, filters = defaultFilters): Task[] {
  const infos = nodeInfos(nodes, all);
  const byId = new Map(infos.map((i) => [i.node.id, i]));
  const scorer = new Scorer(infos);
  const changed: Task[] = [];
  const order = [...pending].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.slot ?? 0) - (b.slot ?? 0));
  for (const task of order) {
    // A global task comes with its node: the scheduler only checks that node still fits.
    const own = task.nodeId === null ? undefined : byId.get(task.nodeId);
    const candidates = task.nodeId === null ? infos : own ? [own] : [];
    const fit = filterNodes(task, candidates, filters);
    if (typeof fit === 'string') {
      if (task.status.err !== fit) {
        changed.push({ ...task, status: { ...task.status, err: fit, message: 'pending', timestamp: now } });
      }
      continue;
    }
    const best = scorer.best(task, fit);
    const placed: Task = {
      ...task,
      nodeId: best.node.id,
      status: { ...task.status, state: 'assigned', message: 'scheduler assigned task to node', err: null, timestamp: now },
    };
    addTask(best, placed);
    scorer.placed(placed, best);
    changed.push(placed);
  }
  return changed;
}
