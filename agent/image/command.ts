/** Runs a system command (tar, mknod, setfattr) and turns a failure into one readable line. */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    message: string,
  ) {
    super(message);
  }
}

/** `stdin`: a stream the command reads (else none); see unpack.ts for one that outlives the reader. */
export function runCommand(command: string, args: readonly string[], signal?: AbortSignal, stdin?: (w: Writable) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'], signal });
    if (stdin && child.stdin) stdin(child.stdin);
    const err: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new CommandError(command, null, '', `${command} not found: run scripts/setup.sh to install it`));
      } else {
        reject(e);
      }
    });
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const stderr = Buffer.concat(err).toString();
      const first = stderr.split('\n').find((l) => l.trim() !== '') ?? `exited with ${code}`;
      reject(new CommandError(command, code, stderr, `${command}: ${first.replace(new RegExp(`^${command}: `), '')}`));
    });
  });
}
