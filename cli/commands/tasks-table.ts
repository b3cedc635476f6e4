import type { TaskView } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';

/** `service ps` / `stack ps`: field names of the JSON form are part of the CLI contract. */
export function printTasks(ctx: CommandContext, tasks: TaskView[]): void {
  const all = ctx.args.flags.get('all') === true;
  const shown = tasks.filter((t) => all || t.desiredState === 'running' || !['complete', 'shutdown', 'failed', 'rejected', 'orphaned'].includes(t.state));
  if (ctx.json) {
    printJson(shown.map((t) => ({ id: t.id, name: t.name, service: t.service, slot: t.slot, node: t.node, nodeId: t.nodeId, desiredState: t.desiredState, state: t.state, error: t.error, pid: t.pid, message: t.message, exitCode: t.exitCode })));
    return;
  }
  printTable(
    ['ID', 'NAME', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'PID', 'ERROR'],
    shown.map((t) => [t.id.slice(0, 12), t.name, t.node, t.desiredState, `${t.state} ${ago(t.updatedAt)}`, t.pid, t.error]),
  );
}

function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}
