import type { OodMetrics } from '@fsta/core';

export type PercentMetrics = OodMetrics;

const pad = (s: string, w: number, left = false) => (left ? s.padEnd(w) : s.padStart(w));
const pct = (v: number) => v.toFixed(2);

/**
 * The results table in the layout of the paper's Tables 1-2: per OOD set FPR95↓ and
 * AUROC↑, then the average with AUPR-In and AUPR-Out. Values are percent.
 */
export function formatTable(results: Record<string, Record<string, PercentMetrics>>, oodNames: readonly string[]): string {
  const methods = Object.keys(results);
  const mw = Math.max(8, ...methods.map((m) => m.length)) + 2;
  const cell = 8;
  const groups = [...oodNames.map((n) => ({ name: n, cols: ['FPR95↓', 'AUROC↑'] })), { name: 'Average', cols: ['FPR95↓', 'AUROC↑', 'AUPR-In', 'AUPR-Out'] }];
  const head1 = pad('', mw, true) + groups.map((g) => ' ' + pad(g.name.length > g.cols.length * (cell + 1) - 1 ? g.name.slice(0, g.cols.length * (cell + 1) - 2) + '…' : g.name, g.cols.length * (cell + 1) - 1, true)).join(' |');
  const head2 = pad('Method', mw, true) + groups.map((g) => ' ' + g.cols.map((c) => pad(c, cell)).join(' ')).join(' |');
  const rule = '-'.repeat(head2.length);
  const rows = methods.map((m) => {
    const r = results[m]!;
    const cols = [...oodNames.map((n) => [pct(r[n]!.fpr95), pct(r[n]!.auroc)]), [pct(r.average!.fpr95), pct(r.average!.auroc), pct(r.average!.auprIn), pct(r.average!.auprOut)]];
    return pad(m, mw, true) + cols.map((c) => ' ' + c.map((x) => pad(x, cell)).join(' ')).join(' |');
  });
  return [head1, head2, rule, ...rows].join('\n') + '\n';
}
