import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { saKeyFor, securityAssociations, spiFor, type EspSa } from '../../../../../agent/network/encryption/sa';
import { saLine } from '../../../../../agent/network/encryption/datapath';
import type { NetworkKeyring } from '../../../../../shared/network-keys';

const A = '10.213.0.1';
const B = '10.213.0.2';
const C = '10.213.0.3';
const ring: NetworkKeyring = { keys: [4, 5, 6].map((tag) => ({ tag, key: Buffer.alloc(20, tag) })), primary: 5 };
const k5 = ring.keys[1]!;

describe('spiFor / saKeyFor', () => {
  it('is the same on both hosts, and differs per direction and per key', () => {
    assert.equal(spiFor(k5, A, B), spiFor({ tag: 5, key: Buffer.alloc(20, 5) }, A, B));
    const spis = new Set<number>();
    for (const k of ring.keys) for (const [s, d] of [[A, B], [B, A], [A, C], [C, A], [B, C]]) spis.add(spiFor(k, s!, d!));
    assert.equal(spis.size, 15, 'one SPI per key and direction');
    assert.notDeepEqual(saKeyFor(k5, A, B), saKeyFor(k5, B, A));
    assert.notDeepEqual(saKeyFor(k5, A, B), saKeyFor(ring.keys[2]!, A, B));
    assert.equal(saKeyFor(k5, A, B).length, 20);
  });

  it('never gives a reserved SPI (0-255)', () => {
    for (let i = 0; i < 2000; i++) assert.ok(spiFor({ tag: i + 1, key: Buffer.alloc(20, i % 256) }, A, `10.0.${i % 256}.${i >> 8}`) >= 256);
  });
});

describe('securityAssociations', () => {
  const find = (sas: EspSa[], dir: 'in' | 'out', peer: string) => sas.filter((s) => s.dir === dir && s.peer === peer);

  it('opens with every key, seals with the primary only, per remote host', () => {
    const { sas, problems } = securityAssociations(A, [C, B, B], ring);
    assert.deepEqual(problems, []);
    for (const peer of [B, C]) {
      assert.deepEqual(find(sas, 'in', peer).map((s) => s.tag), [4, 5, 6], `inbound from ${peer}`);
      assert.deepEqual(find(sas, 'out', peer).map((s) => s.tag), [5], `outbound to ${peer}`);
    }
    assert.equal(sas.length, 8);
  });

  it('gives the receiver the SA the sender uses', () => {
    const atA = securityAssociations(A, [B], ring).sas;
    const atB = securityAssociations(B, [A], ring).sas;
    const out = find(atA, 'out', B)[0]!;
    const matching = find(atB, 'in', A).find((s) => s.spi === out.spi);
    assert.ok(matching, 'B has an inbound SA with the SPI A sends');
    assert.deepEqual(matching.key, out.key);
  });

  it('leaves this host out of its own remotes, and makes nothing without keys', () => {
    assert.deepEqual(securityAssociations(A, [A], ring).sas, []);
    assert.deepEqual(securityAssociations(A, [B], null), { sas: [], problems: [] });
    assert.deepEqual(securityAssociations(A, [B], { keys: [], primary: 0 }), { sas: [], problems: [] });
  });

  it('makes no SA from a keyring that does not hold together, and says why', () => {
    const r = securityAssociations(A, [B], { ...ring, primary: 9 });
    assert.deepEqual(r.sas, []);
    assert.match(r.problems[0] ?? '', /primary key 9 is not in the keyring/);
    assert.match(securityAssociations(A, [B], { keys: [{ tag: 1, key: Buffer.alloc(16) }], primary: 1 }).problems[0] ?? '', /16 bytes/);
  });

  it('speaks the helper protocol: direction, peer, SPI in hex, key in hex', () => {
    const sa: EspSa = { dir: 'out', peer: B, spi: 0x1234abcd, key: Buffer.alloc(20, 0xab), tag: 5 };
    assert.equal(saLine(sa), `out ${B} 1234abcd ${'ab'.repeat(20)}`);
  });
});
