import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRecordSet, type ServiceEndpoint } from '../../../agent/network/dns/build';
import { mergeRecordSets, normalizeRecordSet, resolveName, shuffled, type Resolution } from '../../../agent/network/dns/records';
import { InvalidArgumentError } from '../../../shared/errors';
import { TYPE_A, TYPE_AAAA, TYPE_ANY } from '../../../agent/network/dns/wire';

const services: ServiceEndpoint[] = [
  {
    name: 'shop_web', stack: 'shop', aliases: ['frontend'], endpointMode: 'vip', vip: '10.214.1.2',
    tasks: [
      { ip: '10.214.1.10', name: 'shop_web.1.aaa', hostname: 'web-1', running: true },
      { ip: '10.214.1.11', name: 'shop_web.2.bbb', hostname: null, running: true },
      { ip: '10.214.1.12', name: 'shop_web.3.ccc', hostname: 'web-3', running: false },
    ],
  },
  {
    name: 'db', stack: null, aliases: [], endpointMode: 'dnsrr', vip: null,
    tasks: [
      { ip: '10.214.1.20', name: 'db.1.ddd', hostname: 'db', running: true },
      { ip: '10.214.1.21', name: 'db.2.eee', hostname: null, running: true },
    ],
  },
  { name: 'idle', stack: null, aliases: [], endpointMode: 'vip', vip: null, tasks: [] },
];
const view = normalizeRecordSet(buildRecordSet(services));
/** Keeps every shuffle in place, so dnsrr answers compare in table order. */
const noShuffle = (): number => 0.999999;

const cases: { q: string; type?: number; want: Resolution }[] = [
  { q: 'shop_web', want: { kind: 'records', ips: ['10.214.1.2'] } },
  { q: 'web', want: { kind: 'records', ips: ['10.214.1.2'] } },
  { q: 'frontend', want: { kind: 'records', ips: ['10.214.1.2'] } },
  { q: 'SHOP_Web.', want: { kind: 'records', ips: ['10.214.1.2'] } },
  { q: 'tasks.web', want: { kind: 'records', ips: ['10.214.1.10', '10.214.1.11'] } },
  { q: 'tasks.shop_web', want: { kind: 'records', ips: ['10.214.1.10', '10.214.1.11'] } },
  { q: 'Tasks.Web.', want: { kind: 'records', ips: ['10.214.1.10', '10.214.1.11'] } },
  { q: 'db', want: { kind: 'records', ips: ['10.214.1.20', '10.214.1.21'] } },
  { q: 'tasks.db', want: { kind: 'records', ips: ['10.214.1.20', '10.214.1.21'] } },
  { q: 'web-1', want: { kind: 'records', ips: ['10.214.1.10'] } },
  { q: 'shop_web.2.bbb', want: { kind: 'records', ips: ['10.214.1.11'] } },
  // not running: no address to give
  { q: 'web-3', want: { kind: 'forward' } },
  { q: 'shop_web.3.ccc', want: { kind: 'forward' } },
  // a known name without an address yet, and our tasks. namespace, are ours to deny
  { q: 'idle', want: { kind: 'nxdomain' } },
  { q: 'tasks.idle', want: { kind: 'nxdomain' } },
  { q: 'tasks.nosuch', want: { kind: 'nxdomain' } },
  { q: 'tasks.example.com', want: { kind: 'forward' } },
  { q: 'example.com', want: { kind: 'forward' } },
  { q: 'nosuch', want: { kind: 'forward' } },
  { q: '', want: { kind: 'forward' } },
  { q: 'web', type: TYPE_AAAA, want: { kind: 'nodata' } },
  { q: 'web', type: 15 /* MX */, want: { kind: 'nodata' } },
  { q: 'web', type: TYPE_ANY, want: { kind: 'records', ips: ['10.214.1.2'] } },
  { q: 'idle', type: TYPE_AAAA, want: { kind: 'nxdomain' } },
  { q: 'example.com', type: TYPE_AAAA, want: { kind: 'forward' } },
];

describe('dns name rules', () => {
  for (const c of cases) {
    it(`${c.q || '(root)'} ${c.type === undefined ? 'A' : c.type} → ${c.want.kind}`, () => {
      assert.deepEqual(resolveName(view, c.q, c.type ?? TYPE_A, noShuffle), c.want);
    });
  }

  it('a hostname equal to a service name does not join the service answer', () => {
    // task db.1.ddd has hostname "db", the dnsrr service's name
    assert.deepEqual(resolveName(view, 'db', TYPE_A, noShuffle), { kind: 'records', ips: ['10.214.1.20', '10.214.1.21'] });
  });

  it('shuffles dnsrr and tasks. answers but never vip ones', () => {
    assert.ok(view.roundRobin.has('db'));
    assert.ok(view.roundRobin.has('tasks.web'));
    assert.ok(!view.roundRobin.has('web'));
    const reversed = (): number => 0;
    const r = resolveName(view, 'db', TYPE_A, reversed);
    assert.deepEqual(r, { kind: 'records', ips: ['10.214.1.21', '10.214.1.20'] });
  });

  it('shuffled keeps every element', () => {
    const items = ['a', 'b', 'c', 'd', 'e'];
    for (let i = 0; i < 20; i++) assert.deepEqual(shuffled(items).sort(), items);
  });

  it('normalizes names, merges spellings and copies the input', () => {
    const names = new Map([['Web.', ['10.0.0.1']], ['web', ['10.0.0.2', '10.0.0.1']]]);
    const v = normalizeRecordSet({ names, roundRobin: new Set(['WEB']) });
    names.set('later', ['10.0.0.9']);
    assert.deepEqual([...v.names], [['web', ['10.0.0.1', '10.0.0.2']]]);
    assert.deepEqual([...v.roundRobin], ['web']);
  });

  it('refuses addresses that are not IPv4', () => {
    assert.throws(() => normalizeRecordSet({ names: new Map([['web', ['fd00::1']]]), roundRobin: new Set() }), InvalidArgumentError);
  });
});

describe('mergeRecordSets', () => {
  it('gives a container the names of all its networks, its own network first', () => {
    const own = { names: new Map([['web', ['10.0.1.2']]]), roundRobin: new Set<string>() };
    const other = { names: new Map([['web', ['10.0.2.2']], ['db', ['10.0.2.5']], ['tasks.db', ['10.0.2.6']]]), roundRobin: new Set(['tasks.db']) };
    const m = mergeRecordSets([own, other]);
    assert.deepEqual([...m.names], [['web', ['10.0.1.2']], ['db', ['10.0.2.5']], ['tasks.db', ['10.0.2.6']]]);
    assert.deepEqual([...m.roundRobin], ['tasks.db']);
  });
});
