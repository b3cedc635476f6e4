/**
 * The updater: a reconcile loop of its own, on the leader, that moves every service with an update
 * (or rollback) under way one step on (plan.ts). It reads etcd, as the orchestrator does, because a
 * start-first step creates tasks guarded only by their new ids; it wakes on changes and when a
 * delay or monitor period ends, and costs one read of the services when nothing is updating.
 */
import { Keys } from '../../../shared/keys';
import type { Logger } from '../../../shared/log';
import type { Service } from '../../../shared/types';
import type { Store, StoreWriter, WriteOp } from '../../store/store';
import { readSnapshot, taskWrites } from '../../store/snapshot';
import { ReconcileLoop } from '../loop';
import { emptyActions, mergeActions } from '../actions';
import { planUpdate } from './plan';
import { updateActive } from '../../../shared/service-versions';

export function updaterLoop(store: Store, writer: StoreWriter, log: Logger): ReconcileLoop {
  return new ReconcileLoop({
    name: 'updater',
    store,
    log,
    prefixes: [Keys.services, Keys.tasks, Keys.nodes],
    pass: async () => {
      const services = await store.list<Service>(Keys.services);
      if (!services.some((s) => updateActive(s.value.updateStatus))) return { retry: false };
      const snap = await readSnapshot(store);
      const now = new Date().toISOString();
      let actions = emptyActions();
      const serviceOps: WriteOp[] = [];
      let again: number | null = null;
      for (const s of snap.services) {
        const plan = planUpdate(s, snap.tasks, snap.nodes, now);
        actions = mergeActions(actions, plan.actions);
        if (plan.service !== null) {
          const key = Keys.service(s.id);
          const rev = snap.revisions.get(key);
          serviceOps.push({ put: key, value: plan.service, guard: rev === undefined ? null : { modRevision: rev } });
          log.info(`${s.spec.name}: ${plan.service.updateStatus?.message ?? 'update status cleared'}`);
        }
        if (plan.againInMs !== null) again = Math.min(again ?? Infinity, plan.againInMs);
      }
      const ops = [...serviceOps, ...taskWrites(actions, snap)];
      if (ops.length === 0) return { retry: false, againInMs: again };
      const ok = await writer.commit(ops);
      log.debug(`updater: +${actions.create.length} ~${actions.update.length} services ${serviceOps.length}${ok ? '' : ' (conflict)'}`);
      return { retry: !ok, againInMs: again };
    },
  });
}
