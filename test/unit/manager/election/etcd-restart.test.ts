import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otherMembers } from '../../../../manager/election/etcd-restart';

describe('otherMembers (where the store goes while its own etcd member restarts)', () => {
  const member = (ip: string, extra: Partial<{ isLearner: boolean; clientURLs: string[] }> = {}) => ({
    clientURLs: [`https://127.0.0.1:2379`, `https://${ip}:2379`],
    ...extra,
  });

  it('gives the other voters by their advertised URL, never a loopback one', () => {
    assert.deepEqual(otherMembers([member('10.0.0.1'), member('10.0.0.2'), member('10.0.0.3')], '10.0.0.1'), ['https://10.0.0.2:2379', 'https://10.0.0.3:2379']);
  });

  it('leaves out learners and members not started (no client URLs yet)', () => {
    assert.deepEqual(otherMembers([member('10.0.0.1'), member('10.0.0.2', { isLearner: true }), { clientURLs: [] }, member('10.0.0.4')], '10.0.0.1'), ['https://10.0.0.4:2379']);
  });

  it('gives nothing when this host is the only member', () => {
    assert.deepEqual(otherMembers([member('10.0.0.1')], '10.0.0.1'), []);
    assert.deepEqual(otherMembers([{ clientURLs: ['https://127.0.0.1:2379', 'not a url'] }], '10.0.0.1'), []);
  });
});
