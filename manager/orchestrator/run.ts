/**
 * The orchestrator loop: services → tasks (replicated and global), plus the
 * reaper. It writes only tasks; it never talks to the scheduler or dispatcher.
 */
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { Store } from '../store/store';
import { readSnapshot, taskWrites } from '../store/snapshot';
import { ReconcileLoop } from './loop';
import { emptyActions, isEmpty, mergeActions } from './actions';
import { reconcileReplicated } from './replicated';
import { reconcileGlobal } from './global';
import { reconcileReaper } from './reaper';

export function orchestratorLoop(store: Store, log: Logger): ReconcileLoop {
  return new ReconcileLoop({
    name: 'orchestrator',
    store,
    log,
    prefixes: [Keys.services, Keys.tasks, Keys.nodes],
    pass: async () => {
      const snap = await readSnapshot(store);
      const now = new Date().toISOString();
      let actions = emptyActions();
      for (const s of snap.services) {
        const a = s.spec.mode === 'global'
          ? reconcileGlobal(s, snap.nodes, snap.tasks, now)
          : reconcileReplicated(s, snap.tasks, now);
        actions = mergeActions(actions, a);
      }
      actions = mergeActions(actions, reconcileReaper(snap.services, snap.nodes, snap.tasks));
      if (isEmpty(actions)) return { retry: false };
      const ok = await store.commit(taskWrites(actions, snap));
      log.debug(`orchestrator: +${actions.create.length} ~${actions.update.length} -${actions.remove.length}${ok ? '' : ' (conflict)'}`);
      return { retry: !ok };
    },
  });
}
