import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createRootCa, crossSign, issueLeaf, keyMatches, newKeyAndCsr } from '../../../shared/pki/issue';
import { caDigest, certInfo, parseCertificates, signedBy, splitPem, trustDigest, validityProblem } from '../../../shared/pki/certificate';
import { newJoinToken, parseJoinToken } from '../../../shared/pki/join-token';
import { InvalidArgumentError } from '../../../shared/errors';

const HOUR = 3600_000;

describe('certificates', () => {
  it('issues a node certificate whose subject and names the issuer chose, signed by the root', async () => {
    const root = await createRootCa('test-root', 24 * HOUR);
    const k = await newKeyAndCsr();
    const pem = await issueLeaf(root, { csrPem: k.csrPem, commonName: 'node1', role: 'worker', clusterId: 'c1', ips: ['10.0.0.2'], dnsNames: ['tsswarm-manager'], validityMs: HOUR });
    const leaf = new X509Certificate(pem);
    const info = certInfo(leaf);
    assert.equal(info.commonName, 'node1');
    assert.equal(info.role, 'worker');
    assert.equal(info.clusterId, 'c1');
    assert.match(leaf.subjectAltName ?? '', /IP Address:10.0.0.2/);
    assert.ok(signedBy(leaf, new X509Certificate(root.certPem)));
    assert.ok(keyMatches(pem, k.keyPem));
    assert.equal(keyMatches(pem, (await newKeyAndCsr()).keyPem), false);
    assert.equal(new X509Certificate(root.certPem).ca, true);
    assert.equal(leaf.ca, false);
  });

  it('refuses a CSR that does not parse', async () => {
    const root = await createRootCa('test-root', HOUR);
    await assert.rejects(issueLeaf(root, { csrPem: 'garbage', commonName: 'x', role: 'worker', clusterId: 'c', validityMs: HOUR }), InvalidArgumentError);
  });

  it('cross-signs a new root with the old one: a leaf of the new root chains to the old through it', async () => {
    const old = await createRootCa('r1', 24 * HOUR);
    const next = await createRootCa('r2', 24 * HOUR);
    const cross = new X509Certificate(await crossSign(old, next.certPem));
    const k = await newKeyAndCsr();
    const leaf = new X509Certificate(await issueLeaf(next, { csrPem: k.csrPem, commonName: 'n', role: 'manager', clusterId: 'c', validityMs: HOUR }));
    assert.ok(signedBy(leaf, cross), 'the cross-signed root carries the new key');
    assert.ok(signedBy(cross, new X509Certificate(old.certPem)), 'and is signed by the old root');
    assert.equal(signedBy(leaf, new X509Certificate(old.certPem)), false);
  });

  it('says why a certificate is not valid now, naming the clock when it is not valid yet', async () => {
    const root = await createRootCa('r', HOUR);
    const cert = new X509Certificate(root.certPem);
    assert.equal(validityProblem(cert), null);
    assert.match(validityProblem(cert, new Date(Date.now() - 24 * HOUR)) ?? '', /not valid until .* clock .* behind/);
    assert.match(validityProblem(cert, new Date(Date.now() + 2 * HOUR)) ?? '', /expired at/);
  });

  it('parses PEM bundles with one clear error per bad input', async () => {
    const a = await createRootCa('a', HOUR);
    const b = await createRootCa('b', HOUR);
    assert.equal(splitPem(a.certPem + b.certPem).length, 2);
    assert.equal(parseCertificates(a.certPem + b.certPem, 'x').length, 2);
    assert.throws(() => parseCertificates('nothing here', 'ca.pem'), /ca.pem: no PEM certificate in it/);
    const lines = a.certPem.split('\n');
    lines[2] = 'A'.repeat(lines[2]!.length);
    const broken = lines.join('\n');
    assert.throws(() => parseCertificates(broken, 'ca.pem'), /ca.pem: certificate 1 does not parse/);
    assert.notEqual(trustDigest(a.certPem), trustDigest(a.certPem + b.certPem));
  });
});

describe('join tokens', () => {
  it('carry the root digest and a 25-character secret; anything else is one line', async () => {
    const root = new X509Certificate((await createRootCa('r', HOUR)).certPem);
    const d = caDigest(root);
    assert.match(d, /^[0-9a-z]{50}$/);
    const t = newJoinToken(d);
    assert.deepEqual(parseJoinToken(t).caDigest, d);
    assert.match(parseJoinToken(t).secret, /^[0-9a-z]{25}$/);
    assert.notEqual(newJoinToken(d), t);
    assert.throws(() => parseJoinToken('SWMTKN-1-abc-def'), /invalid join token \(expected SWMTKN-1-<50 characters>-<25 characters>/);
  });
});
