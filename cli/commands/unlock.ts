/**
 * Autolock: `tsswarm unlock` gives a restarted manager the unlock key (read
 * from stdin, not echoed on a terminal); `tsswarm unlock-key [--rotate] [-q]`
 * shows it, or replaces it.
 */
import { InvalidArgumentError } from '../../shared/errors';
import type { CommandContext } from '../context';
import { readLine } from '../prompt';

function unlockKeyText(key: string): string {
  return `To unlock a swarm manager after it restarts, run the \`tsswarm unlock\`\ncommand and provide the following key:\n\n    ${key}\n\nRemember to store this key in a password manager: without it a restarted\nmanager cannot serve.\n`;
}

export async function showUnlockKey(ctx: CommandContext, key?: string): Promise<void> {
  const quiet = ctx.args.flags.get('quiet') === true || ctx.args.flags.get('q') === true;
  const rotate = ctx.args.flags.get('rotate') === true;
  const k = key ?? (rotate
    ? (await ctx.client.post<{ unlockKey: string }>('/v1/unlock-key/rotate', {})).unlockKey
    : (await ctx.client.get<{ unlockKey: string }>('/v1/unlock-key')).unlockKey);
  if (quiet) process.stdout.write(`${k}\n`);
  else process.stdout.write(`${rotate ? 'Successfully rotated manager unlock key.\n\n' : ''}${unlockKeyText(k)}`);
}

export async function unlock(ctx: CommandContext): Promise<void> {
  const key = (await readLine('Enter unlock key: ', { secret: true })).trim();
  if (!key) throw new InvalidArgumentError('no unlock key given (tsswarm unlock-key on an unlocked manager shows it)');
  await ctx.client.post('/v1/unlock', { key });
}

export function printUnlockKeyAtInit(key: string): void {
  process.stdout.write(`\n${unlockKeyText(key)}`);
}
