/**
 * Times of log lines: UTC RFC 3339 with exactly nine fraction digits
 * (`2026-12-03T08:03:40.123456789Z`), as the shim writes them (native/src/log-relay.h). Fixed width
 * and UTC, so two such times compare as strings: the agent filters by them and the manager merges by
 * them without parsing a line.
 */

const NANO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

export function isNanoTime(s: string): boolean {
  return NANO_TIME.test(s);
}

/** A Date (millisecond precision) in the log lines' form. */
export function nanoTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Any RFC 3339 time (with an offset, 0 to 9 fraction digits) in the log lines' form; null when it is not one. */
export function toNanoTime(s: string): string | null {
  const m = /^((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2}))(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(s.trim());
  if (m === null) return null;
  // A date that does not exist (February 30, hour 24) is refused, not rolled over as Date would.
  const [y, mo, d, h, mi, sec] = m.slice(2, 8).map(Number) as [number, number, number, number, number, number];
  const exact = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  if (exact.getUTCFullYear() !== y || exact.getUTCMonth() !== mo - 1 || exact.getUTCDate() !== d || exact.getUTCHours() !== h || exact.getUTCMinutes() !== mi || exact.getUTCSeconds() !== sec) return null;
  const base = new Date(`${m[1]}${m[9]!.toUpperCase()}`);
  if (Number.isNaN(base.getTime())) return null;
  return `${base.toISOString().slice(0, 19)}.${(m[8] ?? '').padEnd(9, '0')}Z`;
}

const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `--since` / `--until` as Docker takes them: an RFC 3339 time (or a date `2026-12-03`), a Unix
 * time in seconds (`1764748800`, `1764748800.5`), or a Go duration back from now (`10m`, `1h30m`,
 * `90s`). The log lines' form, or null when it is none of these.
 */
export function parseLogTime(value: string, now: Date = new Date()): string | null {
  const v = value.trim();
  if (v === '') return null;
  const exact = toNanoTime(v) ?? (/^\d{4}-\d{2}-\d{2}$/.test(v) ? toNanoTime(`${v}T00:00:00Z`) : null);
  if (exact !== null) return exact;
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (unix !== null) {
    const d = new Date(Number(unix[1]) * 1000);
    if (Number.isNaN(d.getTime())) return null;
    return `${d.toISOString().slice(0, 19)}.${(unix[2] ?? '').padEnd(9, '0')}Z`;
  }
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return null;
  let ms = 0;
  for (const part of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(part[1]) * UNITS[part[2]!]!;
  const d = new Date(now.getTime() - ms);
  return Number.isNaN(d.getTime()) ? null : nanoTime(d);
}
