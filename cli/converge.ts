/**
 * Waits until services have converged (running == desired), showing
 * progress: rewritten in place on a terminal, one line per change otherwise.
 */
import type { Client } from './client';
import type { ServiceView, TaskView } from '../shared/api-types';

export interface WaitOptions {
  services: string[];
  stack: string | null;
  timeoutMs: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitConverged(client: Client, opts: WaitOptions): Promise<boolean> {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let lastText = '';
  let drawn = 0;
  for (;;) {
    const all = await client.get<ServiceView[]>(opts.stack ? `/v1/services?stack=${encodeURIComponent(opts.stack)}` : '/v1/services');
    const mine = all.filter((s) => opts.services.includes(s.name));
    const done = mine.length === opts.services.length && mine.every((s) => s.running === s.desired);
    let errors: string[] = [];
    if (!done && Date.now() - started > 3000) {
      const tasks = await client.get<TaskView[]>('/v1/tasks');
      errors = latestErrors(tasks, mine.filter((s) => s.running !== s.desired).map((s) => s.name));
    }
    const lines = mine.map((s) => `${s.name}: ${s.running}/${s.desired}${s.running === s.desired ? ' converged' : ''}`);
    lines.push(...errors);
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
