import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { ELECTION, LeaderElection } from '../../../../manager/election/leader';
import { Store, type FencedWriter, type WriteOp } from '../../../../manager/store/store';
import { NotLeaderError } from '../../../../shared/errors';
import { createLogger } from '../../../../shared/log';
import { FakeKv } from '../store/fake-kv';

/** Stands in for etcd3's Campaign: the test says when it is elected or fails. */
class FakeCampaign extends EventEmitter {
  resigned = false;
  constructor(readonly key: string) {
    super();
  }
  getCampaignKey(): Promise<string> {
    return Promise.resolve(this.key);
  }
  resign(): Promise<void> {
    this.resigned = true;
    return Promise.resolve();
  }
}

interface Harness {
  election: LeaderElection;
  kv: FakeKv;
  campaigns: FakeCampaign[];
  events: string[];
  writers: FencedWriter[];
  /** Lets a slow onElected finish. */
  release: () => void;
}

const log = createLogger('test', 'error');
const write: WriteOp[] = [{ put: '/tsswarm/v1/tasks/t1', value: {}, guard: null }];

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never: ${what}`);
}

describe('LeaderElection fencing', () => {
  const open: { store: Store; election: LeaderElection }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.election.stop();
      o.store.close();
    }
  });

  function start(opts: { slowElected?: boolean } = {}): Harness {
    const store = new Store(['http://127.0.0.1:9']);
    const kv = new FakeKv();
    kv.install(store);
    const campaigns: FakeCampaign[] = [];
    (store.client as unknown as { election: unknown }).election = () => ({
      campaign: () => {
        // etcd3 puts the key on the campaign's lease when the campaign starts.
        const c = new FakeCampaign(`election/${ELECTION}/${1000 + campaigns.length}`);
        kv.put(c.key, '{}');
        campaigns.push(c);
        return c;
      },
    });
    const events: string[] = [];
    const writers: FencedWriter[] = [];
    let release = () => undefined as void;
    const election = new LeaderElection(store, { managerId: 'm1', nodeId: null }, {
      onElected: async (w) => {
        events.push('elected');
        writers.push(w);
        if (opts.slowElected) await new Promise<void>((r) => (release = r));
        events.push('loops started');
      },
      onDemoted: async () => {
        events.push('demoted');
      },
    }, log);
    open.push({ store, election });
    election.start();
    return { election, kv, campaigns, events, writers, release: () => release() };
  }

  it('hands the loops a writer fenced by this term\'s election key', async () => {
    const h = start();
    const c = h.campaigns[0]!;
    c.emit('elected');
    await until('elected', () => h.events.includes('loops started'));
    const w = h.writers[0]!;
    assert.deepEqual(w.fence, { key: c.key, createRevision: String(h.kv.keys.get(c.key)!.create) });
    assert.equal(h.election.isLeader, true);
    assert.equal(h.election.writer, w);
    assert.equal(await w.commit(write), true);
  });

  it('a refused write demotes: the loops stop, the campaign is given up, and it campaigns again', async () => {
    const h = start();
    const c = h.campaigns[0]!;
    c.emit('elected');
    await until('elected', () => h.events.includes('loops started'));
    // The lease expired while the process was paused: etcd removed the key.
    h.kv.delete(c.key);
    await assert.rejects(h.writers[0]!.commit(write), NotLeaderError);
    assert.equal(h.election.isLeader, false);
    assert.equal(h.election.writer, null);
    assert.equal(c.resigned, true);
    await until('demoted', () => h.events.includes('demoted'));
    await until('a new campaign', () => h.campaigns.length === 2);
    assert.deepEqual(h.events, ['elected', 'loops started', 'demoted']);
  });

  it('a late refusal of an old term leaves the next term alone', async () => {
    const h = start();
    h.campaigns[0]!.emit('elected');
    await until('elected', () => h.events.includes('loops started'));
    h.kv.delete(h.campaigns[0]!.key);
    await assert.rejects(h.writers[0]!.commit(write), NotLeaderError);
    await until('a new campaign', () => h.campaigns.length === 2);
    h.campaigns[1]!.emit('elected');
    await until('elected again', () => h.writers.length === 2 && h.events.length === 5);
    // A pass of the first term that was still under way commits now.
    await assert.rejects(h.writers[0]!.commit(write), NotLeaderError);
    assert.equal(h.election.isLeader, true);
    assert.equal(h.election.writer, h.writers[1]);
    assert.equal(await h.writers[1]!.commit(write), true);
    assert.deepEqual(h.events, ['elected', 'loops started', 'demoted', 'elected', 'loops started']);
  });

  it('does not lead when its key is gone before the term began', async () => {
    const h = start();
    const c = h.campaigns[0]!;
    h.kv.delete(c.key);
    c.emit('elected');
    await until('a new campaign', () => h.campaigns.length === 2);
    assert.equal(h.election.isLeader, false);
    assert.deepEqual(h.events, []);
    assert.equal(c.resigned, true);
  });

  it('a lost lease and then a refused write of that term demote once', async () => {
    const h = start();
    const c = h.campaigns[0]!;
    c.emit('elected');
    await until('elected', () => h.events.includes('loops started'));
    c.emit('error', new Error('lease lost'));
    h.kv.delete(c.key);
    await assert.rejects(h.writers[0]!.commit(write), NotLeaderError);
    await until('a new campaign', () => h.campaigns.length === 2);
    assert.deepEqual(h.events, ['elected', 'loops started', 'demoted']);
  });

  it('stops the loops only after they have started', async () => {
    const h = start({ slowElected: true });
    const c = h.campaigns[0]!;
    c.emit('elected');
    await until('electing', () => h.events.includes('elected'));
    h.kv.delete(c.key);
    await assert.rejects(h.writers[0]!.commit(write), NotLeaderError);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(h.events, ['elected'], 'the demotion waits for onElected');
    h.release();
    await until('demoted', () => h.events.includes('demoted'));
    assert.deepEqual(h.events, ['elected', 'loops started', 'demoted']);
  });
});
