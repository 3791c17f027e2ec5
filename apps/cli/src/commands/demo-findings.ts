import type { PercentMetrics } from '../table.js';

/** What each bundled OOD set is there to show, and why the method behaves so on it. */
export interface DemoSet {
  name: string;
  role: 'works' | 'limit';
  why: string;
}

/** The classifier-confidence baselines FS is held against. */
export const BASELINES = ['MSP', 'MaxLogit', 'Energy'] as const;

type Results = Record<string, Record<string, PercentMetrics>>;

const auroc = (m: PercentMetrics) => `${m.auroc.toFixed(1)}${m.ci ? ` [${m.ci.auroc[0].toFixed(1)}–${m.ci.auroc[1].toFixed(1)}]` : ''}`;

/**
 * One line per set: the AUROC of each of `methods` (those present) against the best
 * baseline's, with intervals and the verdict the numbers support (not the one the set
 * was chosen for: "ahead"/"behind" only when the 95% intervals do not overlap), then
 * the set's explanation.
 */
export function demoFindings(results: Results, sets: readonly DemoSet[], methods: readonly string[] = ['FS']): string[] {
  return sets.flatMap((s) => {
    const base = BASELINES.map((b) => ({ b, m: results[b]?.[s.name] })).filter((x): x is { b: (typeof BASELINES)[number]; m: PercentMetrics } => x.m !== undefined);
    const ours = methods.map((name) => ({ name, m: results[name]?.[s.name] })).filter((x): x is { name: string; m: PercentMetrics } => x.m !== undefined);
    if (ours.length === 0 || base.length === 0) return [];
    const best = base.reduce((a, x) => (x.m.auroc > a.m.auroc ? x : a));
    const [bLo, bHi] = best.m.ci?.auroc ?? [best.m.auroc, best.m.auroc];
    const verdict = (m: PercentMetrics) => {
      const [lo, hi] = m.ci?.auroc ?? [m.auroc, m.auroc];
      return lo > bHi ? 'ahead' : hi < bLo ? 'behind' : 'no clear difference';
    };
    const parts = ours.map((o) => `${o.name} ${auroc(o.m)} ${verdict(o.m)}`).join(', ');
    return [`${s.name} (${s.role === 'works' ? 'where it works' : 'a limit'}): AUROC ${parts}, against ${best.b} ${auroc(best.m)}, the best of ${BASELINES.join('/')}. ${s.why}`];
  });
}
