/** The allocator loop: addresses for new tasks and vip services; releases what stopped. */
import type { ClusterNode, Network, Service, Task } from '../../shared/types';
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { Store, StoreWriter, WriteOp } from '../store/store';
import { ReconcileLoop } from '../orchestrator/loop';
import type { StoreView } from '../store/view';
import { allocate, ipamKey, type IpamEntry } from './allocate';

/**
 * Reads the manager's watch-fed view: every write is guarded (objects by the mod revision read,
 * reservations by their absence), so a view behind etcd costs a conflict and another pass, never a
 * double allocation. Writes through writer (the leader's fenced one).
 */
export function allocatorLoop(store: Store, view: StoreView, writer: StoreWriter, log: Logger): ReconcileLoop {
  return new ReconcileLoop({
    name: 'allocator',
    store,
    view,
    log,
    prefixes: [Keys.services, Keys.tasks, Keys.networks, Keys.nodes],
    pass: async () => {
      const services = view.list<Service>(Keys.services);
      const tasks = view.list<Task>(Keys.tasks);
      const networks = view.list<Network>(Keys.networks);
      const ipam = view.list<IpamEntry>(Keys.ipamAddrs);
      const nodes = view.list<ClusterNode>(Keys.nodes);
      const a = allocate(services.map((s) => s.value), tasks.map((t) => t.value), networks.map((n) => n.value), ipam.map((e) => e.value), new Date().toISOString(), nodes.map((n) => n.value));
      const rev = new Map([...services, ...tasks, ...ipam, ...networks].map((v) => [v.key, v.modRevision]));
      const reserveOf = (owner: string) => a.reserve.filter((e) => e.owner === owner).map((e): WriteOp => ({ put: ipamKey(e), value: e, guard: { absent: true } }));
      // Each object lands in one transaction with the reservations it uses.
      const groups: WriteOp[][] = [
        ...a.services.map((s) => [...reserveOf(`vip:${s.id}`), { put: Keys.service(s.id), value: s, guard: { modRevision: rev.get(Keys.service(s.id))! } }]),
        ...a.tasks.map((t) => [...reserveOf(`task:${t.id}`), { put: Keys.task(t.id), value: t, guard: { modRevision: rev.get(Keys.task(t.id))! } }]),
        ...a.networks.map((n) => [
          ...a.reserve.filter((e) => e.owner.startsWith('node:') && e.networkId === n.id).map((e): WriteOp => ({ put: ipamKey(e), value: e, guard: { absent: true } })),
          { put: Keys.network(n.id), value: n, guard: { modRevision: rev.get(Keys.network(n.id))! } } as WriteOp,
        ]),
        ...a.release.map((e): WriteOp[] => [{ del: ipamKey(e), guard: { modRevision: rev.get(ipamKey(e))! } }]),
      ];
      if (groups.length === 0) return { retry: false };
      const ok = await writer.commitGroups(groups);
      if (!ok) log.debug('allocator: conflict, retrying');
      return { retry: !ok };
    },
  });
}
