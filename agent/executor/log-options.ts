/**
 * A task's `logging` (TaskSpec.logDriver) as the runtime takes it (ContainerLog), by the rules of
 * Docker's drivers:
 *
 * - json-file (and no `logging` at all): a plain file, rotated only when `max-size` is given;
 *   `max-file` then defaults to 1 (the one file starts again when it is full).
 * - local: always rotated, 20 MiB and 5 files unless its options say otherwise (moby's
 *   daemon/logger/local defaults). Its files are plain bytes here, not Docker's protobuf frames,
 *   and `compress` is not honoured.
 * - none: nothing is kept.
 * - any other driver: the plain file, as without `logging` (compose warns when it loads such a stack).
 */
import type { LogDriver } from '../../shared/types';
import type { ContainerLog } from '../runtime/types';
import { TaskError } from './errors';

/** A `logging` option the driver cannot take; the message is Docker's where Docker has one. */
export class InvalidLogOptionError extends TaskError {
  override readonly code = 'INVALID_LOG_OPTION';
}

/** Docker's local driver when its options say nothing. */
export const LOCAL_DEFAULT_MAX_BYTES = 20 * 1024 * 1024;
export const LOCAL_DEFAULT_MAX_FILES = 5;

const DECIMAL: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/**
 * A log size as Docker's log drivers read it (go-units FromHumanSize): `10m`, `1g`, `500k`, `1.5MB`,
 * `64MiB` or plain bytes, in decimal units whatever the spelling (k = 1000). Memory sizes, read
 * with RAMInBytes, are binary: a different function (shared/compose/units.ts parseBytes) on purpose.
 */
export function parseLogSize(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?) ?(?:([kmgtp])i?)?b?$/i.exec(value.trim());
  if (m === null) return null;
  const bytes = Math.floor(Number(m[1]) * (DECIMAL[(m[2] ?? '').toLowerCase()] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : null;
}

function maxSize(driver: LogDriver): number | null {
  const v = driver.options['max-size'];
  if (v === undefined) return null;
  const bytes = parseLogSize(v);
  if (bytes === null) throw new InvalidLogOptionError(`invalid value for max-size: ${v}`);
  if (bytes <= 0) throw new InvalidLogOptionError('max-size must be a positive number');
  return bytes;
}

function maxFile(driver: LogDriver): number | null {
  const v = driver.options['max-file'];
  if (v === undefined) return null;
  if (!/^\s*\+?\d+\s*$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidLogOptionError(`invalid value for max-file: ${v}`);
  const n = Number(v);
  if (n < 1) throw new InvalidLogOptionError('max-file cannot be less than 1');
  return n;
}

/**
 * The task's log as the runtime writes it: framed (stdout and stderr apart, a time per line, for
 * `service logs`: agent/logs/) whatever the driver, but `none`.
 */
export function containerLog(driver: LogDriver | null): ContainerLog {
  if (driver === null) return { kind: 'file', framed: true };
  switch (driver.name) {
    case 'none':
      return { kind: 'none' };
    case 'json-file': {
      const bytes = maxSize(driver);
      const files = maxFile(driver);
      return bytes === null ? { kind: 'file', framed: true } : { kind: 'rotate', maxBytes: bytes, maxFiles: files ?? 1, framed: true };
    }
    case 'local':
      return { kind: 'rotate', maxBytes: maxSize(driver) ?? LOCAL_DEFAULT_MAX_BYTES, maxFiles: maxFile(driver) ?? LOCAL_DEFAULT_MAX_FILES, framed: true };
    default:
      return { kind: 'file', framed: true };
  }
}
