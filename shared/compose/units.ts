/**
 * Parsers for the unit-carrying values of a stack file. Each returns null for
 * input it does not accept; the caller knows the key path and line and words
 * the error.
 */

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Memory sizes as docker reads them: `512M`, `1g`, `1.5GB`, `64MiB`,
 * `1024k`, `100b`, or a plain number of bytes. Units are binary (k = 1024),
 * whatever the spelling, because that is what docker does.
 */
export function parseBytes(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = /^(\d+(?:\.\d+)?) ?(?:([kmgtp])i?)?b?$/i.exec(value.trim());
  if (!m) return null;
  const unit = BYTE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign, as Go accepts
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Go-style durations (compose uses Go's parser): `10s`, `1m30s`, `500ms`,
 * `1.5h`, or a bare `0`. A unit is required otherwise, so `10` is refused
 * rather than guessed to be seconds. Returns whole milliseconds.
 */
export function parseDurationMs(value: string): number | null {
  const s = value.trim();
  if (s === '0') return 0;
  if (s === '') return null;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) return null;
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? ''] ?? NaN);
    pos = part.lastIndex;
  }
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** `cpus: 0.5` or `cpus: '1.5'` → NanoCPUs; must be more than zero. */
export function parseNanoCpus(value: string | number): number | null {
  let cpus: number;
  if (typeof value === 'number') cpus = value;
  else if (/^(\d+(?:\.\d*)?|\.\d+)$/.test(value.trim())) cpus = Number(value.trim());
  else return null;
  if (!Number.isFinite(cpus) || cpus <= 0) return null;
  const nanos = Math.round(cpus * 1e9);
  return nanos > 0 && Number.isSafeInteger(nanos) ? nanos : null;
}

/**
 * An integer given as a YAML number or as a string of digits: a value like
 * `replicas: ${REPLICAS:-3}` is a string after interpolation, and compose
 * accepts it, so we do too.
 */
export function parseInteger(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  const s = value.trim();
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}
