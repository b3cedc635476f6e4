/**
 * The short syntax of `ports` entries, as `docker stack deploy` reads it:
 * `"80"`, `"8080:80"`, `"8080:80/udp"`, ranges `"8080-8081:80-81"`. Returns
 * the expanded ports or a reason; the caller adds key path and line.
 */
import type { PortConfig, PortProtocol } from '../types';

export const MAX_PORT = 65535;

export type PortsResult = { ok: true; ports: PortConfig[] } | { ok: false; reason: string };

export const HOST_IP_REASON = 'publishing on a host IP is not supported in swarm mode';

export function parsePortProtocol(text: string): PortProtocol | null {
  return text === 'tcp' || text === 'udp' ? text : null;
}

/** A single port number from text: digits only, 1..65535. */
export function parsePortNumber(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= MAX_PORT ? n : null;
}

type Range = { start: number; end: number };

function parseRange(text: string, what: string): Range | string {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return `invalid ${what} port ${JSON.stringify(text)}`;
  const start = parsePortNumber(m[1] ?? '');
  const end = m[2] === undefined ? start : parsePortNumber(m[2]);
  if (start === null || end === null) return `${what} port ${JSON.stringify(text)} is out of range 1-${MAX_PORT}`;
  if (end < start) return `${what} port range ${JSON.stringify(text)} ends before it starts`;
  return { start, end };
}

export function parseShortPort(spec: string): PortsResult {
  let rest = spec.trim();
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    const parsed = parsePortProtocol(p);
    if (parsed === null) return { ok: false, reason: `protocol must be tcp or udp, got ${JSON.stringify(p)}` };
    protocol = parsed;
    rest = rest.slice(0, slash);
  }
  if (rest.startsWith('[')) return { ok: false, reason: HOST_IP_REASON };
  const parts = rest.split(':');
  if (parts.length > 3) return { ok: false, reason: HOST_IP_REASON };
  if (parts.length === 3) {
    // `:8080:80` names no IP, which docker reads as "all addresses".
    if (parts[0] !== '') return { ok: false, reason: HOST_IP_REASON };
    parts.shift();
  }
  const targetText = parts[parts.length - 1] ?? '';
  const publishedText = parts.length === 2 ? (parts[0] ?? '') : '';
  const target = parseRange(targetText, 'target');
  if (typeof target === 'string') return { ok: false, reason: target };
  let published: Range | null = null;
  if (publishedText !== '') {
    const p = parseRange(publishedText, 'published');
    if (typeof p === 'string') return { ok: false, reason: p };
    published = p;
    if (p.end - p.start !== target.end - target.start) {
      return { ok: false, reason: `the published range ${publishedText} and the target range ${targetText} have different lengths` };
    }
  }
  const ports: PortConfig[] = [];
  for (let i = 0; i <= target.end - target.start; i++) {
    ports.push({ target: target.start + i, published: published === null ? null : published.start + i, protocol, mode: 'ingress' });
  }
  return { ok: true, ports };
}
