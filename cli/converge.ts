/**
 * Waits until services have converged: as many tasks running as desired, all of them made from
 * the current spec, and no rolling update under way. Shows progress: one line per service, and for
 * a single service one line per slot (as `docker service update` does), rewritten in place on a
 * terminal, one line per change otherwise. An update that pauses, or rolls back when the command
 * asked for an update, ends the wait with the update's message.
 */
import type { Client } from './client';
import type { ServiceView, TaskView } from '../shared/api-types';
import { InvalidArgumentError } from '../shared/errors';
import { updateActive } from '../shared/service-versions';

export interface WaitOptions {
  services: string[];
  stack: string | null;
  timeoutMs: number | null;
  /** `update`: a rollback that the updater started (after a failure) is an error. */
  expect?: 'update' | 'rollback' | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every slot runs the current spec, or ended for good under its restart policy. */
function converged(s: ServiceView): boolean {
  const ended = s.ended ?? 0;
  return s.running + ended === s.desired && s.upToDate + ended === s.desired && !updateActive(s.update);
}

/**
 * The update ended where the command did not ask it to: the message to fail with, or null. A
 * paused update fails at once; an update rolled back after a failure fails once the rollback is done.
 */
function stopped(s: ServiceView, expect: WaitOptions['expect'], why: Map<string, string>): string | null {
  const u = s.update;
  if (u === null) return null;
  // Why a rollback started (the updater's message then), kept for when it is done.
  if (u.state === 'rollback_started') why.set(s.name, u.message);
  if (u.state === 'paused' || u.state === 'rollback_paused') return `service ${s.name}: ${u.message}`;
  if (expect === 'update' && u.state.startsWith('rollback') && converged(s)) return `service ${s.name}: ${why.get(s.name) ?? u.message}`;
  return null;
}

function serviceLine(s: ServiceView): string {
  const update = s.update !== null && updateActive(s.update) ? `, ${s.upToDate}/${s.desired} updated (${s.update.state.replace('_', ' ')})` : '';
  const waiting = s.waitingFor ? ` (${s.waitingFor})` : '';
  const ended = s.ended ? ` (${s.ended} ended, not restarted)` : '';
  return `${s.name}: ${s.running}/${s.desired}${ended}${update}${waiting}${converged(s) ? ' converged' : ''}`;
}

/** One line per slot (or node): the newest task there and whether it runs the current spec. */
function slotLines(tasks: TaskView[]): string[] {
  const newest = new Map<string, TaskView>();
  for (const t of tasks) {
    if (t.desiredState !== 'running') continue;
    const key = String(t.slot ?? t.node ?? t.id);
    const have = newest.get(key);
    if (!have || t.createdAt > have.createdAt) newest.set(key, t);
  }
  return [...newest.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([key, t]) => `  ${key}: ${t.state}${t.health ? ` (${t.health})` : ''}${t.current ? '' : ' (old spec)'}${t.error ? `: ${t.error}` : ''}`);
}

export async function waitConverged(client: Client, opts: WaitOptions): Promise<boolean> {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let lastText = '';
  let drawn = 0;
  const why = new Map<string, string>();
  for (;;) {
    const all = await client.get<ServiceView[]>(opts.stack ? `/v1/services?stack=${encodeURIComponent(opts.stack)}` : '/v1/services');
    const mine = all.filter((s) => opts.services.includes(s.name));
    const done = mine.length === opts.services.length && mine.every(converged);
    const lines = mine.map(serviceLine);
    if (mine.length === 1 && !done) lines.push(...slotLines(await client.get<TaskView[]>(`/v1/services/${encodeURIComponent(mine[0]!.id)}/tasks`)));
    else if (!done && Date.now() - started > 3000) {
      const tasks = await client.get<TaskView[]>('/v1/tasks');
      lines.push(...latestErrors(tasks, mine.filter((s) => !converged(s)).map((s) => s.name)));
    }
    const text = lines.join('\n');
    if (text !== lastText) {
      if (tty) {
        if (drawn) process.stderr.write(`\x1b[${drawn}A\x1b[J`);
        process.stderr.write(`${text}\n`);
        drawn = lines.length;
      } else {
        process.stderr.write(`${lines.join(', ')}\n`);
      }
      lastText = text;
    }
    for (const s of mine) {
      const stop = stopped(s, opts.expect ?? null, why);
      if (stop !== null) throw new InvalidArgumentError(stop);
    }
    if (done) return true;
    if (opts.timeoutMs !== null && Date.now() - started > opts.timeoutMs) return false;
    await sleep(50);
  }
}

function latestErrors(tasks: TaskView[], services: string[]): string[] {
  const out: string[] = [];
  for (const s of services) {
    const failed = tasks.filter((t) => t.service === s && t.error).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
    if (failed) out.push(`  ${failed.name}: ${failed.state}: ${failed.error}`);
  }
  return out;
}

/** Waits until no task of the given services is left (after a stack rm). */
export async function waitGone(client: Client, services: string[], timeoutMs: number | null): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    const tasks = await client.get<TaskView[]>('/v1/tasks');
    if (!tasks.some((t) => services.includes(t.service))) return true;
    if (timeoutMs !== null && Date.now() - started > timeoutMs) return false;
    await sleep(50);
  }
}
