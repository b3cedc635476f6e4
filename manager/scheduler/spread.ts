/**
 * The scorer: which of the nodes that passed the filters gets the task. SwarmKit's placement
 * preferences first (design/topology.md in moby/swarmkit): the service's tasks are divided evenly
 * between the distinct values of the first preference's attribute (`node.labels.zone`), then within
 * each of those groups between the values of the next, and so on; nodes lacking a label form one
 * group of their own.
 * Then the node with the fewest tasks of the service, then the fewest tasks overall.
 *
 * SwarmKit hands out a batch of tasks over a tree of groups; placing one task at a time into the
 * group with the fewest of the service's tasks (at every level, in order) reaches the same even
 * split, and a group whose nodes are all full or unfit simply has no candidate left. A group counts
 * the service's tasks on all its nodes, unfit ones too: they run in that group all the same.
 */
import type { ConstraintKey } from '../../shared/constraints';
import { nodeValue, parseNodeAttribute } from '../../shared/constraints';
import type { Task } from '../../shared/types';
import type { NodeInfo } from './node-info';

/**
 * The attribute a `spread` descriptor names: any key a constraint may use (the deploy API accepts
 * those), keys in any case, label names as written. SwarmKit spreads over labels only; spreading
 * over `node.hostname` or `node.id` is the default rule anyway, over `node.role` splits managers
 * and workers. Anything else names nothing, and the preference is ignored, as in SwarmKit.
 */
export function spreadKey(descriptor: string): ConstraintKey | null {
  return parseNodeAttribute(descriptor);
}

/** < 0 when the groups of path `a` hold fewer of the service's tasks (the outermost difference decides). */
function compareGroups(a: string[], b: string[], counts: Map<string, number>): number {
  for (let i = 0; i < a.length; i++) {
    const d = (counts.get(a[i]!) ?? 0) - (counts.get(b[i]!) ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * One pass's scorer. The groups of every node (per list of preferences) and the service's task
 * count per group are computed once, when a task first needs them, and kept up to date by
 * `placed`, so a batch of thousands of tasks does not recount the cluster for each one.
 */
export class Scorer {
  /** Preference list (as JSON) → each node's groups, outermost first: one key per preference. */
  private readonly paths = new Map<string, Map<NodeInfo, string[]>>();
  /** Service id → preference list (as JSON) → the service's active tasks per group. */
  private readonly counts = new Map<string, Map<string, Map<string, number>>>();

  /** `all`: every node of the pass (the NodeInfos the pass updates), for the group counts. */
  constructor(private readonly all: NodeInfo[]) {}

  /** The best of `fit` (non-empty) for `task`. Ties go to the first. */
  best(task: Task, fit: NodeInfo[]): NodeInfo {
    const keys = task.spec.placement.preferences.map((p) => spreadKey(p.spread)).filter((k): k is ConstraintKey => k !== null);
    const svc = task.serviceId;
    let paths: Map<NodeInfo, string[]> | null = null;
    let counts: Map<string, number> | null = null;
    if (keys.length > 0) {
      const sig = JSON.stringify(keys);
      paths = this.pathsFor(sig, keys);
      counts = this.countsFor(svc, sig, paths);
    }
    let best = fit[0]!;
    for (let i = 1; i < fit.length; i++) {
      const n = fit[i]!;
      const byGroup = paths && counts ? compareGroups(paths.get(n)!, paths.get(best)!, counts) : 0;
      if (byGroup < 0) best = n;
      if (byGroup !== 0) continue;
      // The default rule, inline: this runs for every candidate of every task.
      const a = n.activeByService.get(svc) ?? 0;
      const b = best.activeByService.get(svc) ?? 0;
      if (a < b || (a === b && n.active < best.active)) best = n;
    }
    return best;
  }

  /** `task` was placed on `info` (whose own counts the pass updates): its groups have one more. */
  placed(task: Task, info: NodeInfo): void {
    for (const [sig, counts] of this.counts.get(task.serviceId) ?? []) {
      for (const g of this.paths.get(sig)!.get(info)!) counts.set(g, (counts.get(g) ?? 0) + 1);
    }
  }

  private pathsFor(sig: string, keys: ConstraintKey[]): Map<NodeInfo, string[]> {
    let paths = this.paths.get(sig);
    if (!paths) {
      paths = new Map();
      for (const info of this.all) {
        const values: (string | null)[] = [];
        paths.set(info, keys.map((k) => {
          values.push(nodeValue(info.node, k));
          return JSON.stringify(values);
        }));
      }
      this.paths.set(sig, paths);
    }
    return paths;
  }

  private countsFor(serviceId: string, sig: string, paths: Map<NodeInfo, string[]>): Map<string, number> {
    const bySig = this.counts.get(serviceId) ?? new Map<string, Map<string, number>>();
    this.counts.set(serviceId, bySig);
    let counts = bySig.get(sig);
    if (!counts) {
      counts = new Map();
      for (const [info, path] of paths) {
        const n = info.activeByService.get(serviceId) ?? 0;
        if (n > 0) for (const g of path) counts.set(g, (counts.get(g) ?? 0) + n);
      }
      bySig.set(sig, counts);
    }
    return counts;
  }
}
