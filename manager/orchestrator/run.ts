/**
 * The orchestrator loop: services → tasks (replicated and global), plus the
 * reaper. It writes only tasks; it never talks to the scheduler or dispatcher.
 */
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { Store, StoreWriter } from '../store/store';
import { readSnapshot, taskWrites } from '../store/snapshot';
import { ReconcileLoop } from './loop';
import { emptyActions, isEmpty, mergeActions } from './actions';
import { reconcileReplicated } from './replicated';
import { reconcileGlobal } from './global';
import { reconcileReaper } from './reaper';
import { HISTORY_LIMIT } from './reaper';
import { starting, waitingFor } from './depends-on';
import type { Cluster } from '../../shared/types';

/** How often a pass runs with nothing changed, for restart delays (decided by time, not by an event). */
const TICK_MS = 500;

/** Reads go to the store; writes through writer (the leader's fenced one). */
export function orchestratorLoop(store: Store, writer: StoreWriter, log: Logger): ReconcileLoop {
  return new ReconcileLoop({
    name: 'orchestrator',
    store,
    log,
    prefixes: [Keys.services, Keys.tasks, Keys.nodes],
    periodMs: TICK_MS,
    pass: async () => {
      const [snap, cluster] = await Promise.all([readSnapshot(store), store.get<Cluster>(Keys.cluster)]);
      const now = new Date().toISOString();
      let actions = emptyActions();
      for (const s of snap.services) {
        const a = s.spec.mode === 'global'
          ? reconcileGlobal(s, snap.nodes, snap.tasks, now)
          : reconcileReplicated(s, snap.tasks, now, snap.nodes);
        // depends_on: a service's first tasks wait for its dependencies.
        if (a.create.length > 0 && starting(s, snap.tasks) && waitingFor(s, snap.services, snap.tasks) !== null) a.create = [];
        actions = mergeActions(actions, a);
      }
      actions = mergeActions(actions, reconcileReaper(snap.services, snap.nodes, snap.tasks, cluster?.value.taskHistoryLimit ?? HISTORY_LIMIT));
      if (isEmpty(actions)) return { retry: false };
      const ok = await writer.commit(taskWrites(actions, snap));
      log.debug(`orchestrator: +${actions.create.length} ~${actions.update.length} -${actions.remove.length}${ok ? '' : ' (conflict)'}`);
      return { retry: !ok };
    },
  });
}
