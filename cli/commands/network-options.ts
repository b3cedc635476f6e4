/** `network create --opt KEY[=VALUE]` (also `-o`), read as Docker's overlay driver reads them. */
import { InvalidArgumentError } from '../../shared/errors';

export interface NetworkOptions {
  encrypted: boolean;
}

/**
 * `encrypted`, `encrypted=` or `encrypted=<anything>` turns encryption on: Docker checks only that
 * the key is there. Any other option is refused, so that a typo is not silently a plain network.
 */
export function parseNetworkOptions(opts: readonly string[]): NetworkOptions {
  let encrypted = false;
  for (const o of opts) {
    const eq = o.indexOf('=');
    const key = (eq < 0 ? o : o.slice(0, eq)).trim();
    if (key === '') throw new InvalidArgumentError(`invalid network option ${JSON.stringify(o)}: expected KEY or KEY=VALUE`);
    if (key !== 'encrypted') throw new InvalidArgumentError(`unsupported network option ${JSON.stringify(key)} (supported: encrypted)`);
    encrypted = true;
  }
  return { encrypted };
}
