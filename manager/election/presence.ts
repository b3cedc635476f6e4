/**
 * Each manager keeps a record of itself under an etcd lease: it is there
 * while the manager lives and goes when the lease expires. Agents are told
 * these addresses; the leader judges the nodes whose session was with a
 * manager that is gone; `node ls` shows managers as reachable or not.
 */
import type { Lease } from 'etcd3';
import type { ManagerRecord } from '../../shared/types';
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { Store } from '../store/store';

export class ManagerPresence {
  private lease: Lease | null = null;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly record: ManagerRecord,
    private readonly log: Logger,
    private readonly ttlSeconds = 2,
  ) {}

  start(): void {
    if (this.stopped) return;
    const lease = this.store.client.lease(this.ttlSeconds);
    this.lease = lease;
    const again = (why: string) => {
      if (this.stopped || this.lease !== lease) return;
      this.log.warn(`manager record lost (${why}); registering again`);
      this.lease = null;
      lease.release();
      setTimeout(() => this.start(), 500).unref();
    };
    lease.on('lost', (e: Error) => again(e.message));
    lease.put(Keys.manager(this.record.id)).value(JSON.stringify(this.record)).exec().catch((e: Error) => again(e.message));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const l = this.lease;
    this.lease = null;
    if (l) await l.revoke().catch(() => undefined);
  }
}

/** The managers alive now (their leases hold). */
export async function liveManagers(store: Store): Promise<ManagerRecord[]> {
  return (await store.list<ManagerRecord>(Keys.managers)).map((v) => v.value);
}
