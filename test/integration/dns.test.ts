/**
 * The DNS server on real sockets, loopback only: servers on 127.0.0.2 and 127.0.0.4, a fake
 * upstream on 127.0.0.3, all on free high ports. No root needed. Every socket is closed in `after`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { DnsServer, DnsServerStateError, buildRecordSet, type DnsRecordSet } from '../../agent/network/dns';
import { encodeReply, parseQuery } from '../../agent/network/dns/message';
import { RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA } from '../../agent/network/dns/wire';
import { decodeResponse, encodeQuery, tcpExchange, udpExchange } from '../unit/dns/client';

const SERVER = '127.0.0.2';
const OTHER = '127.0.0.4';
const UPSTREAM = '127.0.0.3';
const TIMEOUT_MS = 300;

/** Answers `*.example` with 192.0.2.80 over UDP and TCP; never answers names starting `slow.`. */
class FakeUpstream {
  readonly udp: UdpSocket = createSocket('udp4');
  readonly tcp: Server;
  readonly conns = new Set<Socket>();
  readonly seenIds: number[] = [];
  port = 0;

  constructor(private readonly withTcp = true) {
    this.udp.on('message', (msg, from) => {
      const reply = this.answer(msg);
      if (reply !== null) this.udp.send(reply, from.port, from.address);
    });
    this.tcp = createServer((sock) => {
      this.conns.add(sock);
      sock.on('close', () => this.conns.delete(sock));
      sock.on('error', () => sock.destroy());
      sock.once('data', (chunk: Buffer) => {
        const reply = this.answer(chunk.subarray(2, 2 + chunk.readUInt16BE(0)));
        if (reply === null) return;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        sock.write(Buffer.concat([len, reply]));
      });
    });
  }

  private answer(msg: Buffer): Buffer | null {
    const q = parseQuery(msg);
    this.seenIds.push(q.header.id);
    if (q.name.startsWith('slow.')) return null;
    return encodeReply(q, { rcode: RCODE_NOERROR, authoritative: false, ips: ['192.0.2.80'], ttl: 60 }, 512);
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.udp.bind(0, UPSTREAM, resolve));
    this.port = this.udp.address().port;
    if (!this.withTcp) return;
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(this.port, UPSTREAM, resolve);
    });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    if (this.tcp.listening) await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}

const manyIps = Array.from({ length: 40 }, (_, i) => `10.214.9.${i + 1}`);

function networkA(): DnsRecordSet {
  const rs = buildRecordSet([
    {
      name: 'shop_web', stack: 'shop', aliases: ['frontend'], endpointMode: 'vip', vip: '10.214.1.2',
      tasks: [
        { ip: '10.214.1.10', name: 'shop_web.1.aaa', hostname: 'web-1', running: true },
        { ip: '10.214.1.11', name: 'shop_web.2.bbb', hostname: null, running: true },
      ],
    },
    {
      name: 'shop_db', stack: 'shop', aliases: [], endpointMode: 'dnsrr', vip: null,
      tasks: ['10.214.1.20', '10.214.1.21', '10.214.1.22', '10.214.1.23'].map((ip, i) => ({ ip, name: `shop_db.${i + 1}.x${i}`, hostname: null, running: true })),
    },
  ]);
  rs.names.set('many', manyIps);
  rs.roundRobin.add('many');
  return rs;
}

let upstream: FakeUpstream;
let server: DnsServer;
let other: DnsServer;
const opened: DnsServer[] = [];

async function ask(name: string, type = TYPE_A, via: 'udp' | 'tcp' = 'udp', host = SERVER, port = server.port) {
  const id = Math.floor(Math.random() * 0x10000);
  const msg = encodeQuery(id, name, type, { ednsSize: via === 'udp' ? undefined : 4096 });
  const raw = via === 'udp' ? await udpExchange(host, port, msg) : await tcpExchange(host, port, msg);
  const d = decodeResponse(raw);
  assert.equal(d.header.id, id, 'reply id matches the query');
  return d;
}

describe('dns server on loopback', () => {
  before(async () => {
    upstream = new FakeUpstream();
    await upstream.start();
    server = new DnsServer({ listen: SERVER, port: 0, upstream: [`${UPSTREAM}:${upstream.port}`], timeoutMs: TIMEOUT_MS });
    opened.push(server);
    await server.start();
    server.update(networkA());
    other = new DnsServer({ listen: OTHER, port: 0, upstream: [`${UPSTREAM}:${upstream.port}`], timeoutMs: TIMEOUT_MS });
    opened.push(other);
    await other.start();
    other.update(buildRecordSet([{ name: 'api', stack: null, aliases: [], endpointMode: 'vip', vip: '10.214.2.2', tasks: [] }]));
  });

  after(async () => {
    await Promise.allSettled(opened.map((s) => s.close()));
    await upstream?.close();
  });

  it('answers service, stack_service, alias and hostname with A records', async () => {
    for (const name of ['web', 'shop_web', 'FRONTEND.', 'web-1']) {
      const d = await ask(name);
      assert.equal(d.header.rcode, RCODE_NOERROR, name);
      assert.equal(d.header.aa, true, name);
      assert.deepEqual(d.a, name === 'web-1' ? ['10.214.1.10'] : ['10.214.1.2'], name);
    }
  });

  it('tasks. gives every running task', async () => {
    assert.deepEqual((await ask('tasks.web')).a.sort(), ['10.214.1.10', '10.214.1.11']);
  });

  it('dnsrr gives every task address, in changing order', async () => {
    const orders = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const d = await ask('db');
      assert.deepEqual([...d.a].sort(), ['10.214.1.20', '10.214.1.21', '10.214.1.22', '10.214.1.23']);
      orders.add(d.a.join(','));
    }
    // 24 orders; 30 draws giving one order only has probability 24^-29
    assert.ok(orders.size > 1, 'answers are shuffled');
  });

  it('NXDOMAIN for our namespace, empty NOERROR for AAAA of a known name', async () => {
    const nx = await ask('tasks.nosuch');
    assert.equal(nx.header.rcode, RCODE_NXDOMAIN);
    const aaaa = await ask('web', TYPE_AAAA);
    assert.equal(aaaa.header.rcode, RCODE_NOERROR);
    assert.equal(aaaa.header.ancount, 0);
  });

  it('forwards unknown names to the upstream over UDP and TCP, with a fresh id', async () => {
    const before = upstream.seenIds.length;
    const udp = await ask('www.example');
    assert.deepEqual(udp.a, ['192.0.2.80']);
    assert.equal(udp.header.aa, false);
    const tcp = await ask('api.example', TYPE_A, 'tcp');
    assert.deepEqual(tcp.a, ['192.0.2.80']);
    assert.equal(upstream.seenIds.length, before + 2);
  });

  it('a TCP query still gets an answer from a UDP-only upstream', async () => {
    const udpOnly = new FakeUpstream(false);
    await udpOnly.start();
    try {
      const s = new DnsServer({ listen: SERVER, port: 0, upstream: [`${UPSTREAM}:${udpOnly.port}`], timeoutMs: TIMEOUT_MS });
      opened.push(s);
      await s.start();
      const d = await ask('www.example', TYPE_A, 'tcp', SERVER, s.port);
      assert.deepEqual(d.a, ['192.0.2.80']);
      await s.close();
    } finally {
      await udpOnly.close();
    }
  });

  it('SERVFAIL when the upstream does not answer in time', async () => {
    const t0 = Date.now();
    const d = await ask('slow.example');
    assert.equal(d.header.rcode, RCODE_SERVFAIL);
    assert.ok(Date.now() - t0 >= TIMEOUT_MS - 20, 'waited for the timeout');
  });

  it('a big answer is truncated over UDP and whole over TCP', async () => {
    const udp = await ask('many');
    assert.equal(udp.header.tc, true);
    assert.ok(udp.a.length > 0 && udp.a.length < manyIps.length);
    const tcp = await ask('many', TYPE_A, 'tcp');
    assert.equal(tcp.header.tc, false);
    assert.deepEqual([...tcp.a].sort(), [...manyIps].sort());
  });

  it('each network answers only its own names', async () => {
    const mine = await ask('api', TYPE_A, 'udp', OTHER, other.port);
    assert.deepEqual(mine.a, ['10.214.2.2']);
    const notMine = await ask('tasks.web', TYPE_A, 'udp', OTHER, other.port);
    assert.equal(notMine.header.rcode, RCODE_NXDOMAIN);
    // `api` is not in network A's table, so there it goes upstream
    assert.deepEqual((await ask('api')).a, ['192.0.2.80']);
  });

  it('update() switches answers', async () => {
    other.update(buildRecordSet([{ name: 'api', stack: null, aliases: [], endpointMode: 'vip', vip: '10.214.2.99', tasks: [] }]));
    assert.deepEqual((await ask('api', TYPE_A, 'udp', OTHER, other.port)).a, ['10.214.2.99']);
    other.update({ names: new Map(), roundRobin: new Set() });
    assert.deepEqual((await ask('api', TYPE_A, 'udp', OTHER, other.port)).a, ['192.0.2.80']);
  });

  it('agrees with dig when dig is installed', async (t) => {
    const dig = await promisify(execFile)('dig', ['-v']).then(() => true, () => false);
    if (!dig) {
      t.skip('dig not installed (scripts/setup.sh installs bind9-dnsutils)');
      return;
    }
    const run = async (...args: string[]) =>
      (await promisify(execFile)('dig', [`@${SERVER}`, '-p', String(server.port), '+time=2', '+tries=1', ...args])).stdout;
    assert.equal((await run('+short', 'web')).trim(), '10.214.1.2');
    assert.deepEqual((await run('+short', 'tasks.shop_db')).trim().split('\n').sort(), ['10.214.1.20', '10.214.1.21', '10.214.1.22', '10.214.1.23']);
    assert.match(await run('tasks.nosuch'), /status: NXDOMAIN/);
    assert.equal((await run('+short', 'www.example')).trim(), '192.0.2.80');
    // without +ignore dig retries over TCP on TC and must get all 40
    assert.equal((await run('+short', '+noedns', 'many')).trim().split('\n').length, manyIps.length);
  });

  it('close() frees both ports and refuses further use', async () => {
    const s = new DnsServer({ listen: SERVER, port: 0, upstream: [] });
    opened.push(s);
    await s.start();
    const port = s.port;
    await s.close();
    await s.close();
    assert.throws(() => s.update({ names: new Map(), roundRobin: new Set() }), DnsServerStateError);
    await assert.rejects(s.start(), DnsServerStateError);
    const again = new DnsServer({ listen: SERVER, port, upstream: [] });
    opened.push(again);
    await again.start();
    assert.equal(again.port, port);
    await again.close();
  });
});
