/**
 * `tsswarm events`: what changed in the cluster, as Docker's events (type, action, actor id and
 * attributes, time), made from the manager's watch-fed view of the store, not by polling. Each
 * manager keeps the last EVENT_BUFFER events it saw (for `--since`), and streams new ones to every
 * follower. An object is remembered by a small projection of itself, so an update says what moved
 * (`state.old` → `state.new`).
 */
import type { ClusterNode, Network, Service, StoredBlob, Task } from '../../shared/types';
import type { ClusterEvent, EventType } from '../../shared/api-types';
import { Keys } from '../../shared/keys';
import type { StoreView } from '../store/view';

export const EVENT_BUFFER = 10_000;

type Attrs = Record<string, string>;

interface Watched {
  type: EventType;
  prefix: string;
  /** Attributes every event of the object carries, changed or not (`name`; a task's service). */
  identity?: string[];
  /** What an event of this object names: its attributes (`name`, `state`, ...). */
  project: (v: unknown) => Attrs;
}

const WATCHED: Watched[] = [
  {
    type: 'service',
    prefix: Keys.services,
    project: (v) => {
      const s = v as Service;
      return { name: s.spec.name, image: s.spec.task.container.image, ...(s.spec.mode === 'replicated' ? { replicas: String(s.spec.replicas) } : {}), version: String(s.specVersion), updatestate: s.updateStatus?.state ?? '' };
    },
  },
  {
    type: 'task',
    prefix: Keys.tasks,
    identity: ['name', 'service'],
    project: (v) => {
      const t = v as Task;
      return { name: `${t.serviceName}.${t.slot ?? t.nodeId ?? ''}`, service: t.serviceName, node: t.nodeId ?? '', state: t.status.state, desiredstate: t.desiredState, health: t.status.health ?? '' };
    },
  },
  {
    type: 'node',
    prefix: Keys.nodes,
    project: (v) => {
      const n = v as ClusterNode;
      return { name: n.hostname, state: n.status.state, availability: n.availability, role: n.role };
    },
  },
  { type: 'network', prefix: Keys.networks, project: (v) => ({ name: (v as Network).spec.name }) },
  { type: 'secret', prefix: Keys.secrets, project: (v) => ({ name: (v as StoredBlob).spec.name }) },
  { type: 'config', prefix: Keys.configs, project: (v) => ({ name: (v as StoredBlob).spec.name }) },
];

/** Docker's update attributes: `x.old` / `x.new` for each attribute that changed, the identity kept. */
function changes(before: Attrs, after: Attrs, identity: string[]): Attrs | null {
  const out: Attrs = Object.fromEntries(identity.map((k) => [k, after[k] ?? '']));
  let any = false;
  for (const k of Object.keys(after)) {
    if (identity.includes(k) || before[k] === after[k]) continue;
    out[`${k}.old`] = before[k] ?? '';
    out[`${k}.new`] = after[k] ?? '';
    any = true;
  }
  return any ? out : null;
}

export type EventListener = (e: ClusterEvent) => void;

export class EventLog {
  private readonly known = new Map<string, Attrs>();
  private readonly buffer: ClusterEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly view: StoreView, private readonly now: () => number = Date.now) {}

  /** Remembers what the view holds now (no events for it) and follows its changes. */
  start(): void {
    for (const w of WATCHED) for (const v of this.view.list(w.prefix)) this.known.set(v.key, w.project(v.value));
    this.unsubscribe = this.view.subscribe(WATCHED.map((w) => w.prefix), (key) => this.changed(key));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.listeners.clear();
  }

  /** Events at or after `sinceMs` still in the buffer. */
  since(sinceMs: number): ClusterEvent[] {
    return this.buffer.filter((e) => e.timeNano / 1e6 >= sinceMs);
  }

  follow(l: EventListener): () => void {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  private changed(key: string): void {
    const w = WATCHED.find((x) => key.startsWith(x.prefix));
    if (w === undefined) return;
    if (key === w.prefix) {
      // The prefix was listed again (after a compaction): take the new list as it is.
      for (const k of [...this.known.keys()]) if (k.startsWith(w.prefix)) this.known.delete(k);
      for (const v of this.view.list(w.prefix)) this.known.set(v.key, w.project(v.value));
      return;
    }
    const cur = this.view.get(key);
    const before = this.known.get(key);
    const id = key.slice(w.prefix.length);
    if (cur === null) {
      if (before === undefined) return;
      this.known.delete(key);
      this.emit(w.type, 'remove', id, Object.fromEntries((w.identity ?? ['name']).map((k) => [k, before[k] ?? ''])));
      return;
    }
    const after = w.project(cur.value);
    this.known.set(key, after);
    if (before === undefined) {
      this.emit(w.type, 'create', id, after);
      return;
    }
    const diff = changes(before, after, w.identity ?? ['name']);
    if (diff !== null) this.emit(w.type, 'update', id, diff);
  }

  private emit(type: EventType, action: ClusterEvent['action'], id: string, attributes: Attrs): void {
    const ms = this.now();
    const e: ClusterEvent = { type, action, actor: { id, attributes }, scope: 'swarm', time: Math.floor(ms / 1000), timeNano: ms * 1e6 };
    this.buffer.push(e);
    if (this.buffer.length > EVENT_BUFFER) this.buffer.splice(0, this.buffer.length - EVENT_BUFFER);
    for (const l of [...this.listeners]) l(e);
  }
}

export interface EventFilter {
  types: Set<string>;
  /** name=, id=, service=, node= ... : an attribute (or the id) equal to one of the values. */
  attrs: Map<string, string[]>;
}

export const EVENT_TYPES: readonly EventType[] = ['service', 'task', 'node', 'network', 'secret', 'config'];
const FILTER_KEYS = ['type', 'id', 'name', 'service', 'node', 'event'];

/** `--filter type=service --filter name=web ...` as Docker reads them; a bad one is an error. */
export function parseEventFilters(filters: string[]): EventFilter | string {
  const out: EventFilter = { types: new Set(), attrs: new Map() };
  for (const f of filters) {
    const eq = f.indexOf('=');
    const k = eq < 0 ? f : f.slice(0, eq);
    const v = f.slice(eq + 1);
    if (eq < 0 || !FILTER_KEYS.includes(k)) return `invalid filter ${JSON.stringify(f)}: use ${FILTER_KEYS.map((x) => `${x}=...`).join(', ')}`;
    if (k === 'type') {
      if (!(EVENT_TYPES as readonly string[]).includes(v)) return `invalid filter ${JSON.stringify(f)}: type is one of ${EVENT_TYPES.join(', ')}`;
      out.types.add(v);
    } else {
      out.attrs.set(k, [...(out.attrs.get(k) ?? []), v]);
    }
  }
  return out;
}

export function matches(e: ClusterEvent, f: EventFilter): boolean {
  if (f.types.size > 0 && !f.types.has(e.type)) return false;
  for (const [k, values] of f.attrs) {
    const have = k === 'id' ? e.actor.id : k === 'event' ? e.action : e.actor.attributes[k] ?? (k === 'name' ? '' : undefined);
    const prefixOk = k === 'id' && values.some((v) => e.actor.id.startsWith(v));
    if (!prefixOk && (have === undefined || !values.includes(have))) return false;
  }
  return true;
}
