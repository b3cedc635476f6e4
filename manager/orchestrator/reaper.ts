/**
 * Task reaper: tasks of deleted services are told to go away (desired
 * remove) and deleted once they have stopped; retired tasks are kept as
 * history, at most the cluster's task history limit per slot (or per node for
 * global services; `update --task-history-limit`, HISTORY_LIMIT when not set).
 */
import type { ClusterNode, Service, Task } from '../../shared/types';
import { isTerminal, TaskState } from '../../shared/task-state';
import { emptyActions, type TaskActions } from './actions';
import { withDesired } from './task-factory';

export const HISTORY_LIMIT = 5;

/** True when no agent holds a container for this task any more. */
function isGone(t: Task, nodes: Map<string, ClusterNode>): boolean {
  if (t.nodeId === null || TaskState[t.status.state] < TaskState.assigned) return true;
  if (isTerminal(t.status.state)) return true;
  const node = nodes.get(t.nodeId);
  return node === undefined;
}

export function reconcileReaper(services: Service[], nodes: ClusterNode[], tasks: Task[], historyLimit = HISTORY_LIMIT): TaskActions {
  const out = emptyActions();
  const serviceIds = new Set(services.map((s) => s.id));
  const nodeMap = new Map(nodes.map((n) => [n.id, n]));
  const history = new Map<string, Task[]>();
  for (const t of tasks) {
    if (!serviceIds.has(t.serviceId)) {
      if (t.desiredState !== 'remove') out.update.push(withDesired(t, 'remove'));
      else if (isGone(t, nodeMap)) out.remove.push(t.id);
      continue;
    }
    if (t.desiredState === 'remove' && isGone(t, nodeMap)) {
      out.remove.push(t.id);
      continue;
    }
    if (t.desiredState === 'shutdown' && TaskState[t.status.state] < TaskState.assigned) {
      // Never reached a node: nothing to keep.
      out.remove.push(t.id);
      continue;
    }
    if (t.desiredState === 'shutdown' && isTerminal(t.status.state)) {
      const key = `${t.serviceId}/${t.slot ?? t.nodeId ?? ''}`;
      const list = history.get(key) ?? [];
      list.push(t);
      history.set(key, list);
    }
  }
  // The newest ended task of a slot always stays: the restart policy reads it (restart.ts), so a
  // task that is not to be restarted is not restarted because its record went.
  const keep = Math.max(1, historyLimit);
  for (const list of history.values()) {
    if (list.length <= keep) continue;
    list.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const t of list.slice(0, list.length - keep)) out.remove.push(t.id);
  }
  return out;
}
