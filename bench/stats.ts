/** The statistics the benchmarks report. */

/** The median; with an even count, the mean of the two middle values. NaN for none. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The value at rank floor(q × n) of the sorted samples (q = 0.5: the upper middle one). NaN for none. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

/** The upper middle sample (quantile 0.5): what the container-start and overlay rows have always reported. */
export const upperMedian = (xs: number[]): number => quantile(xs, 0.5);
