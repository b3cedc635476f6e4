/**
 * Autolock: `tsswarm unlock` gives a restarted manager the unlock key (read
 * from stdin, not echoed on a terminal); `tsswarm unlock-key [--rotate] [-q]`
 * shows it, or replaces it.
 */
import { InvalidArgumentError } from '../../shared/errors';
import type { CommandContext } from '../context';

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

/** One line from stdin; on a terminal, prompted and not echoed. */
async function readKey(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Enter unlock key: ');
    stdin.setRawMode(true);
  }
  let text = '';
  for await (const chunk of stdin) {
    const s = (chunk as Buffer).toString('utf8');
    if (stdin.isTTY && s.includes('\u0003')) {
      stdin.setRawMode(false);
      throw new InvalidArgumentError('cancelled');
    }
    text += s;
    if (/[\r\n]/.test(text)) break;
  }
  if (stdin.isTTY) {
    stdin.setRawMode(false);
    process.stderr.write('\n');
  }
  stdin.pause();
  return text.split(/[\r\n]/)[0]!.trim();
}

export async function unlock(ctx: CommandContext): Promise<void> {
  const key = await readKey();
  if (!key) throw new InvalidArgumentError('no unlock key given (tsswarm unlock-key on an unlocked manager shows it)');
  await ctx.client.post('/v1/unlock', { key });
}

export function printUnlockKeyAtInit(key: string): void {
  process.stdout.write(`\n${unlockKeyText(key)}`);
}
