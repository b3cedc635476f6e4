/** `task inspect|pause|unpause TASK...`: one task as stored, or freeze or thaw its container, wherever it runs. */
import { InvalidArgumentError } from '../../shared/errors';
import type { CommandContext } from '../context';
import { printJson } from '../table';

export async function task(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.args.positionals;
  if (sub === 'inspect' && rest.length > 0) {
    const out: unknown[] = [];
    for (const ref of rest) out.push(await ctx.client.get(`/v1/tasks/${encodeURIComponent(ref)}`));
    return printJson(out);
  }
  if ((sub !== 'pause' && sub !== 'unpause') || rest.length === 0) throw new InvalidArgumentError('usage: tsswarm task inspect TASK... | task pause TASK... | task unpause TASK...');
  for (const ref of rest) {
    const r = await ctx.client.post<{ task: string }>(`/v1/tasks/${encodeURIComponent(ref)}/pause`, { paused: sub === 'pause' });
    process.stdout.write(`${r.task.slice(0, 12)} ${sub === 'pause' ? 'paused' : 'unpaused'}\n`);
  }
}
