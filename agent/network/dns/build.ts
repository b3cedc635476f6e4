/**
 * Turns what the agent knows about one network (services, their VIPs and tasks on it) into the
 * flat name table a DnsServer answers from. Pure, so the naming rules are tested without sockets.
 */
import type { DnsRecordSet } from './records';
import { normalizeName } from './records';

export interface TaskEndpoint {
  /** The task's address on this network. */
  ip: string;
  /** Task name, `<service>.<slot>.<task id>` (global: `<service>.<node id>.<task id>`). */
  name: string;
  /** Container hostname, or null when it has none of its own. */
  hostname: string | null;
  /** Only running tasks are answered: others have no live address. */
  running: boolean;
}

export interface ServiceEndpoint {
  /** Full service name: `<stack>_<service>` for stack services. */
  name: string;
  stack: string | null;
  /** The service's network aliases on this network. */
  aliases: string[];
  endpointMode: 'vip' | 'dnsrr';
  /** The service's virtual IP on this network (vip mode); null until allocated. */
  vip: string | null;
  tasks: TaskEndpoint[];
}

/** The stack-less name Compose users write (`web` for `shop_web`), or null. */
function shortName(s: ServiceEndpoint): string | null {
  if (s.stack === null) return null;
  const prefix = `${s.stack}_`;
  return s.name.startsWith(prefix) && s.name.length > prefix.length ? s.name.slice(prefix.length) : null;
}

export function buildRecordSet(services: readonly ServiceEndpoint[]): DnsRecordSet {
  const names = new Map<string, string[]>();
  const roundRobin = new Set<string>();
  const add = (raw: string, ips: readonly string[], rr: boolean): void => {
    const name = normalizeName(raw);
    if (name === '') return;
    const list = names.get(name) ?? [];
    for (const ip of ips) if (!list.includes(ip)) list.push(ip);
    names.set(name, list);
    if (rr) roundRobin.add(name);
  };

  // Service-level names first: a container whose hostname equals a service name must not add its
  // own address to the service's answer, so task-level names only fill names still free.
  for (const s of services) {
    const running = s.tasks.filter((t) => t.running).map((t) => t.ip);
    const dnsrr = s.endpointMode === 'dnsrr';
    const serviceIps = dnsrr ? running : s.vip === null ? [] : [s.vip];
    const short = shortName(s);
    for (const n of [s.name, short, ...s.aliases]) if (n !== null) add(n, serviceIps, dnsrr);
    // tasks.* answers rotate too, so clients that take the first address spread over the tasks.
    for (const n of [s.name, short]) if (n !== null) add(`tasks.${n}`, running, true);
  }
  const serviceLevel = new Set(names.keys());
  for (const s of services) {
    for (const t of s.tasks) {
      if (!t.running) continue;
      for (const n of [t.name, t.hostname]) {
        if (n !== null && !serviceLevel.has(normalizeName(n))) add(n, [t.ip], false);
      }
    }
  }
  return { names, roundRobin };
}
