import type { TaskView } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { flagList } from '../../shared/flags';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';
import { shortDigestRef } from '../../shared/image-ref';

const FILTERS = ['desired-state', 'node', 'name', 'id'];

/** `--filter K=V` (Docker's: desired-state, node, name, id), each key matching any of its values. */
function filtered(ctx: CommandContext, tasks: TaskView[]): TaskView[] {
  const want = new Map<string, string[]>();
  for (const f of flagList(ctx.args, 'filter')) {
    const eq = f.indexOf('=');
    const k = eq < 0 ? f : f.slice(0, eq);
    if (eq < 0 || !FILTERS.includes(k)) throw new InvalidArgumentError(`invalid filter ${JSON.stringify(f)}: use ${FILTERS.map((x) => `${x}=...`).join(', ')}`);
    want.set(k, [...(want.get(k) ?? []), f.slice(eq + 1)]);
  }
  const ok = (k: string, ...values: (string | null)[]) => !want.has(k) || want.get(k)!.some((v) => values.includes(v));
  return tasks.filter((t) => ok('desired-state', t.desiredState) && ok('node', t.node, t.nodeId) && ok('name', t.name) && (!want.has('id') || want.get('id')!.some((v) => t.id.startsWith(v))));
}

/**
 * `service ps` / `stack ps`: every task, the history of each slot under its newest task (as
 * Docker shows it, `\_` before the older ones), or what `--filter` keeps. Field names of the JSON
 * form are part of the CLI contract.
 */
export function printTasks(ctx: CommandContext, tasks: TaskView[]): void {
  const shown = filtered(ctx, tasks);
  if (ctx.json) {
    printJson(shown.map((t) => ({
      id: t.id, name: t.name, service: t.service, slot: t.slot, node: t.node, nodeId: t.nodeId, desiredState: t.desiredState, state: t.state, error: t.error, pid: t.pid,
      message: t.message, exitCode: t.exitCode, health: t.health, current: t.current, specVersion: t.specVersion, image: t.image, createdAt: t.createdAt, updatedAt: t.updatedAt,
    })));
    return;
  }
  const full = ctx.args.flags.get('no-trunc') === true;
  let previous = '';
  printTable(
    ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'],
    shown.map((t) => {
      // Tasks come newest first within a slot: the first of a slot is its own line, the rest its history.
      const history = t.name === previous;
      previous = t.name;
      const state = `${t.state}${t.health ? ` (${t.health})` : ''} ${ago(t.updatedAt)}`;
      const error = t.error === null ? '' : full || t.error.length <= 60 ? JSON.stringify(t.error) : `${JSON.stringify(t.error.slice(0, 57))}…`;
      return [full ? t.id : t.id.slice(0, 12), history ? ` \\_ ${t.name}` : t.name, full ? t.image : shortDigestRef(t.image), t.node, t.desiredState, state, error];
    }),
  );
}

function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}
