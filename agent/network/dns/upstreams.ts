/**
 * Which resolvers unknown names go to: explicit `host[:port]` strings, or the host's resolv.conf.
 *
 * Loopback nameservers (127.0.0.53 of systemd-resolved, a local dnsmasq) are skipped by default:
 * they are the host's private stubs, reachable only in the host's network namespace, and a name
 * that works on the host only by way of such a stub is one a container could not resolve with any
 * other setup either. When that leaves nothing and the file is the system one, systemd-resolved's
 * list of real upstreams is read instead (as Docker does). Only when both give nothing are the
 * loopback entries used after all: this forwarder runs in the host namespace, where they do
 * answer, and that beats failing every outside name.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../../../shared/errors';

export interface Upstream {
  host: string;
  port: number;
}

export const SYSTEM_RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's file listing the servers its 127.0.0.53 stub forwards to. */
export const RESOLVED_UPSTREAM_CONF = '/run/systemd/resolve/resolv.conf';

export function formatUpstream(u: Upstream): string {
  return isIP(u.host) === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/** `1.2.3.4`, `1.2.3.4:5353`, `2001:db8::1` or `[2001:db8::1]:5353`. */
export function parseUpstream(text: string): Upstream {
  const s = text.trim();
  let host = s;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const v4WithPort = /^([\d.]+):(\d+)$/.exec(s);
  if (bracketed !== null) {
    host = bracketed[1] ?? '';
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (v4WithPort !== null) {
    host = v4WithPort[1] ?? '';
    port = Number(v4WithPort[2]);
  }
  if (isIP(host) === 0) throw new InvalidArgumentError(`DNS upstream ${JSON.stringify(text)} is not an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`DNS upstream ${JSON.stringify(text)}: bad port`);
  return { host, port };
}

/** `nameserver` addresses in file order; anything unparsable is ignored, as the C library does. */
export function parseNameservers(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const words = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (words[0] !== 'nameserver' || words[1] === undefined) continue;
    if (isIP(words[1]) !== 0) out.push(words[1]);
  }
  return out;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.toLowerCase() === '0:0:0:0:0:0:0:1';
}

/** Applies the rule in the header comment. `fallback` is the resolved upstream list, if read. */
export function selectUpstreams(primary: readonly string[], fallback: readonly string[] | null): Upstream[] {
  const remote = primary.filter((ip) => !isLoopback(ip));
  const fromFallback = (fallback ?? []).filter((ip) => !isLoopback(ip));
  const chosen = remote.length > 0 ? remote : fromFallback.length > 0 ? fromFallback : [...primary];
  return [...new Set(chosen)].map((host) => ({ host, port: 53 }));
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Reads `path` (and systemd-resolved's list when `path` is the system file and needs it). */
export async function readUpstreams(path: string): Promise<Upstream[]> {
  const text = await readOrNull(path);
  const primary = text === null ? [] : parseNameservers(text);
  let fallback: string[] | null = null;
  if (path === SYSTEM_RESOLV_CONF && primary.every(isLoopback)) {
    const resolved = await readOrNull(RESOLVED_UPSTREAM_CONF);
    fallback = resolved === null ? null : parseNameservers(resolved);
  }
  return selectUpstreams(primary, fallback);
}
