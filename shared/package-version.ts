/** tsswarm's version, from its package.json (what `docker version` shows as the engine's). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let cached: string | null = null;

export function packageVersion(): string {
  if (cached === null) {
    try {
      // dist/shared/ → the package root, as from shared/ in the source tree.
      const dir = __dirname.includes(`${'/dist/'}`) ? join(__dirname, '..', '..') : join(__dirname, '..');
      cached = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
