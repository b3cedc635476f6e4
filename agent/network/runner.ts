/**
 * Group commit for `ip -batch` / `bridge -batch`: a spawn costs ~2 ms, the kernel work of a line
 * ~50 µs, so commands asked for while a batch runs (or in the same tick) go into the next one.
 * One process at a time per tool; with `-force` a failing line does not stop the others, and the
 * tool's "Command failed -:N" lines tell which caller's lines failed.
 */
import { NetworkCommandError, type FailedCommand } from './errors';
import type { NetSys } from './sys';

interface Pending {
  lines: string[];
  tolerate: RegExp | null;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class BatchRunner {
  private queue: Pending[] = [];
  private running = false;
  /** Processes spawned so far (what the benchmark reports). */
  spawns = 0;

  /** `argv` runs with the batch on stdin, e.g. ['ip', '-force', '-batch', '-']. */
  constructor(
    private readonly sys: NetSys,
    private readonly argv: readonly string[],
  ) {}

  /**
   * Runs `lines` in the next batch; rejects with NetworkCommandError listing this call's failed
   * lines, except those whose message matches `tolerate` (e.g. deleting what is already gone).
   */
  run(lines: readonly string[], tolerate: RegExp | null = null): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    for (const l of lines) if (l.includes('\n')) throw new Error(`batch line with a newline: ${JSON.stringify(l)}`);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ lines: [...lines], tolerate, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const text = `${batch.flatMap((p) => p.lines).join('\n')}\n`;
      this.spawns++;
      let result;
      try {
        result = await this.sys.exec(this.argv, text);
      } catch (e) {
        for (const p of batch) p.reject(new NetworkCommandError(this.argv[0] ?? '?', [{ command: this.argv.join(' '), message: String(e) }], { cause: e }));
        continue;
      }
      const failures = parseBatchFailures(result.stderr);
      let lineNo = 1;
      for (const p of batch) {
        const failed: FailedCommand[] = [];
        for (const command of p.lines) {
          const message = failures.get(lineNo++);
          if (message !== undefined && !(p.tolerate?.test(message) ?? false)) failed.push({ command, message });
        }
        if (failed.length === 0 && result.code !== 0 && failures.size === 0) {
          // Failed without naming a line (bad option, crash): nobody's lines can be trusted.
          failed.push({ command: this.argv.join(' '), message: `exit ${result.code}: ${result.stderr.trim()}` });
        }
        if (failed.length > 0) p.reject(new NetworkCommandError(this.argv[0] ?? '?', failed));
        else p.resolve();
      }
    }
    this.running = false;
  }
}

/** Line number (1-based) → the tool's message for it, from `-force -batch` stderr. */
export function parseBatchFailures(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)$/.exec(line.trim());
    if (m !== null) {
      out.set(Number(m[1]), pending.join('; ') || 'failed');
      pending = [];
    } else if (line.trim() !== '') {
      pending.push(line.trim());
    }
  }
  return out;
}
