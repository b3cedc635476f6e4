import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { blobKey, blobView, checkRemovable, findBlob, planCreate, MAX_BLOB_BYTES } from '../../../../manager/blobs/blobs';
import { blobIdsUsed, planStackBlobs, resolveBlobRefs, stackBlobRemovals } from '../../../../manager/api/stack-blobs';
import { BlobCache, blobIdsOf } from '../../../../manager/dispatcher/blobs';
import { open } from '../../../../manager/keys/seal';
import type { Versioned, WriteOp } from '../../../../manager/store/store';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../../../shared/errors';
import { NAMESPACE_LABEL } from '../../../../shared/task-spec';
import type { FileTarget, StackBlob, StoredBlob } from '../../../../shared/types';
import { NOW, service, serviceSpec, task } from '../../fixtures';

const DEK = randomBytes(32);
const file = (name: string): FileTarget => ({ name, uid: '0', gid: '0', mode: 0o444 });

function stored(kind: 'secret' | 'config', name: string, data: string, rev = '7', labels: Record<string, string> = {}): Versioned<StoredBlob> {
  const { blob } = planCreate(kind, { name, labels }, Buffer.from(data), DEK, NOW);
  return { key: blobKey(kind, name), value: blob, modRevision: rev };
}

const own = (name: string, data: string): StackBlob => ({ key: name, external: false, spec: { name, labels: {} }, data: Buffer.from(data).toString('base64') });
const external = (name: string): StackBlob => ({ key: name, external: true, spec: { name, labels: {} }, data: null });

describe('secrets and configs at rest', () => {
  it('are sealed under the data key with their etcd key as associated data, never in plain text', () => {
    const { blob, op } = planCreate('secret', { name: 'db_pass', labels: {} }, Buffer.from('hunter2-very-secret'), DEK, NOW);
    assert.ok('put' in op && op.put === blobKey('secret', 'db_pass'));
    assert.deepEqual(op.guard, { absent: true });
    assert.ok(!JSON.stringify(blob).includes('hunter2'));
    assert.ok(!JSON.stringify(blob).includes(Buffer.from('hunter2-very-secret').toString('base64')));
    assert.equal(open(DEK, blobKey('secret', 'db_pass'), blob.sealed).toString(), 'hunter2-very-secret');
    assert.throws(() => open(DEK, blobKey('secret', 'other'), blob.sealed), /does not open/);
  });

  it('refuse bad names, empty secrets and oversized blobs with one line', () => {
    const bad: [string, Buffer, RegExp][] = [
      ['-x', Buffer.from('a'), /invalid secret name/],
      ['a b', Buffer.from('a'), /invalid secret name/],
      ['x'.repeat(65), Buffer.from('a'), /invalid secret name/],
      ['ok', Buffer.alloc(0), /data is empty/],
      ['ok', Buffer.alloc(MAX_BLOB_BYTES + 1), /more than the/],
    ];
    for (const [name, data, re] of bad) assert.throws(() => planCreate('secret', { name, labels: {} }, data, DEK, NOW), (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message));
  });

  it('are found by name, id or unique id prefix', () => {
    const a = stored('secret', 'a', '1');
    const all = [a, stored('secret', 'b', '2')];
    assert.equal(findBlob('secret', all, 'a'), a);
    assert.equal(findBlob('secret', all, a.value.id), a);
    assert.equal(findBlob('secret', all, a.value.id.slice(0, 8)), a);
    assert.throws(() => findBlob('secret', all, 'zz'), NotFoundError);
  });

  it('cannot be removed while a service uses them, as Swarm says', () => {
    const s = stored('secret', 'db_pass', 'x');
    const users = [service({ id: 's1', name: 'app_db', container: { secrets: [{ secretId: s.value.id, secretName: 'db_pass', file: file('db_pass') }] } })];
    assert.throws(() => checkRemovable('secret', s.value, users), (e: unknown) => e instanceof ConflictError && e.message === "secret 'db_pass' is in use by the following service: app_db");
    assert.doesNotThrow(() => checkRemovable('secret', s.value, []));
  });

  it('inspect shows a config\'s bytes but never a secret\'s', () => {
    const s = stored('secret', 's', 'top');
    const c = stored('config', 'c', 'conf');
    assert.equal(blobView('secret', s.value, [], Buffer.from('top')).data, undefined);
    assert.equal(blobView('config', c.value, [], Buffer.from('conf')).data, Buffer.from('conf').toString('base64'));
  });
});

describe('a stack\'s secrets and configs at deploy', () => {
  const dek = () => DEK;

  it('creates its own with the namespace label and gives services their ids', () => {
    const plan = planStackBlobs('secret', 'app', [own('app_pw', 'pw')], [], dek, NOW);
    assert.equal(plan.ops.length, 1);
    const op = plan.ops[0]! as Extract<WriteOp, { put: string }>;
    const blob = op.value as StoredBlob;
    assert.equal(blob.spec.labels[NAMESPACE_LABEL], 'app');
    const specs = resolveBlobRefs([serviceSpec({ name: 'app_web', container: { secrets: [{ secretId: '', secretName: 'app_pw', file: file('pw') }] } })], plan.ids, new Map());
    assert.equal(specs[0]!.task.container.secrets[0]!.secretId, blob.id);
  });

  it('keeps one with the same bytes (rewriting it, so a concurrent removal fails its guard) and refuses other bytes', () => {
    const have = stored('secret', 'app_pw', 'pw', '9');
    const same = planStackBlobs('secret', 'app', [own('app_pw', 'pw')], [have], dek, NOW);
    assert.equal(same.ids.get('app_pw'), have.value.id);
    assert.deepEqual(same.ops, [{ put: have.key, value: have.value, guard: { modRevision: '9' } }]);
    assert.throws(() => planStackBlobs('secret', 'app', [own('app_pw', 'changed')], [have], dek, NOW), (e: unknown) => e instanceof InvalidArgumentError && /cannot change/.test(e.message));
  });

  it('needs an external one to exist, and does not read the data key for it', () => {
    const have = stored('config', 'shared_conf', 'c');
    const plan = planStackBlobs('config', 'app', [external('shared_conf')], [have], () => assert.fail('no key needed'), NOW);
    assert.equal(plan.ids.get('shared_conf'), have.value.id);
    assert.throws(() => planStackBlobs('config', 'app', [external('missing')], [], dek, NOW), (e: unknown) => e instanceof NotFoundError && /external config missing not found/.test(e.message));
  });

  it('a reference to a secret the deploy does not know fails the deploy', () => {
    assert.throws(() => resolveBlobRefs([serviceSpec({ name: 'app_web', container: { secrets: [{ secretId: '', secretName: 'nope', file: file('x') }] } })], new Map(), new Map()), /secret not found: nope/);
  });

  it('removes the stack\'s own with it, unless another stack\'s service uses one', () => {
    const a = stored('secret', 'app_a', '1', '3', { [NAMESPACE_LABEL]: 'app' });
    const b = stored('secret', 'app_b', '2', '4', { [NAMESPACE_LABEL]: 'app' });
    const other = stored('secret', 'other_c', '3', '5', { [NAMESPACE_LABEL]: 'other' });
    const using = blobIdsUsed('secret', [serviceSpec({ container: { secrets: [{ secretId: b.value.id, secretName: 'app_b', file: file('b') }] } })]);
    assert.deepEqual(stackBlobRemovals('secret', 'app', [a, b, other], using), [{ del: a.key, guard: { modRevision: '3' } }]);
  });
});

describe('the dispatcher\'s secrets for a node', () => {
  it('a task needs its blobs until it is terminal', () => {
    const svc = service({ container: { secrets: [{ secretId: 's1', secretName: 'x', file: file('x') }], configs: [{ configId: 'c1', configName: 'y', file: file('/y') }] } });
    assert.deepEqual(blobIdsOf(task(svc, { state: 'running' })), ['s1', 'c1']);
    assert.deepEqual(blobIdsOf(task(svc, { state: 'complete' })), []);
  });

  it('opens each blob once and not at all while the manager is locked', () => {
    let key: Buffer | null = null;
    const cache = new BlobCache(() => key);
    const s = stored('secret', 'x', 'bytes');
    assert.equal(cache.available([s.value], []).size, 0);
    key = DEK;
    const got = cache.available([s.value], []);
    assert.equal(got.get(s.value.id)?.data.toString(), 'bytes');
    key = null;
    assert.equal(cache.available([s.value], []).get(s.value.id)?.data.toString(), 'bytes', 'kept once opened');
    assert.equal(cache.available([], []).size, 0, 'dropped when the record is gone');
  });
});
