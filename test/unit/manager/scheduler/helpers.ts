/** Builders on top of ../../fixtures for the scheduler's tests: labelled nodes, pending tasks, load. */
import type { ClusterNode, Service, Task } from '../../../../shared/types';
import { node, task, type NodeOptions } from '../../fixtures';
import { nodeInfos, type NodeInfo } from '../../../../manager/scheduler/node-info';

export const GiB = 1024 ** 3;

export interface LabelledNodeOptions extends NodeOptions {
  labels?: Record<string, string>;
  engineLabels?: Record<string, string>;
  generic?: Record<string, number>;
}

/** fixtures' node() (ready, active, 4 CPUs, 8 GiB) with labels and generic resources. */
export function labelledNode(id: string, o: LabelledNodeOptions = {}): ClusterNode {
  const { labels, engineLabels, generic, ...rest } = o;
  const n = node(id, rest);
  return {
    ...n,
    labels: labels ?? {},
    ...(engineLabels ? { engineLabels } : {}),
    resources: { ...n.resources, ...(generic ? { generic } : {}) },
  };
}

/** A task of `svc` waiting for a node. */
export function pendingTask(svc: Service, id: string, o: Parameters<typeof task>[1] = {}): Task {
  return task(svc, { id, state: 'pending', nodeId: null, ...o });
}

/** `n` tasks of `svc` on `nodeId` (running unless `o` says otherwise): what the store has already. */
export function running(svc: Service, nodeId: string, n: number, o: Parameters<typeof task>[1] = {}): Task[] {
  const tag = `${o.state ?? 'running'}-${o.desiredState ?? 'running'}`;
  return Array.from({ length: n }, (_, i) => task(svc, { id: `${svc.id}-${nodeId}-${tag}-${i}`, nodeId, slot: i + 1, ...o }));
}

/** The pass's view of `nodes` with `tasks` placed on them. */
export function infos(nodes: ClusterNode[], tasks: Task[] = []): NodeInfo[] {
  return nodeInfos(nodes, tasks);
}

/** Node id each task was given (or `pending: <explanation>`), by task id. */
export function placements(out: Task[]): Record<string, string> {
  const r: Record<string, string> = {};
  for (const t of out) r[t.id] = t.status.state === 'assigned' ? (t.nodeId ?? 'assigned without node') : `pending: ${t.status.err ?? ''}`;
  return r;
}

/** How many of `out`'s assigned tasks each node got. */
export function perNode(out: Task[]): Record<string, number> {
  const r: Record<string, number> = {};
  for (const t of out) if (t.status.state === 'assigned' && t.nodeId !== null) r[t.nodeId] = (r[t.nodeId] ?? 0) + 1;
  return r;
}
