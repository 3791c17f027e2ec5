// @ts-check
// The summary statistics every section uses, defined once.

/**
 * The p-quantile of `xs`, 0 ≤ p ≤ 1, interpolated linearly between the two nearest
 * ranks (numpy's default, R's type 7): p = 0.5 is the median, p = 0 the minimum,
 * p = 1 the maximum. Refuses an empty list or a non-finite value rather than
 * returning NaN into a report.
 * @param {readonly number[]} xs @param {number} p
 */
export function percentile(xs, p) {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile: p must be in [0, 1], got ${p}`);
  if (xs.length === 0) throw new RangeError('percentile of an empty list');
  const bad = xs.find((x) => !Number.isFinite(x));
  if (bad !== undefined) throw new RangeError(`percentile: non-finite value ${bad}`);
  const s = [...xs].sort((a, b) => a - b);
  const h = p * (s.length - 1);
  const lo = Math.floor(h);
  const hi = Math.min(s.length - 1, lo + 1);
  return /** @type {number} */ (s[lo]) + (h - lo) * (/** @type {number} */ (s[hi]) - /** @type {number} */ (s[lo]));
}

export const median = (/** @type {readonly number[]} */ xs) => percentile(xs, 0.5);

/**
 * Per-call latencies (ms) summarised for the serving case.
 * @param {readonly number[]} ms
 */
export function latencySummary(ms) {
  return { calls: ms.length, p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, max: percentile(ms, 1) };
}

/**
 * Largest |a − b| / max(1e-6, |b|) and largest |a − b| over paired values (b is the
 * reference). A length mismatch or a non-finite value on either side is refused: a
 * NaN would otherwise compare as "no difference".
 * @param {readonly number[]} a @param {readonly number[]} b
 */
export function maxDiff(a, b) {
  if (a.length !== b.length) throw new RangeError(`maxDiff: ${a.length} values against ${b.length}`);
  let rel = 0;
  let abs = 0;
  a.forEach((x, i) => {
    const y = /** @type {number} */ (b[i]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`maxDiff: non-finite value at ${i} (${x} against ${y})`);
    abs = Math.max(abs, Math.abs(x - y));
    rel = Math.max(rel, Math.abs(x - y) / Math.max(1e-6, Math.abs(y)));
  });
  return { rel, abs };
}
