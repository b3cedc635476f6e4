/** `--cert-expiry`: how long node certificates are valid (init, update, ca). */
import { InvalidArgumentError } from '../shared/errors';
import { flagString, type Parsed } from '../shared/flags';
import { parseDurationMs } from '../shared/compose/units';

import { MIN_CERT_EXPIRY_MS } from '../shared/pki/validity';

/** `--cert-expiry DURATION` (Go form: 2160h, 90m, 45s), or null when not given. */
export function certExpiryFlag(args: Parsed): number | null {
  const v = flagString(args, 'cert-expiry');
  if (v === null) return null;
  const ms = parseDurationMs(v);
  if (ms === null) throw new InvalidArgumentError(`--cert-expiry: invalid duration ${JSON.stringify(v)} (e.g. 2160h)`);
  if (ms < MIN_CERT_EXPIRY_MS) throw new InvalidArgumentError(`--cert-expiry must be at least ${MIN_CERT_EXPIRY_MS / 1000}s`);
  return ms;
}

/** A duration as --cert-expiry takes it, shortest form: 2160h, 90m, 45s. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
