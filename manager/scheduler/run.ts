/** The scheduler loop: gives pending tasks a node. It writes only task placement. */
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { Store, StoreWriter } from '../store/store';
import { readSnapshot, taskWrites } from '../store/snapshot';
import { ReconcileLoop } from '../orchestrator/loop';
import { needsScheduling, schedule } from './schedule';

/** Reads go to the store; writes through writer (the leader's fenced one). */
export function schedulerLoop(store: Store, writer: StoreWriter, log: Logger): ReconcileLoop {
  return new ReconcileLoop({
    name: 'scheduler',
    store,
    log,
    prefixes: [Keys.tasks, Keys.nodes],
    pass: async () => {
      const snap = await readSnapshot(store);
      const pending = snap.tasks.filter(needsScheduling);
      if (pending.length === 0) return { retry: false };
      const changed = schedule(pending, snap.tasks, snap.nodes, new Date().toISOString());
      if (changed.length === 0) return { retry: false };
      const ok = await writer.commit(taskWrites({ create: [], update: changed, remove: [] }, snap));
      return { retry: !ok };
    },
  });
}
