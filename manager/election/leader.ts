/**
 * Leader election through etcd (a lease-backed campaign). Only the leader
 * runs the reconcilers; losing the lease stops them and campaigns again.
 */
import type { Campaign } from 'etcd3';
import type { Store } from '../store/store';
import type { Logger } from '../../shared/log';
import type { ManagerRecord } from '../../shared/types';
import { Keys } from '../../shared/keys';

export const ELECTION = 'tsswarm-leader';

/** What the leader proclaims: which manager it is, and the node it runs on. */
export interface LeaderValue {
  managerId: string;
  nodeId: string | null;
}

/** The current leader, as recorded in etcd (null when there is none). */
export async function currentLeader(store: Store): Promise<LeaderValue | null> {
  const v = await store.client.election(ELECTION).leader();
  if (!v) return null;
  try {
    return JSON.parse(v) as LeaderValue;
  } catch {
    return null;
  }
}

/**
 * A manager restarted on the same node (its supervisor restarts it within a
 * second) removes what its dead predecessor left: its campaign key, so the
 * next candidate leads now instead of when the dead one's lease expires, and
 * its manager record. Returns how many keys it removed.
 */
export async function clearPredecessor(store: Store, nodeId: string, managerId: string): Promise<number> {
  const stale: string[] = [];
  const campaigns = await store.client.getAll().prefix(`election/${ELECTION}/`).strings();
  for (const [key, v] of Object.entries(campaigns)) {
    try {
      const l = JSON.parse(v) as LeaderValue;
      if (l.nodeId === nodeId && l.managerId !== managerId) stale.push(key);
    } catch {
      // not ours to judge
    }
  }
  for (const r of await store.list<ManagerRecord>(Keys.managers)) {
    if (r.value.nodeId === nodeId && r.value.id !== managerId) stale.push(r.key);
  }
  for (const key of stale) await store.client.delete().key(key).exec();
  return stale.length;
}

export interface LeaderHooks {
  onElected(): Promise<void>;
  onDemoted(): Promise<void>;
}

type State = 'idle' | 'campaigning' | 'leader' | 'stopped';

export class LeaderElection {
  private state: State = 'idle';
  private campaign: Campaign | null = null;

  constructor(
    private readonly store: Store,
    private readonly value: LeaderValue,
    private readonly hooks: LeaderHooks,
    private readonly log: Logger,
    private readonly ttlSeconds = 2,
  ) {}

  get isLeader(): boolean {
    return this.state === 'leader';
  }

  start(): void {
    if (this.state !== 'idle') throw new Error(`election already ${this.state}`);
    this.run();
  }

  private run(): void {
    if (this.state === 'stopped') return;
    this.state = 'campaigning';
    const election = this.store.client.election(ELECTION, this.ttlSeconds);
    const campaign = election.campaign(JSON.stringify(this.value));
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.state === 'stopped' || this.campaign !== campaign) return;
      this.state = 'leader';
      this.log.info(`elected leader (manager ${this.value.managerId.slice(0, 12)})`);
      this.hooks.onElected().catch((e: Error) => this.log.error(`starting leader loops: ${e.message}`));
    });
    campaign.on('error', (e: Error) => {
      if (this.campaign !== campaign) return;
      const wasLeader = this.state === 'leader';
      this.log.warn(`election: ${e.message}`);
      this.campaign = null;
      const again = () => setTimeout(() => this.run(), 500).unref();
      if (wasLeader) {
        this.state = 'campaigning';
        this.hooks.onDemoted().catch(() => undefined).finally(again);
      } else {
        again();
      }
    });
  }

  async stop(): Promise<void> {
    const wasLeader = this.state === 'leader';
    this.state = 'stopped';
    const c = this.campaign;
    this.campaign = null;
    if (wasLeader) await this.hooks.onDemoted();
    if (c) await c.resign().catch(() => undefined);
  }
}
