import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MAX_TXN_OPS, Store, fenceHeld, type Fence, type WriteOp } from '../../../../manager/store/store';
import { NotLeaderError } from '../../../../shared/errors';
import { FakeKv } from './fake-kv';

const ELECTION_KEY = 'election/tsswarm-leader/7587883';

/** A store whose transactions go to a fake KV (nothing listens on the endpoint; no call reaches it). */
function storeOnFake(): { store: Store; kv: FakeKv; fence: Fence } {
  const store = new Store(['http://127.0.0.1:9']);
  const kv = new FakeKv();
  kv.install(store);
  const rev = kv.put(ELECTION_KEY, '{"managerId":"m1"}');
  return { store, kv, fence: { key: ELECTION_KEY, createRevision: String(rev) } };
}

const put = (key: string, guard: WriteOp['guard'] = null): WriteOp => ({ put: key, value: { key }, guard });

describe('fenced writes', () => {
  const stores: Store[] = [];
  const make = () => {
    const s = storeOnFake();
    stores.push(s.store);
    return s;
  };
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
  });

  it('apply while the term lasts, with the fence compared in the same transaction', async () => {
    const { store, kv, fence } = make();
    const w = store.fenced(fence);
    assert.equal(await w.commit([put('/tsswarm/v1/tasks/a', { absent: true })]), true);
    assert.ok(kv.keys.has('/tsswarm/v1/tasks/a'));
    const txn = kv.txns[0]!;
    assert.deepEqual(txn.compare!.map((c) => [c.key!.toString(), c.target, c.create_revision]), [
      [ELECTION_KEY, 1, fence.createRevision],
      ['/tsswarm/v1/tasks/a', 1, 0],
    ]);
  });

  it('are refused once the election key is gone, with NotLeaderError, and nothing is written', async () => {
    const { store, kv, fence } = make();
    const refused: NotLeaderError[] = [];
    const w = store.fenced(fence, (e) => refused.push(e));
    kv.delete(ELECTION_KEY);
    await assert.rejects(w.commit([put('/tsswarm/v1/tasks/a', { absent: true })]), (e: unknown) => e instanceof NotLeaderError && e.code === 'NOT_LEADER' && e.electionKey === ELECTION_KEY);
    assert.equal(refused.length, 1, 'the election is told');
    assert.equal(kv.keys.has('/tsswarm/v1/tasks/a'), false);
  });

  it('are refused when the key is back with another create revision (a later term)', async () => {
    const { store, kv, fence } = make();
    const w = store.fenced(fence);
    kv.delete(ELECTION_KEY);
    kv.put(ELECTION_KEY, '{"managerId":"m1"}');
    await assert.rejects(w.commit([put('/tsswarm/v1/tasks/a')]), NotLeaderError);
    assert.equal(kv.keys.has('/tsswarm/v1/tasks/a'), false);
  });

  it('report a guard conflict as false while the term lasts, to be retried', async () => {
    const { store, kv, fence } = make();
    const rev = kv.put('/tsswarm/v1/tasks/a', '{}');
    kv.put('/tsswarm/v1/tasks/a', '{"newer":true}');
    const refused: NotLeaderError[] = [];
    const w = store.fenced(fence, (e) => refused.push(e));
    assert.equal(await w.commit([put('/tsswarm/v1/tasks/a', { modRevision: String(rev) })]), false);
    assert.equal(refused.length, 0);
  });

  it('are refused, not reported as a conflict, when the guard and the fence both fail', async () => {
    const { store, kv, fence } = make();
    const rev = kv.put('/tsswarm/v1/tasks/a', '{}');
    kv.put('/tsswarm/v1/tasks/a', '{"byTheNewLeader":true}');
    kv.delete(ELECTION_KEY);
    await assert.rejects(store.fenced(fence).commit([put('/tsswarm/v1/tasks/a', { modRevision: String(rev) })]), NotLeaderError);
  });

  it('keep etcd\'s limit: a full chunk is the fence and 127 guards, and unfenced writes keep their own comparison', async () => {
    const { store, kv, fence } = make();
    const ops = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => put(`/tsswarm/v1/tasks/${i}`, { absent: true }));
    assert.equal(await store.fenced(fence).commit(ops), true);
    assert.deepEqual(kv.txns.map((t) => [t.compare!.length, t.success!.length]), [[MAX_TXN_OPS + 1, MAX_TXN_OPS], [2, 1]]);
    assert.ok(kv.txns.every((t) => t.compare![0]!.key!.toString() === ELECTION_KEY));
    await store.commit([put('/tsswarm/v1/tasks/x', { absent: true })]);
    const last = kv.txns[kv.txns.length - 1]!;
    assert.deepEqual(last.compare!.map((c) => c.key!.toString()), ['/tsswarm/v1/cluster', '/tsswarm/v1/tasks/x']);
    assert.deepEqual(last.failure, [], 'an unfenced write reads nothing on failure');
  });

  it('commitGroups stops at the first refused transaction', async () => {
    const { store, kv, fence } = make();
    kv.delete(ELECTION_KEY);
    const groups = Array.from({ length: 3 }, (_, g) => Array.from({ length: 100 }, (_, i) => put(`/tsswarm/v1/tasks/${g}-${i}`)));
    await assert.rejects(store.fenced(fence).commitGroups(groups), NotLeaderError);
    assert.equal(kv.txns.length, 1);
    assert.equal(kv.keys.size, 0);
  });

  it('an unfenced store write is never refused for leadership', async () => {
    const { store, kv } = make();
    kv.delete(ELECTION_KEY);
    assert.equal(await store.commit([put('/tsswarm/v1/nodes/n1')]), true);
  });
});

describe('fenceHeld', () => {
  const fence: Fence = { key: ELECTION_KEY, createRevision: '42' };
  const range = (kvs: { create_revision: string }[]) => ({ responses: [{ response_range: { kvs } }] }) as unknown as Parameters<typeof fenceHeld>[0];
  it('holds only for the key of this term', () => {
    assert.equal(fenceHeld(range([{ create_revision: '42' }]), fence), true);
    assert.equal(fenceHeld(range([{ create_revision: '43' }]), fence), false);
    assert.equal(fenceHeld(range([]), fence), false);
    assert.equal(fenceHeld({ responses: [] }, fence), false);
  });
});
