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
import { autoRebalance } from '../rebalance';

export function updaterLoop(store: Store, writer: StoreWriter, log: Logger): ReconcileLoop {
  /** `rebalance: auto` services whose spread is uneven: since when (this leader's clock). */
  const unevenSince = new Map<string, number>();
  return new ReconcileLoop({
    name: 'updater',
    store,
    log,
    prefixes: [Keys.services, Keys.tasks, Keys.nodes],
    pass: async () => {
      const services = await store.list<Service>(Keys.services);
      if (!services.some((s) => updateActive(s.value.updateStatus) || s.value.spec.rebalance === 'auto')) {
        unevenSince.clear();
        return { retry: false };
      }
      const snap = await readSnapshot(store);
      const now = new Date().toISOString();
      let actions = emptyActions();
      const serviceOps: WriteOp[] = [];
      let again: number | null = null;
      for (const s0 of snap.services) {
        // `rebalance: auto`: a rebalance started here goes on in this same pass.
        const auto = autoRebalance(s0, snap.tasks, snap.nodes, now, unevenSince);
        let s = s0;
        if (auto !== null && 'waitMs' in auto) again = Math.min(again ?? Infinity, auto.waitMs);
        if (auto !== null && 'service' in auto) {
          log.info(`${s0.spec.name}: ${auto.service.updateStatus?.message}`);
          s = auto.service;
          actions = mergeActions(actions, { ...emptyActions(), update: auto.tasks });
          snap.tasks = snap.tasks.map((t) => auto.tasks.find((m) => m.id === t.id) ?? t);
        }
        const plan = planUpdate(s, snap.tasks, snap.nodes, now);
        actions = mergeActions(actions, plan.actions);
        const written = plan.service ?? (s !== s0 ? s : null);
        if (written !== null) {
          const key = Keys.service(s.id);
          const rev = snap.revisions.get(key);
          serviceOps.push({ put: key, value: written, guard: rev === undefined ? null : { modRevision: rev } });
          if (plan.service !== null) log.info(`${s.spec.name}: ${plan.service.updateStatus?.message ?? 'update status cleared'}`);
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
