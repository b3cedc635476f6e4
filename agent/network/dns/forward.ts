/**
 * Relays a query to the host's resolvers and their answer back, as opaque bytes: only the ID is
 * rewritten. Each attempt uses a fresh socket, so the source port is random per query and replies
 * cannot be confused between queries; the ID is randomised too, so a spoofed reply has to guess
 * both rather than reuse the client's ID.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { DnsUpstreamError } from './errors';
import { formatUpstream, type Upstream } from './upstreams';
import type { Transport } from './answer';
import { HEADER_LEN } from './wire';

/** Distinguishes a slow upstream from one that refused or closed. */
class TimeoutError extends Error {}

/** Tries each upstream in order, each with its own `timeoutMs`; the first answer wins. */
export async function forwardQuery(
  query: Buffer, upstreams: readonly Upstream[], transport: Transport, timeoutMs: number, signal: AbortSignal,
): Promise<Buffer> {
  if (upstreams.length === 0) throw new DnsUpstreamError('no upstream DNS resolvers configured');
  const failures: string[] = [];
  for (const up of upstreams) {
    signal.throwIfAborted();
    const id = randomInt(0, 0x10000);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    try {
      const answer = transport === 'udp' ? await exchangeUdp(out, up, id, timeoutMs, signal) : await tcpThenUdp(out, up, id, timeoutMs, signal);
      answer.writeUInt16BE(query.readUInt16BE(0), 0);
      return answer;
    } catch (err) {
      if (signal.aborted) throw err;
      failures.push(`${formatUpstream(up)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new DnsUpstreamError(`every upstream failed (${failures.join('; ')})`);
}

/**
 * Some resolvers (cloud metadata resolvers, small home routers) serve only UDP. A TCP client gets
 * the UDP answer then, even if truncated, rather than SERVFAIL. Not after a timeout: that upstream
 * is slow, not TCP-less, and a second wait would pass the client's own timeout.
 */
async function tcpThenUdp(query: Buffer, up: Upstream, id: number, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  try {
    return await exchangeTcp(query, up, id, timeoutMs, signal);
  } catch (err) {
    if (signal.aborted || err instanceof TimeoutError) throw err;
    return exchangeUdp(query, up, id, timeoutMs, signal);
  }
}

/** Runs `body` with a deadline and abort wired to `fail`; `cleanup` always runs once. */
function withDeadline(
  timeoutMs: number, signal: AbortSignal,
  body: (done: (b: Buffer) => void, fail: (e: Error) => void) => () => void,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let cleanup: () => void = () => {};
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      cleanup();
      f();
    };
    const onAbort = (): void => finish(() => reject(signal.reason));
    const timer = setTimeout(() => finish(() => reject(new TimeoutError(`no answer in ${timeoutMs} ms`))), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    cleanup = body((b) => finish(() => resolve(b)), (e) => finish(() => reject(e)));
    if (settled) cleanup();
  });
}

/** Whether `msg` answers our query: a response with our ID. */
function isAnswer(msg: Buffer, id: number): boolean {
  return msg.length >= HEADER_LEN && msg.readUInt16BE(0) === id && (msg.readUInt8(2) & 0x80) !== 0;
}

function exchangeUdp(query: Buffer, up: Upstream, id: number, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  return withDeadline(timeoutMs, signal, (done, fail) => {
    const sock = createSocket(isIP(up.host) === 6 ? 'udp6' : 'udp4');
    sock.on('error', fail);
    sock.on('message', (msg: Buffer, from: RemoteInfo) => {
      // Anything else on this port is noise or a spoofing attempt; keep waiting for the real one.
      if (from.address === up.host && from.port === up.port && isAnswer(msg, id)) done(msg);
    });
    sock.send(query, up.port, up.host, (err) => { if (err) fail(err); });
    return () => sock.close();
  });
}

function exchangeTcp(query: Buffer, up: Upstream, id: number, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  return withDeadline(timeoutMs, signal, (done, fail) => {
    const sock = connect({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    sock.on('error', fail);
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) return;
      const msg = Buffer.from(buf.subarray(2, 2 + len));
      if (isAnswer(msg, id)) done(msg);
      else fail(new Error('answer with a different ID'));
    });
    sock.on('end', () => fail(new Error('connection closed before an answer')));
    return () => sock.destroy();
  });
}
