/** `task pause|unpause TASK...`: freeze or thaw one task's container, wherever it runs. */
import { InvalidArgumentError } from '../../shared/errors';
import type { CommandContext } from '../context';

export async function task(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.args.positionals;
  if ((sub !== 'pause' && sub !== 'unpause') || rest.length === 0) throw new InvalidArgumentError('usage: tsswarm task pause TASK... | task unpause TASK...');
  for (const ref of rest) {
    const r = await ctx.client.post<{ task: string }>(`/v1/tasks/${encodeURIComponent(ref)}/pause`, { paused: sub === 'pause' });
    process.stdout.write(`${r.task.slice(0, 12)} ${sub === 'pause' ? 'paused' : 'unpaused'}\n`);
  }
}
