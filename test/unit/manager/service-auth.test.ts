/** `--with-registry-auth`'s writes: sealed per service, only for its image's registry, gone with the service. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Keys } from '../../../shared/keys';
import type { WriteOp } from '../../../manager/store/store';
import { openRegistryAuth, registryAuthOps, type ServiceRegistryAuth } from '../../../manager/registry/service-auth';
import { serviceSpec } from '../fixtures';

const dek = randomBytes(32);
const put = (id: string, image: string): WriteOp => ({ put: Keys.service(id), value: { id, spec: { ...serviceSpec(), task: { ...serviceSpec().task, container: { ...serviceSpec().task.container, image } } } }, guard: null });
const creds = (registry: string) => (registry === 'reg.example:5000' ? { username: 'alice', password: 'secret' } : null);

describe('service registry credentials', () => {
  it('keeps the credential of the image\'s registry, sealed to the service\'s key', () => {
    const [op] = registryAuthOps([put('s1', 'reg.example:5000/team/app:1@sha256:' + 'a'.repeat(64))], { keep: true, credential: creds, dek: () => dek });
    assert.ok(op && 'put' in op);
    assert.equal(op.put, Keys.serviceRegistryAuth('s1'));
    const stored = op.value as ServiceRegistryAuth;
    assert.equal(stored.registry, 'reg.example:5000');
    assert.ok(!JSON.stringify(stored).includes('secret'));
    assert.deepEqual(openRegistryAuth('s1', stored, 'reg.example:5000', dek), { username: 'alice', password: 'secret' });
    assert.equal(openRegistryAuth('s1', stored, 'other.example', dek), null, 'never for another registry');
    assert.throws(() => openRegistryAuth('s2', stored, 'reg.example:5000', dek), /does not open/, 'bound to its service');
  });

  it('drops a stored one when the flag is given without a credential, leaves it without the flag, removes it with the service', () => {
    assert.deepEqual(registryAuthOps([put('s1', 'busybox:latest')], { keep: true, credential: creds, dek: () => dek }), [{ del: Keys.serviceRegistryAuth('s1'), guard: null }]);
    assert.deepEqual(registryAuthOps([put('s1', 'reg.example:5000/app:1')], null), []);
    assert.deepEqual(registryAuthOps([{ del: Keys.service('s1'), guard: null }, { put: Keys.task('t1'), value: {}, guard: null }], null), [{ del: Keys.serviceRegistryAuth('s1'), guard: null }]);
  });
});
