/**
 * The scheduler pipeline, pure: pending tasks + nodes → tasks with a node
 * (state assigned) or with an explanation of why none fits. Nodes pass the
 * filters, then the one with the fewest tasks of the same service wins, then
 * the one with the fewest tasks overall (spread).
 */
import type { ClusterNode, Task } from '../../shared/types';
import { isTerminal } from '../../shared/task-state';
import type { Filter } from './filters/filter';
import { readyFilter } from './filters/ready';
import { availabilityFilter } from './filters/availability';
import { resourcesFilter } from './filters/resources';

export const defaultFilters: Filter[] = [readyFilter, availabilityFilter, resourcesFilter];

interface Load {
  total: number;
  byService: Map<string, number>;
}

function loadOf(tasks: Task[]): Map<string, Load> {
  const loads = new Map<string, Load>();
  for (const t of tasks) {
    if (t.nodeId === null || t.desiredState !== 'running' || isTerminal(t.status.state)) continue;
    const l = loads.get(t.nodeId) ?? { total: 0, byService: new Map<string, number>() };
    l.total++;
    l.byService.set(t.serviceId, (l.byService.get(t.serviceId) ?? 0) + 1);
    loads.set(t.nodeId, l);
  }
  return loads;
}

export function needsScheduling(t: Task): boolean {
  return t.desiredState === 'running' && t.status.state === 'pending';
}

/** Runs the filters; returns the nodes that pass, or the explanation when none does. */
export function filterNodes(task: Task, candidates: ClusterNode[], filters: Filter[]): ClusterNode[] | string {
  let left = candidates;
  const reasons: string[] = [];
  for (const f of filters) {
    const kept = left.filter((n) => f.check(task, n));
    if (kept.length < left.length) reasons.push(f.explain(left.length - kept.length));
    left = kept;
  }
  if (left.length > 0) return left;
  if (candidates.length === 0) return 'no suitable node (no nodes in the cluster)';
  return `no suitable node (${reasons.join('; ')})`;
}

export function schedule(pending: Task[], all: Task[], nodes: ClusterNode[], now: string, filters = defaultFilters): Task[] {
  const loads = loadOf(all);
  const changed: Task[] = [];
  const order = [...pending].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.slot ?? 0) - (b.slot ?? 0));
  for (const task of order) {
    const candidates = task.nodeId !== null ? nodes.filter((n) => n.id === task.nodeId) : nodes;
    const fit = filterNodes(task, candidates, filters);
    if (typeof fit === 'string') {
      if (task.status.err !== fit) {
        changed.push({ ...task, status: { ...task.status, err: fit, message: 'pending', timestamp: now } });
      }
      continue;
    }
    let best = fit[0]!;
    let bestScore: [number, number] = [Infinity, Infinity];
    for (const n of fit) {
      const l = loads.get(n.id);
      const score: [number, number] = [l?.byService.get(task.serviceId) ?? 0, l?.total ?? 0];
      if (score[0] < bestScore[0] || (score[0] === bestScore[0] && score[1] < bestScore[1])) {
        best = n;
        bestScore = score;
      }
    }
    const l = loads.get(best.id) ?? { total: 0, byService: new Map<string, number>() };
    l.total++;
    l.byService.set(task.serviceId, (l.byService.get(task.serviceId) ?? 0) + 1);
    loads.set(best.id, l);
    changed.push({
      ...task,
      nodeId: best.id,
      status: { ...task.status, state: 'assigned', message: 'scheduler assigned task to node', err: null, timestamp: now },
    });
  }
  return changed;
}
