import { InvalidArgumentError } from '../shared/errors';

/**
 * One line from stdin. On a terminal it is asked for with `prompt` and, when
 * `secret`, not echoed (raw mode; Ctrl-C cancels); elsewhere (a pipe,
 * `--password-stdin`) it is read as it comes.
 */
export async function readLine(prompt: string, options: { secret: boolean }): Promise<string> {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true && options.secret;
  if (stdin.isTTY) process.stderr.write(prompt);
  if (raw) stdin.setRawMode(true);
  let text = '';
  try {
    for await (const chunk of stdin) {
      const s = (chunk as Buffer).toString('utf8');
      if (raw && s.includes('\u0003')) throw new InvalidArgumentError('cancelled');
      text += s;
      if (/[\r\n]/.test(text)) break;
    }
  } finally {
    if (raw) {
      stdin.setRawMode(false);
      process.stderr.write('\n');
    }
    stdin.pause();
  }
  return text.split(/[\r\n]/)[0]!;
}
