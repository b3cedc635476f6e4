/**
 * One network's DNS server: UDP and TCP on `<gateway>:53`, answering from the view the agent last
 * gave update(), forwarding the rest (see README.md).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { InvalidArgumentError } from '../../../shared/errors';
import { createLogger, type Logger } from '../../../shared/log';
import { answerQuery, servfail, type Transport } from './answer';
import { DnsServerStateError } from './errors';
import { forwardQuery } from './forward';
import { emptyRecordSet, normalizeRecordSet, type DnsRecordSet } from './records';
import { parseUpstream, readUpstreams, SYSTEM_RESOLV_CONF, type Upstream } from './upstreams';

export interface DnsServerOptions {
  /** The address to bind: the network's gateway. */
  listen: string;
  /** Default 53; 0 picks a free port, the same for UDP and TCP (see `port`). */
  port?: number;
  /** Explicit upstreams (`ip` or `ip:port`); null or absent reads `resolvConf`. */
  upstream?: string[] | null;
  /** Default /etc/resolv.conf, re-read at most every few seconds so host changes are picked up. */
  resolvConf?: string;
  /** Per upstream attempt; default 2000 ms, so three upstreams stay near glibc's 5 s retry. */
  timeoutMs?: number;
  log?: Logger;
}

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

const DEFAULT_TIMEOUT_MS = 2000;
const RESOLV_CONF_MAX_AGE_MS = 5000;
/** Bounds the sockets forwarding can hold open; past it clients get SERVFAIL at once. */
const MAX_FORWARDS = 256;
const MAX_TCP_CONNECTIONS = 128;
const TCP_IDLE_MS = 10_000;
/** With port 0, tries to find a port free for both UDP and TCP. */
const BIND_ATTEMPTS = 8;

export class DnsServer {
  private state: State = 'new';
  private view: DnsRecordSet = emptyRecordSet();
  /** Containers on other networks too: their address here → the names of all their networks. */
  private bySource = new Map<string, DnsRecordSet>();
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private boundPort: number | null = null;
  private readonly conns = new Set<Socket>();
  private readonly pending = new Set<Promise<void>>();
  private readonly stop = new AbortController();
  private forwards = 0;
  private readonly explicitUpstreams: Upstream[] | null;
  private fileUpstreams: { list: Upstream[]; readAt: number } | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: DnsServerOptions) {
    if (isIP(opts.listen) === 0) throw new InvalidArgumentError(`DNS listen address ${JSON.stringify(opts.listen)} is not an IP`);
    const port = opts.port ?? 53;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`DNS port ${port} out of range`);
    if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) throw new InvalidArgumentError('DNS timeoutMs must be positive');
    this.explicitUpstreams = opts.upstream == null ? null : opts.upstream.map(parseUpstream);
    this.log = opts.log ?? createLogger(`dns ${opts.listen}`);
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    if (this.boundPort === null) throw new DnsServerStateError(`DNS server on ${this.opts.listen} is not running`);
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new DnsServerStateError(`DNS server on ${this.opts.listen} cannot start: ${this.state}`);
    this.state = 'starting';
    const wanted = this.opts.port ?? 53;
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < (wanted === 0 ? BIND_ATTEMPTS : 1); attempt++) {
      try {
        await this.bind(wanted);
        if (this.closedWhileStarting()) {
          await this.unbind();
          throw new DnsServerStateError(`DNS server on ${this.opts.listen} was closed while starting`);
        }
        this.state = 'running';
        this.log.debug(`listening on ${this.opts.listen}:${this.boundPort}`);
        return;
      } catch (err) {
        lastErr = err;
        if (err instanceof DnsServerStateError) throw err;
        await this.unbind();
        // Port 0: UDP got a port whose TCP twin is taken; another draw usually works.
        if (wanted !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    this.state = 'closed';
    throw lastErr;
  }

  /** Replaces the whole view at once: a query sees the old table or the new, never a mix. */
  update(records: DnsRecordSet): void {
    if (this.state === 'closing' || this.state === 'closed') throw new DnsServerStateError(`DNS server on ${this.opts.listen} is closed`);
    this.view = normalizeRecordSet(records);
  }

  /**
   * The tables to answer some clients from instead of the network's own (a container that is on
   * other networks too resolves their names, as Docker's DNS does); replaced whole, as update().
   */
  updateSources(sources: ReadonlyMap<string, DnsRecordSet>): void {
    if (this.state === 'closing' || this.state === 'closed') throw new DnsServerStateError(`DNS server on ${this.opts.listen} is closed`);
    this.bySource = new Map([...sources].map(([ip, rs]) => [ip, normalizeRecordSet(rs)]));
  }

  /** Stops listening, drops TCP clients and in-flight forwards; idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      return;
    }
    this.state = 'closing';
    this.stop.abort();
    await this.unbind();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.state = 'closed';
  }

  /** A method, so the compiler does not narrow `state` across the awaits in start(). */
  private closedWhileStarting(): boolean {
    return this.state !== 'starting';
  }

  private async bind(port: number): Promise<void> {
    const udp = createSocket({ type: isIP(this.opts.listen) === 6 ? 'udp6' : 'udp4' });
    this.udp = udp;
    udp.on('message', (msg, from) => this.track(this.onUdp(msg, from)));
    const bound = once(udp, 'listening');
    udp.bind({ address: this.opts.listen, port, exclusive: true });
    await bound;
    udp.on('error', (err) => this.log.warn(`udp: ${err.message}`));
    const actual = udp.address().port;

    const tcp = createServer((sock) => this.onConnection(sock));
    this.tcp = tcp;
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    const listening = once(tcp, 'listening');
    tcp.listen({ host: this.opts.listen, port: actual, exclusive: true });
    await listening;
    tcp.on('error', (err) => this.log.warn(`tcp: ${err.message}`));
    this.boundPort = actual;
  }

  private async unbind(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    this.boundPort = null;
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const waits: Promise<unknown>[] = [];
    if (udp !== null) waits.push(new Promise<void>((resolve) => { try { udp.close(() => resolve()); } catch { resolve(); } }));
    if (tcp !== null && tcp.listening) waits.push(new Promise<void>((resolve) => tcp.close(() => resolve())));
    await Promise.all(waits);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async onUdp(msg: Buffer, from: RemoteInfo): Promise<void> {
    const reply = await this.handle(msg, 'udp', from.address);
    const udp = this.udp;
    if (reply === null || udp === null || this.state !== 'running') return;
    udp.send(reply, from.port, from.address, (err) => { if (err) this.log.debug(`udp send to ${from.address}: ${err.message}`); });
  }

  /** RFC 1035 §4.2.2 framing: a 16-bit length before each message; several may share a connection. */
  private onConnection(sock: Socket): void {
    if (this.state !== 'running') { sock.destroy(); return; }
    this.conns.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        this.track(this.onTcpMessage(sock, msg));
      }
    });
  }

  private async onTcpMessage(sock: Socket, msg: Buffer): Promise<void> {
    const reply = await this.handle(msg, 'tcp', sock.remoteAddress ?? '');
    if (reply === null || sock.destroyed || this.state !== 'running') return;
    const len = Buffer.alloc(2);
    len.writeUInt16BE(reply.length);
    sock.write(Buffer.concat([len, reply]));
  }

  /** The reply bytes for one message, or null to stay silent. Never throws. */
  private async handle(msg: Buffer, transport: Transport, from: string): Promise<Buffer | null> {
    try {
      const outcome = answerQuery(this.bySource.get(from.replace(/^::ffff:/, '')) ?? this.view, msg, transport);
      if (outcome.kind === 'drop') return null;
      if (outcome.kind === 'reply') return outcome.bytes;
      if (this.forwards >= MAX_FORWARDS) return servfail(outcome.query, transport);
      this.forwards++;
      try {
        return await forwardQuery(msg, await this.upstreams(), transport, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, this.stop.signal);
      } catch (err) {
        if (this.stop.signal.aborted) return null;
        this.log.debug(`forwarding ${outcome.query.name}: ${err instanceof Error ? err.message : String(err)}`);
        return servfail(outcome.query, transport);
      } finally {
        this.forwards--;
      }
    } catch (err) {
      // A bug in answering one message must not take the server down with it.
      this.log.error(`unexpected error answering a ${transport} query: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return null;
    }
  }

  private async upstreams(): Promise<Upstream[]> {
    if (this.explicitUpstreams !== null) return this.explicitUpstreams;
    const cached = this.fileUpstreams;
    if (cached !== null && Date.now() - cached.readAt < RESOLV_CONF_MAX_AGE_MS) return cached.list;
    const list = await readUpstreams(this.opts.resolvConf ?? SYSTEM_RESOLV_CONF);
    if (list.length === 0 && (cached === null || cached.list.length > 0)) {
      this.log.warn(`no usable nameserver in ${this.opts.resolvConf ?? SYSTEM_RESOLV_CONF}: outside names will fail`);
    }
    this.fileUpstreams = { list, readAt: Date.now() };
    return list;
  }
}
