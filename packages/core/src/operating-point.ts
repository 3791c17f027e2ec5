import { BOOTSTRAP_DEFAULTS, bootstrapDraws, type BootstrapOptions, type Interval } from './bootstrap.js';
import { percentileOf } from './reference.js';
import { verdictOf } from './detector.js';

/** A share in percent, with its percentile-bootstrap interval unless none was asked for (`resamples: 0`). */
export interface Share { value: number; ci?: Interval }

/**
 * A deployed threshold's operating point: the share (percent) of ID scores at or above `threshold` (kept) and of each OOD
 * set's scores below it (caught), and of all OOD pooled, with 95% percentile-bootstrap
 * intervals (none with `resamples: 0`). The threshold stays fixed; the images are resampled with
 * `bootstrapDraws` (within ID and within each OOD set), the same draws the metric intervals use.
 */
export function operatingPoint(threshold: number, id: ArrayLike<number>, oods: Record<string, ArrayLike<number>>, opts: BootstrapOptions = {}) {
  const names = Object.keys(oods);
  const sets = names.map((n) => oods[n]!);
  const { level } = { ...BOOTSTRAP_DEFAULTS, ...opts };
  const stat = (idAt: (i: number) => number, oodAt: ((i: number) => number)[]) => {
    let kept = 0;
    for (let i = 0; i < id.length; i++) if (verdictOf(idAt(i), threshold) === 'ID') kept++;
    const caught = sets.map((s, j) => { let n = 0; for (let i = 0; i < s.length; i++) if (verdictOf(oodAt[j]!(i), threshold) === 'OOD') n++; return n; });
    const total = sets.reduce((a, s) => a + s.length, 0);
    return [(kept / id.length) * 100, ...caught.map((c, j) => (c / sets[j]!.length) * 100), (caught.reduce((a, b) => a + b, 0) / total) * 100];
  };
  const point = stat((i) => id[i]!, sets.map((s) => (i: number) => s[i]!));
  if (opts.resamples === 0) return { kept: { value: point[0]! } as Share, caught: Object.fromEntries([...names, 'all OOD'].map((n, j) => [n, { value: point[j + 1]! } as Share])) };
  const draws = bootstrapDraws(id.length, sets.map((s) => s.length), opts);
  const samples = point.map(() => new Float64Array(draws.length));
  draws.forEach((d, r) => stat((i) => id[d.id[i]!]!, sets.map((s, j) => (i: number) => s[d.oods[j]![i]!]!)).forEach((v, k) => { samples[k]![r] = v; }));
  const ci = samples.map((s): Interval => { s.sort(); return [percentileOf(s, (100 * (1 - level)) / 2), percentileOf(s, 100 - (100 * (1 - level)) / 2)]; });
  const at = (k: number): Share => ({ value: point[k]!, ci: ci[k]! });
  return { kept: at(0), caught: Object.fromEntries([...names, 'all OOD'].map((n, j) => [n, at(j + 1)])) };
}
