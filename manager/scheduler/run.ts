/** The scheduler loop: gives pending tasks a node. It writes only task placement. */
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { Store, StoreWriter } from '../store/store';
import { taskWrites, viewSnapshot } from '../store/snapshot';
import type { StoreView } from '../store/view';
import { ReconcileLoop } from '../orchestrator/loop';
import { needsScheduling, schedule } from './schedule';

/**
 * Reads the manager's watch-fed view (every write is guarded by the mod revision it read, so a
 * view behind etcd costs a conflict and another pass, never a wrong placement); writes through
 * writer (the leader's fenced one).
 */
export function schedulerLoop(store: Store, view: StoreView, writer: StoreWriter, log: Logger): ReconcileLoop {
  return new ReconcileLoop({
    name: 'scheduler',
    store,
    view,
    log,
    prefixes: [Keys.tasks, Keys.nodes],
    pass: async () => {
      const snap = viewSnapshot(view);
      const pending = snap.tasks.filter(needsScheduling);
      if (pending.length === 0) return { retry: false };
      const changed = schedule(pending, snap.tasks, snap.nodes, new Date().toISOString());
      if (changed.length === 0) return { retry: false };
      const ok = await writer.commit(taskWrites({ create: [], update: changed, remove: [] }, snap));
      return { retry: !ok };
    },
  });
}
