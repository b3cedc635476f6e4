/**
 * GNU tar as a child process. System tar rather than the npm `tar` package: it
 * is on every host already (agents need it to unpack layers as root), it
 * reads gzip, pax and GNU long names without help, and the project declares
 * no JS tar dependency.
 */
import { spawn } from 'node:child_process';

export class TarFailedError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    // GNU tar's first complaint is the useful one ("This does not look like a tar archive").
    super(firstLine(stderr) ?? `tar exited with ${exitCode}`);
  }
}

function firstLine(s: string): string | null {
  const line = s.split('\n').find((l) => l.trim() !== '');
  return line === undefined ? null : line.replace(/^tar: /, '');
}

/** Runs `tar args...` and resolves with its stdout; rejects with TarFailedError on a non-zero exit. */
export function runTar(args: readonly string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new TarFailedError(args, Buffer.concat(err).toString(), code));
    });
  });
}

/** Member names of an archive (compression detected by tar), without a leading `./`. */
export async function listArchive(file: string): Promise<string[]> {
  const out = await runTar(['--list', '--file', file]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^(\.\/)+/, ''));
}

/**
 * Extracts an untrusted archive as plain files: no owners, no permissions from
 * the archive beyond the umask, members with `..` refused by GNU tar itself.
 */
export async function extractArchive(file: string, dir: string): Promise<void> {
  await runTar(['--extract', '--file', file, '--directory', dir, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir']);
}
