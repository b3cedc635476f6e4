/**
 * A service's `ports`, short and long syntax (ports.ts parses the short one), and the conflicts
 * between the ports of different services, as Swarm's allocator would find them.
 */
import type { PortConfig } from '../types';
import { HOST_IP_REASON, parsePortNumber, parsePortProtocol, parseShortPort } from './ports';
import type { TreeEntry, TreeMap, TreeNode } from './parse';
import type { Reader } from './reader';
import { PORT } from './schema';
import { describe } from './tree';

/** A published port with where it was written, to report conflicts between services. */
export interface PortEntry {
  port: PortConfig;
  path: string;
  line: number;
}

/** Short and long syntax, ranges expanded, in file order; duplicates within the service are errors. */
export function servicePorts(r: Reader, node: TreeNode | null, path: string): PortEntry[] {
  if (node === null) return [];
  if (node.kind !== 'seq') {
    r.problem(path, `must be a list, got ${describe(node)}`, node.line);
    return [];
  }
  const out: PortEntry[] = [];
  node.items.forEach((item, i) => {
    const itemPath = `${path}[${i}]`;
    let ports: PortConfig[] = [];
    if (item.kind === 'scalar' && typeof item.value === 'number') {
      const target = parsePortNumber(item.text);
      if (target === null) r.problem(itemPath, `must be a port number between 1 and 65535, got ${describe(item)}`, item.line);
      else ports = [{ target, published: null, protocol: 'tcp', mode: 'ingress' }];
    } else if (item.kind === 'scalar' && typeof item.value === 'string') {
      const parsed = parseShortPort(item.value);
      if (!parsed.ok) r.problem(itemPath, `invalid port ${JSON.stringify(item.value)}: ${parsed.reason}`, item.line);
      else ports = parsed.ports;
    } else if (item.kind === 'map') {
      const port = longPort(r, item, itemPath);
      if (port) ports = [port];
    } else {
      r.problem(itemPath, `must be a string such as "8080:80", a port number or a mapping, got ${describe(item)}`, item.line);
    }
    for (const port of ports) out.push({ port, path: itemPath, line: item.line });
  });

  // A published port is one per protocol on a node, whatever the mode: 53/tcp and 53/udp may coexist.
  const seen = new Set<string>();
  const reported = new Set<string>();
  for (const e of out) {
    if (e.port.published === null) continue;
    const key = portKey(e.port);
    if (seen.has(key) && !reported.has(e.path)) {
      reported.add(e.path);
      r.problem(e.path, `published port ${key} is listed twice`, e.line);
    }
    seen.add(key);
  }
  return out;
}

function longPort(r: Reader, node: TreeMap, path: string): PortConfig | null {
  const before = r.count;
  const f = r.fields(node, PORT, path, r.ignoredService, 'ports.');
  const targetEntry = f.entry('target');
  if (!targetEntry) r.problem(path, 'missing required key "target"', node.line);
  const target = targetEntry ? portNumber(r, targetEntry, `${path}.target`) : null;
  const publishedEntry = f.entry('published');
  const published = publishedEntry ? portNumber(r, publishedEntry, `${path}.published`) : null;

  let protocol: PortConfig['protocol'] = 'tcp';
  const protocolEntry = f.entry('protocol');
  const protocolText = protocolEntry ? r.string(protocolEntry.value, `${path}.protocol`) : null;
  if (protocolEntry && protocolText !== null) {
    const p = parsePortProtocol(protocolText);
    if (p === null) r.problem(`${path}.protocol`, `must be tcp or udp, got ${JSON.stringify(protocolText)}`, protocolEntry.keyLine);
    else protocol = p;
  }

  let mode: PortConfig['mode'] = 'ingress';
  const modeEntry = f.entry('mode');
  const modeText = modeEntry ? r.string(modeEntry.value, `${path}.mode`) : null;
  if (modeEntry && modeText !== null) {
    if (modeText === 'ingress' || modeText === 'host') mode = modeText;
    else r.problem(`${path}.mode`, `must be ingress or host, got ${JSON.stringify(modeText)}`, modeEntry.keyLine);
  }

  const hostIpEntry = f.entry('host_ip');
  if (hostIpEntry) {
    const ip = r.string(hostIpEntry.value, `${path}.host_ip`);
    // The unspecified addresses mean "every address", which is what swarm does anyway.
    if (ip !== null && ip !== '' && ip !== '0.0.0.0' && ip !== '::') r.problem(`${path}.host_ip`, HOST_IP_REASON, hostIpEntry.keyLine);
  }

  if (r.count > before || target === null) return null;
  return { target, published, protocol, mode };
}

/** A port given as a YAML number or as a string of digits (`published: "8080"`, or after interpolation). */
function portNumber(r: Reader, entry: TreeEntry, path: string): number | null {
  const v = entry.value;
  const text = v.kind === 'scalar' && typeof v.value === 'number' ? v.text : v.kind === 'scalar' && typeof v.value === 'string' ? v.value.trim() : null;
  const port = text === null ? null : parsePortNumber(text);
  if (port === null) r.problem(path, `must be a port number between 1 and 65535, got ${describe(v)}`, entry.keyLine);
  return port;
}

/**
 * As swarm: a port published in ingress mode is taken on every node, so no
 * other service may publish it, in either mode; two services may both
 * publish a port in host mode (the scheduler keeps them apart).
 */
export function checkPortConflicts(r: Reader, ports: Map<string, PortEntry[]>): void {
  const owners = new Map<string, { service: string; mode: PortConfig['mode'] }[]>();
  const reported = new Set<string>();
  for (const [service, entries] of ports) {
    for (const e of entries) {
      if (e.port.published === null) continue;
      const key = portKey(e.port);
      const other = owners.get(key)?.find((o) => o.mode === 'ingress' || e.port.mode === 'ingress');
      if (other && !reported.has(e.path)) {
        reported.add(e.path);
        r.problem(e.path, `published port ${key} is already used by service ${other.service}`, e.line);
      }
    }
    for (const e of entries) {
      if (e.port.published === null) continue;
      const key = portKey(e.port);
      owners.set(key, [...(owners.get(key) ?? []), { service, mode: e.port.mode }]);
    }
  }
}

/** `8080/tcp`: what two published ports must not share. */
function portKey(port: PortConfig): string {
  return `${port.published ?? ''}/${port.protocol}`;
}
