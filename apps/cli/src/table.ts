import type { OodIntervals, OodMetrics } from '@fsta/core';

/** Metrics in percent, with their bootstrap intervals (percent) when the eval made them. */
export type PercentMetrics = OodMetrics & { ci?: OodIntervals };

export interface TableOptions {
  /** Widest line allowed (e.g. the terminal's columns); default 100. */
  width?: number;
}

const pad = (s: string, w: number, left = false) => (left ? s.padEnd(w) : s.padStart(w));

/**
 * Decimals the interval supports: 2 when its half-width is under 0.05 points, 1 under
 * 0.5, else 0, so a wide interval does not print digits that resampling does not fix.
 */
export function intervalDigits(ci: readonly [number, number] | undefined): number {
  if (!ci) return 2;
  const half = (ci[1] - ci[0]) / 2;
  return half < 0.05 ? 2 : half < 0.5 ? 1 : 0;
}

type Key = keyof OodMetrics;
const cellValue = (m: PercentMetrics, key: Key) => m[key].toFixed(intervalDigits(m.ci?.[key]));
const cellInterval = (m: PercentMetrics, key: Key) => {
  const ci = m.ci?.[key];
  if (!ci) return m[key].toFixed(2);
  const d = intervalDigits(ci);
  // The larger side, so value ± it covers the whole (possibly asymmetric) interval.
  return `${m[key].toFixed(d)}±${Math.max(ci[1] - m[key], m[key] - ci[0]).toFixed(d)}`;
};

/**
 * The results table in the layout of the paper's Tables 1-2: per OOD set FPR95↓ and
 * AUROC↑, then the average with AUPR-In and AUPR-Out. Values are percent. With
 * intervals, each cell is `value±h` (h the larger side of the 95% interval, so it
 * covers the interval). When that is wider than `width`, the sets wrap: as many as fit
 * side by side per block, each block with the method names. Only when one set alone
 * does not fit, the cells show the value alone, with the digits its interval supports
 * (`intervalDigits`), wrapped the same way.
 */
export function formatTable(results: Record<string, Record<string, PercentMetrics>>, oodNames: readonly string[], options: TableOptions = {}): string {
  const hasCi = Object.values(results).some((r) => Object.values(r).some((m) => m.ci));
  if (!hasCi) return layout(results, [...oodNames, 'average'], (m, k) => m[k].toFixed(2));
  const width = options.width ?? 100;
  const fits = (t: string) => Math.max(...t.split('\n').map((l) => [...l].length)) <= width;
  const note = 'Cells: value ± the larger side of its 95% bootstrap interval (percent; [lo, hi] in --json).\n';
  const wrapped = pack(results, oodNames, cellInterval, fits);
  if (wrapped !== null) return wrapped + note;
  return (pack(results, oodNames, cellValue, fits) ?? layout(results, [...oodNames, 'average'], cellValue)) + 'Digits as the 95% bootstrap intervals support (the intervals are in --json).\n';
}

/** The sets (then 'average') in as few blocks as fit side by side; null when one set alone does not fit. */
function pack(results: Record<string, Record<string, PercentMetrics>>, oodNames: readonly string[], cell: (m: PercentMetrics, key: Key) => string, fits: (t: string) => boolean): string | null {
  const blocks: string[][] = [];
  for (const set of [...oodNames, 'average']) {
    const last = blocks.at(-1);
    if (last && fits(layout(results, [...last, set], cell))) last.push(set);
    else blocks.push([set]);
  }
  const text = blocks.map((b) => layout(results, b, cell));
  return text.every(fits) ? text.join('\n') : null;
}

/** One block of the table: the given OOD sets (and 'average', with its AUPR columns) side by side. */
function layout(results: Record<string, Record<string, PercentMetrics>>, sets: readonly string[], cell: (m: PercentMetrics, key: Key) => string): string {
  const methods = Object.keys(results);
  const mw = Math.max(8, ...methods.map((m) => m.length)) + 2;
  const groups = sets.map((n) => (n === 'average'
    ? { name: 'Average', set: n, keys: ['fpr95', 'auroc', 'auprIn', 'auprOut'] as Key[], cols: ['FPR95↓', 'AUROC↑', 'AUPR-In', 'AUPR-Out'] }
    : { name: n, set: n, keys: ['fpr95', 'auroc'] as Key[], cols: ['FPR95↓', 'AUROC↑'] }));
  const cells = methods.map((m) => groups.map((g) => g.keys.map((k) => cell(results[m]![g.set]!, k))));
  const w = Math.max(8, ...cells.flat(2).map((c) => c.length));
  const span = (g: (typeof groups)[number]) => g.cols.length * (w + 1) - 1;
  const head1 = pad('', mw, true) + groups.map((g) => ' ' + pad(g.name.length > span(g) ? g.name.slice(0, span(g) - 1) + '…' : g.name, span(g), true)).join(' |');
  const head2 = pad('Method', mw, true) + groups.map((g) => ' ' + g.cols.map((c) => pad(c, w)).join(' ')).join(' |');
  const rule = '-'.repeat(head2.length);
  const rows = methods.map((m, i) => pad(m, mw, true) + cells[i]!.map((c) => ' ' + c.map((x) => pad(x, w)).join(' ')).join(' |'));
  return [head1, head2, rule, ...rows].join('\n') + '\n';
}
