/**
 * The watch-fed view of the store (manager/store/view.ts) on a real etcd: it
 * holds what was there when it started, follows puts and deletes under its
 * prefixes (and nothing else), keeps mod revisions that guard writes, and,
 * when its watch is lost (as etcd cancels a watch whose revision it compacted),
 * lists the prefix again and goes on following it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from './harness/root';
import { LocalEtcd } from './harness/etcd-local';
import { eventually } from './harness/cluster';
import { Store } from '../../manager/store/store';
import { StoreView } from '../../manager/store/view';
import { createLogger } from '../../shared/log';

const A = '/view-test/a/';
const B = '/view-test/b/';

describe('store view', () => {
  let etcd: LocalEtcd;
  let store: Store;
  let view: StoreView;
  const changed: string[] = [];

  before(async () => {
    requireRoot();
    etcd = await LocalEtcd.start('store-view');
    store = new Store([etcd.endpoint]);
    await store.client.put(`${A}1`).value(JSON.stringify({ n: 1 })).exec();
    await store.client.put(`${B}1`).value(JSON.stringify({ n: 10 })).exec();
    await store.client.put('/view-test/other').value(JSON.stringify({ n: 0 })).exec();
    view = new StoreView(store, [A, B], createLogger('test', 'error'));
    view.subscribe([A, B], (k) => changed.push(k));
    await view.start();
  });

  after(async () => {
    await view?.stop();
    store?.close();
    await etcd?.destroy();
  });

  const values = (p: string) => view.list<{ n: number }>(p).map((v) => v.value.n).sort((x, y) => x - y);

  it('holds what was there when it started', () => {
    assert.deepEqual(values(A), [1]);
    assert.deepEqual(values(B), [10]);
    assert.deepEqual(view.get(`${A}1`)?.value, { n: 1 });
    assert.equal(view.get(`${A}2`), null);
    assert.throws(() => view.get('/view-test/other'), /not under a prefix/);
    assert.throws(() => view.subscribe(['/view-test/other'], () => undefined), /does not follow/);
  });

  it('follows puts and deletes under its prefixes, with their mod revisions', async () => {
    const put = await store.client.put(`${A}2`).value(JSON.stringify({ n: 2 })).exec();
    await store.client.delete().key(`${B}1`).exec();
    await store.client.put('/view-test/other').value(JSON.stringify({ n: 5 })).exec();
    await eventually('the view follows', () => {
      assert.deepEqual(values(A), [1, 2]);
      assert.deepEqual(values(B), []);
      return true;
    });
    assert.equal(view.get(`${A}2`)?.modRevision, String(put.header.revision));
    assert.ok(changed.includes(`${A}2`) && changed.includes(`${B}1`));
    assert.ok(!changed.includes('/view-test/other'));
    // What it holds guards a write as a read from etcd would.
    const held = view.get<{ n: number }>(`${A}2`)!;
    assert.equal(await store.commit([{ put: `${A}2`, value: { n: 3 }, guard: { modRevision: held.modRevision } }]), true);
    assert.equal(await store.commit([{ put: `${A}2`, value: { n: 4 }, guard: { modRevision: held.modRevision } }]), false);
    await eventually('the view has the guarded write', () => (assert.deepEqual(values(A), [1, 3]), true));
  });

  it('lists a prefix again when its watch is lost, and goes on following it', async () => {
    const before = changed.length;
    // White box: what etcd3 reports when etcd cancels a watch (compaction, or another reason).
    const watcher = (view as unknown as { watchers: Map<string, NodeJS.EventEmitter> }).watchers.get(A)!;
    watcher.emit('error', new Error('mvcc: required revision has been compacted'));
    await eventually('the prefix is listed again', () => (assert.ok(changed.slice(before).includes(A)), true));
    await store.client.put(`${A}9`).value(JSON.stringify({ n: 9 })).exec();
    await store.client.delete().key(`${A}1`).exec();
    await eventually('the new watch follows', () => (assert.deepEqual(values(A), [3, 9]), true));
  });
});
