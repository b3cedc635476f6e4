/**
 * Leader election through etcd (a lease-backed campaign). Only the leader
 * runs the reconcilers; losing the lease stops them and campaigns again. The
 * leader's writes are fenced by its campaign key (see README.md), and a
 * refused write counts as a lost lease.
 */
import type { Campaign } from 'etcd3';
import type { Fence, FencedWriter, Store } from '../store/store';
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
  // Both reads at once, then every delete at once: this is on the path of a leader failover.
  const [campaigns, managers] = await Promise.all([store.client.getAll().prefix(`election/${ELECTION}/`).strings(), store.list<ManagerRecord>(Keys.managers)]);
  const stale: string[] = [];
  for (const [key, v] of Object.entries(campaigns)) {
    try {
      const l = JSON.parse(v) as LeaderValue;
      if (l.nodeId === nodeId && l.managerId !== managerId) stale.push(key);
    } catch {
      // not ours to judge
    }
  }
  for (const r of managers) {
    if (r.value.nodeId === nodeId && r.value.id !== managerId) stale.push(r.key);
  }
  await Promise.all(stale.map((key) => store.client.delete().key(key).exec()));
  return stale.length;
}

export interface LeaderHooks {
  /**
   * This manager leads. Every write of the leader's work goes through writer:
   * it is fenced by this term's election key, so it is refused once the term
   * is over, even if this process has not noticed yet (it was paused, or cut
   * off from etcd longer than the lease).
   */
  onElected(writer: FencedWriter): Promise<void>;
  onDemoted(): Promise<void>;
}

type State = 'idle' | 'campaigning' | 'leader' | 'stopped';

/** How long a lost campaign waits before it campaigns again. */
const RECAMPAIGN_MS = 500;

export class LeaderElection {
  private state: State = 'idle';
  private campaign: Campaign | null = null;
  private term: FencedWriter | null = null;
  /** Hooks run one after another: a demotion never overtakes the election it ends. */
  private hooksDone: Promise<void> = Promise.resolve();

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

  /** The fenced writer of the current term, or null when this manager does not lead. */
  get writer(): FencedWriter | null {
    return this.state === 'leader' ? this.term : null;
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
    campaign.on('elected', () => void this.elected(campaign));
    campaign.on('error', (e: Error) => this.lose(campaign, `election: ${e.message}`));
  }

  /**
   * Reads this term's fence before leading: the campaign key and its create
   * revision. If the key is gone already, the term ended before it began.
   */
  private async elected(campaign: Campaign): Promise<void> {
    let fence: Fence;
    try {
      const key = await campaign.getCampaignKey();
      const res = await this.store.client.get(key).exec();
      const kv = res.kvs[0];
      if (!kv) throw new Error(`election key ${key} is gone`);
      fence = { key, createRevision: String(kv.create_revision) };
    } catch (e) {
      this.lose(campaign, `reading the election key: ${(e as Error).message}`);
      return;
    }
    if (this.state === 'stopped' || this.campaign !== campaign) return;
    const writer = this.store.fenced(fence, (e) => this.lose(campaign, `a write was refused: ${e.message}`));
    this.term = writer;
    this.state = 'leader';
    this.log.info(`elected leader (manager ${this.value.managerId.slice(0, 12)}, term ${fence.createRevision})`);
    this.afterHooks(() => this.hooks.onElected(writer).catch((e: Error) => this.log.error(`starting leader loops: ${e.message}`)));
  }

  /**
   * Ends this campaign, however it was noticed (etcd3 reports a lost lease or
   * a failed campaign; a fenced write was refused): stop leading, give up the
   * lease if it still lives, and campaign again. Only the first notice of a
   * campaign counts.
   */
  private lose(campaign: Campaign, why: string): void {
    if (this.campaign !== campaign) return;
    const wasLeader = this.state === 'leader';
    this.log.warn(why);
    this.campaign = null;
    this.term = null;
    campaign.resign().catch(() => undefined);
    const again = () => setTimeout(() => this.run(), RECAMPAIGN_MS).unref();
    if (this.state === 'stopped') return;
    this.state = 'campaigning';
    if (wasLeader) this.afterHooks(() => this.hooks.onDemoted().catch((e: Error) => this.log.error(`stopping leader loops: ${e.message}`))).finally(again);
    else again();
  }

  private afterHooks(f: () => Promise<void>): Promise<void> {
    const next = this.hooksDone.then(f);
    this.hooksDone = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    const wasLeader = this.state === 'leader';
    this.state = 'stopped';
    const c = this.campaign;
    this.campaign = null;
    this.term = null;
    if (wasLeader) await this.afterHooks(() => this.hooks.onDemoted());
    if (c) await c.resign().catch(() => undefined);
  }
}
