import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { ClusterNode } from '../../../shared/types';
import { caDigest, trustDigest } from '../../../shared/pki/certificate';
import { createRootCa, issueLeaf, newKeyAndCsr } from '../../../shared/pki/issue';
import { finishRotation, pendingNodes } from '../../../manager/ca/rotation';
import type { CaRecord, CertRecord } from '../../../manager/ca/ca-record';
import { needsRenewal, renewalTime } from '../../../agent/session/certificates';

const node = (id: string, state: 'ready' | 'down' = 'ready'): ClusterNode => ({
  v: 1, id, hostname: id, addr: '10.0.0.1', role: 'worker', availability: 'active', status: { state, message: '', timestamp: '' }, resources: { nanoCpus: 1, memoryBytes: 1 }, labels: {}, createdAt: '',
});
const cert = (nodeId: string, issuer: string): CertRecord => ({ v: 1, nodeId, serial: '1', issuer, notAfter: '', issuedAt: '' });

describe('CA rotation', () => {
  it('waits for every node that is not down to hold a certificate from the new root, then trusts it alone', async () => {
    const old = await createRootCa('r1', 3600_000);
    const next = await createRootCa('r2', 3600_000);
    const d1 = caDigest(new X509Certificate(old.certPem));
    const d2 = caDigest(new X509Certificate(next.certPem));
    const ca: CaRecord = { v: 1, trust: [old.certPem, next.certPem], signer: { certPem: next.certPem, key: { alg: 'A256GCM', nonce: '', data: '' } }, crossSigned: 'X', rotation: { fromCertPem: old.certPem, startedAt: '' } };
    const nodes = [node('a'), node('b'), node('c', 'down')];
    assert.deepEqual(pendingNodes(ca, nodes, [cert('a', d2), cert('b', d1)]).map((n) => n.id), ['b']);
    assert.equal(finishRotation(ca, nodes, [cert('a', d2), cert('b', d1)]), null);
    const done = finishRotation(ca, nodes, [cert('a', d2), cert('b', d2), cert('c', d1)]);
    assert.deepEqual(done?.trust, [next.certPem]);
    assert.equal(done?.crossSigned, null);
    assert.equal(done?.rotation, null);
    assert.equal(done?.etcdChain, 'X', 'etcd members not restarted yet still need the cross-signed root');
    assert.equal(finishRotation({ ...ca, rotation: null }, nodes, []), null, 'nothing to finish without a rotation');
  });
});

describe('agent renewal', () => {
  it('renews in the second half of the validity', () => {
    assert.equal(renewalTime(0, 100, 0), 50);
    assert.ok(renewalTime(0, 100, 0.999) < 100);
  });

  it('renews at once when the roots or the signing root moved on', async () => {
    const r1 = await createRootCa('r1', 3600_000);
    const r2 = await createRootCa('r2', 3600_000);
    const k = await newKeyAndCsr();
    const leaf = await issueLeaf(r1, { csrPem: k.csrPem, commonName: 'n', role: 'worker', clusterId: 'c', validityMs: 3600_000 });
    const d1 = caDigest(new X509Certificate(r1.certPem));
    const d2 = caDigest(new X509Certificate(r2.certPem));
    const mine = { ca: r1.certPem, cert: leaf };
    assert.equal(needsRenewal(mine, d1, trustDigest(r1.certPem)), false);
    assert.equal(needsRenewal(mine, d2, trustDigest(r1.certPem + r2.certPem)), true, 'a rotation began');
    assert.equal(needsRenewal({ ca: r1.certPem + r2.certPem, cert: leaf }, d2, trustDigest(r1.certPem + r2.certPem)), true, 'the certificate is from the old root');
  });
});
