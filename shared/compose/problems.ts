/**
 * Collects every problem found in a stack file so the user can fix them all
 * in one go, then turns them into a single ComposeError (one problem per line
 * of the message, in file order). Nothing is returned while any exist.
 */
import { ComposeError } from '../errors';

export interface Problem {
  /** Key path such as `services.web.deploy.replicas`, or '' for file-level problems. */
  path: string;
  message: string;
  line: number | null;
}

/** Enough to fix a file in a few rounds without flooding a terminal. */
const MAX_REPORTED = 20;

export class Problems {
  readonly list: Problem[] = [];

  add(path: string, message: string, line: number | null): void {
    this.list.push({ path, message, line });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  toError(file: string | null): ComposeError {
    const sorted = [...this.list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const lines = sorted.slice(0, MAX_REPORTED).map(formatProblem);
    if (sorted.length > MAX_REPORTED) lines.push(`... and ${sorted.length - MAX_REPORTED} more problems`);
    return new ComposeError(lines.join('\n'), file, sorted[0]?.line ?? null);
  }
}

export function formatProblem(p: Problem): string {
  const head = p.path === '' ? p.message : `${p.path}: ${p.message}`;
  return p.line === null ? head : `${head} (line ${p.line})`;
}
