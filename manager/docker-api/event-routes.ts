/**
 * `GET /events`: the cluster's events from the manager's EventLog (manager/api/events.ts, the
 * same buffer and followers as `tsswarm events`), as the swarm events dockerd makes from
 * SwarmKit's watch (moby daemon/events.go generateClusterEvent, api/types/events Message,
 * daemon/events/filter.go, the router's getEvents):
 *
 * - one JSON object per event: `Type`, `Action`, `Actor{ID, Attributes}`, `scope` ("swarm"),
 *   `time`, `timeNano`. The legacy `status`/`id`/`from` are dockerd's for container and image
 *   events only, which a swarm has none of, so they never appear.
 * - attributes as dockerd's: `name` always; on an update, `x.old`/`x.new` for what changed of a
 *   service's image, replicas and update state, and of a node's availability, role and state.
 *   tsswarm's EventLog records more (a service's spec version, a create's image): left out.
 * - task events are not sent. Docker has none (a client filtering `type=...` knows of service,
 *   node, network, secret, config, container, ...), and every task state change would flood
 *   `docker events` with a type no Docker tool reads. `tsswarm events` has them.
 * - `since` / `until`: Unix seconds with an optional fraction (`1700000000.123456789`); the CLI
 *   turns `10m` or an RFC 3339 time into that before it asks. With either, the buffered events
 *   in range go first; an `until` in the past ends the answer after them, one in the future
 *   when it comes; without `until` the stream follows until the client goes.
 * - `filters`: Docker's JSON; every key dockerd knows applies to every event, as in dockerd (a
 *   `service=web` filter keeps only events whose actor is named or id-prefixed `web`).
 */
import type * as http from 'node:http';
import type { ClusterEvent } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { parseFilters, type Filters } from './filters';
import { dockerHeaders, STREAMED } from './reply';
import type { DockerContext, DockerRoute } from './server';

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'swarm';
  time: number;
  /** Exact: a JavaScript number holds nanoseconds since the epoch only to a few hundred. */
  timeNano: bigint;
}

/** What dockerd reports of an update, per type: the attributes whose old and new values it names. */
const UPDATE_ATTRIBUTES: Record<string, readonly string[]> = {
  service: ['image', 'replicas', 'updatestate'],
  node: ['availability', 'role', 'state'],
};

/** dockerd names only the new update state when the service had none before, and nothing when it ends. */
function updateStateChange(out: Record<string, string>): void {
  if (out['updatestate.new'] === '') {
    delete out['updatestate.old'];
    delete out['updatestate.new'];
  } else if (out['updatestate.old'] === '') delete out['updatestate.old'];
}

/** A tsswarm event as Docker's, or null for one Docker has no kind of (tasks). */
export function dockerEvent(e: ClusterEvent): DockerEvent | null {
  if (e.type === 'task') return null;
  const attrs = e.actor.attributes;
  const out: Record<string, string> = { name: attrs.name ?? '' };
  if (e.action === 'update') {
    for (const k of UPDATE_ATTRIBUTES[e.type] ?? []) {
      if (attrs[`${k}.old`] === undefined && attrs[`${k}.new`] === undefined) continue;
      out[`${k}.old`] = attrs[`${k}.old`] ?? '';
      out[`${k}.new`] = attrs[`${k}.new`] ?? '';
    }
    if (e.type === 'service') updateStateChange(out);
  }
  const ms = Math.round(e.timeNano / 1e6);
  return { Type: e.type, Action: e.action, Actor: { ID: e.actor.id, Attributes: out }, scope: 'swarm', time: e.time, timeNano: BigInt(ms) * 1_000_000n };
}

/** One line of the answer: JSON, with `timeNano` written as the exact integer it is. */
export function encodeDockerEvent(ev: DockerEvent): string {
  const { timeNano, ...rest } = ev;
  return `${JSON.stringify(rest).slice(0, -1)},"timeNano":${timeNano.toString()}}\n`;
}

/**
 * dockerd's `since` / `until` (`seconds` or `seconds.nanoseconds`, the fraction padded or cut to
 * nine digits) in nanoseconds; null when absent.
 */
export function unixTimeParam(name: string, v: string | null): bigint | null {
  if (v === null || v === '') return null;
  const m = /^([+-]?\d+)(?:\.(\d{0,20}))?$/.exec(v);
  if (m === null) throw new InvalidArgumentError(`invalid value for '${name}': invalid timestamp ${JSON.stringify(v)}`);
  const nanos = (m[2] ?? '').slice(0, 9).padEnd(9, '0');
  return BigInt(m[1]!) * 1_000_000_000n + BigInt(nanos);
}

/** moby's Args.ExactMatch: no values for the key sets no condition. */
function exact(f: Filters, key: string, s: string): boolean {
  const v = f.get(key);
  return v === undefined || v.length === 0 || v.includes(s);
}

/** moby's Args.FuzzyMatch: exact, or a value that is a prefix. */
function fuzzy(f: Filters, key: string, s: string): boolean {
  return exact(f, key, s) || (f.get(key) ?? []).some((p) => s.startsWith(p));
}

/** moby's Args.MatchKVList over the attributes (`label=key` or `label=key=value`, all must hold). */
function kvList(f: Filters, key: string, attrs: Record<string, string>): boolean {
  const wanted = f.get(key) ?? [];
  if (wanted.length === 0) return true;
  if (Object.keys(attrs).length === 0) return false;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    const k = eq < 0 ? w : w.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(attrs, k)) return false;
    return eq < 0 || attrs[k] === w.slice(eq + 1);
  });
}

/** The object keys of dockerd's filter: each matches the actor's id or `name` as a prefix, on every event. */
const NAMED_KEYS = ['daemon', 'container', 'plugin', 'volume', 'network', 'image', 'node', 'service', 'secret', 'config'] as const;
/** Actions dockerd matches as prefixes when one of them is asked (`health_status: healthy` ...). */
const FUZZY_ACTIONS = ['health_status', 'exec_create', 'exec_start'];

/** moby's events Filter.Include. */
export function eventMatches(ev: DockerEvent, f: Filters): boolean {
  const actionMatch = (f.get('event') ?? []).some((v) => FUZZY_ACTIONS.includes(v)) ? fuzzy(f, 'event', ev.Action) : exact(f, 'event', ev.Action);
  if (!actionMatch || !exact(f, 'type', ev.Type) || !exact(f, 'scope', ev.scope)) return false;
  const name = ev.Actor.Attributes.name ?? '';
  for (const key of NAMED_KEYS) {
    // An image is matched exactly, by id or by a container's `image` attribute (no swarm event has one).
    const ok = key === 'image' ? exact(f, key, ev.Actor.ID) || exact(f, key, ev.Actor.Attributes.image ?? '') : fuzzy(f, key, ev.Actor.ID) || fuzzy(f, key, name);
    if (!ok) return false;
  }
  return kvList(f, 'label', ev.Actor.Attributes);
}

export interface EventQuery {
  since: bigint | null;
  until: bigint | null;
  filters: Filters;
}

export function eventQuery(q: URLSearchParams): EventQuery {
  const since = unixTimeParam('since', q.get('since'));
  const until = unixTimeParam('until', q.get('until'));
  if (since !== null && until !== null && until < since) throw new InvalidArgumentError(`\`since\` time (${q.get('since')}) cannot be after \`until\` time (${q.get('until')})`);
  return { since, until, filters: parseFilters(q.get('filters')) };
}

/** Until the client goes, or `ms` have passed (null: no end of its own). */
function untilGone(req: http.IncomingMessage, res: http.ServerResponse, ms: number | null): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = ms === null ? null : setTimeout(done, ms + 1);
    function done() {
      if (timer !== null) clearTimeout(timer);
      req.off('close', done);
      res.off('close', done);
      resolve();
    }
    req.on('close', done);
    res.on('close', done);
  });
}

async function serve(ctx: DockerContext, req: http.IncomingMessage, res: http.ServerResponse, q: URLSearchParams): Promise<typeof STREAMED> {
  const { since, until, filters } = eventQuery(q);
  const inRange = (ev: DockerEvent) => (since === null || ev.timeNano >= since) && (until === null || ev.timeNano <= until);
  const wanted = (e: ClusterEvent): DockerEvent | null => {
    const ev = dockerEvent(e);
    return ev !== null && inRange(ev) && eventMatches(ev, filters) ? ev : null;
  };
  // API 1.41's type for the stream (not JSON, one object per line, as dockerd has always named it).
  res.writeHead(200, { ...dockerHeaders(), 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (e: ClusterEvent) => {
    const ev = wanted(e);
    if (ev !== null) res.write(encodeDockerEvent(ev));
  };
  // Follow first, so nothing falls between the buffer and the live events.
  const live: ClusterEvent[] = [];
  let replaying = true;
  const stop = ctx.events.follow((e) => (replaying ? live.push(e) : send(e)));
  try {
    // dockerd replays its buffer when either bound is given; only `until`: everything up to it.
    const past = since === null && until === null ? [] : ctx.events.since(since === null ? 0 : Number(since / 1_000_000n));
    const seen = new Set(past);
    for (const e of past) send(e);
    for (const e of live) if (!seen.has(e)) send(e);
    replaying = false;
    const wait = until === null ? null : Number(until / 1_000_000n) - Date.now();
    if (wait === null || wait >= 0) await untilGone(req, res, wait);
  } finally {
    stop();
  }
  res.end();
  return STREAMED;
}

export const dockerEventRoutes: DockerRoute[] = [{ method: 'GET', pattern: /^\/events$/, handler: (ctx, req, _p, q, res) => serve(ctx, req, res, q) }];
