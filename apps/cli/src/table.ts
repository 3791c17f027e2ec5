import type { OodMetrics } from '@fsta/core';

/** Percent metrics, optionally with 95% intervals of AUROC and FPR95 (`[lo, hi]`). */
export type PercentMetrics = OodMetrics & { ci?: { auroc: [number, number]; fpr95: [number, number] } };

/** The terminal width the table is laid out for. */
export const TABLE_WIDTH = 100;

const pad = (s: string, w: number, left = false) => (left ? s.padEnd(w) : s.padStart(w));
const pct = (v: number) => v.toFixed(2);
const withCi = (v: number, ci: [number, number] | undefined) => (ci ? `${pct(v)} (${ci[0].toFixed(1)}–${ci[1].toFixed(1)})` : pct(v));

interface Group { name: string; cols: { head: string; cell: (m: PercentMetrics) => string }[] }

/**
 * The results table in the layout of the paper's Tables 1-2: per OOD set FPR95↓ and
 * AUROC↑ (with their 95% bootstrap interval in parentheses when known), then the average
 * with AUPR-In and AUPR-Out. Values are percent. Sets that do not fit in `width`
 * columns beside each other continue in another block below, each with the method names.
 */
export function formatTable(results: Record<string, Record<string, PercentMetrics>>, oodNames: readonly string[], width = TABLE_WIDTH): string {
  const methods = Object.keys(results);
  const mw = Math.max(8, ...methods.map((m) => m.length)) + 2;
  const rank = (key: 'fpr95' | 'auroc', head: string) => ({ head, cell: (m: PercentMetrics) => withCi(m[key], m.ci?.[key]) });
  const groups: Group[] = [
    ...oodNames.map((name) => ({ name, cols: [rank('fpr95', 'FPR95↓'), rank('auroc', 'AUROC↑')] })),
    { name: 'Average', cols: [rank('fpr95', 'FPR95↓'), rank('auroc', 'AUROC↑'), { head: 'AUPR-In', cell: (m: PercentMetrics) => pct(m.auprIn) }, { head: 'AUPR-Out', cell: (m: PercentMetrics) => pct(m.auprOut) }] },
  ];
  const setOf = (g: Group) => (g.name === 'Average' ? 'average' : g.name);
  // Each column as wide as its widest cell, so the block width is known before packing.
  const colWidths = groups.map((g) => g.cols.map((c) => Math.max(c.head.length, 8, ...methods.map((m) => c.cell(results[m]![setOf(g)]!).length))));
  const groupWidth = (i: number) => colWidths[i]!.reduce((s, w) => s + w + 1, 0);
  const blocks: number[][] = [];
  let used = width;
  groups.forEach((_, i) => {
    const w = groupWidth(i) + 2;
    if (blocks.length && used + w <= width) { blocks.at(-1)!.push(i); used += w; } else { blocks.push([i]); used = mw + w - 2; }
  });
  const render = (block: number[]) => {
    const head1 = pad('', mw, true) + block.map((i) => {
      const g = groups[i]!, w = groupWidth(i) - 1;
      return ' ' + pad(g.name.length > w ? g.name.slice(0, w - 1) + '…' : g.name, w, true);
    }).join(' |');
    const head2 = pad('Method', mw, true) + block.map((i) => ' ' + groups[i]!.cols.map((c, j) => pad(c.head, colWidths[i]![j]!)).join(' ')).join(' |');
    const rows = methods.map((m) => pad(m, mw, true) + block.map((i) => ' ' + groups[i]!.cols.map((c, j) => pad(c.cell(results[m]![setOf(groups[i]!)]!), colWidths[i]![j]!)).join(' ')).join(' |'));
    return [head1, head2, '-'.repeat(head2.length), ...rows].join('\n') + '\n';
  };
  const ci = methods.some((m) => results[m]!.average?.ci) ? 'In parentheses: 95% bootstrap interval (1000 resamples of the images).\n' : '';
  return blocks.map(render).join('\n') + ci;
}
