import type { ReportData } from './data.js';

const cell = (v: string | number) => (typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * The results table as CSV, one row per method and set (the average last), metrics in
 * percent with the 95% bootstrap interval of AUROC and FPR95, and the image counts.
 */
export function resultsCsv(data: ReportData): string {
  const counts = data.settings.counts as { id: number; ood: Record<string, number> };
  const head = ['method', 'ood_set', 'n_id', 'n_ood', 'auroc', 'auroc_lo', 'auroc_hi', 'fpr95', 'fpr95_lo', 'fpr95_hi', 'aupr_in', 'aupr_out'];
  const lines = [head.join(',')];
  for (const [method, row] of Object.entries(data.results)) {
    for (const [set, m] of Object.entries(row)) {
      const nOod = set === 'average' ? Object.values(counts.ood).reduce((a, b) => a + b, 0) : counts.ood[set]!;
      const ci = m.ci ?? { auroc: [NaN, NaN], fpr95: [NaN, NaN] };
      lines.push([method, set, counts.id, nOod, m.auroc, ci.auroc[0], ci.auroc[1], m.fpr95, ci.fpr95[0], ci.fpr95[1], m.auprIn, m.auprOut].map((v) => cell(typeof v === 'number' && Number.isNaN(v) ? '' : v)).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
