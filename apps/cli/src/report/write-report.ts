import type { TopLevelSpec } from 'vega-lite';
import { rocCurve } from '@fsta/core';
import type { ReportData } from './data.js';
import { writeFileAtomic } from '../write-file.js';
import { esc, vegaLiteSvg as svg } from './vega-svg.js';
import { renderSamples } from './sample-plots.js';
import { intervalDigits, type PercentMetrics } from '../table.js';

/** At most `n` points of a ROC curve, evenly spaced along it (the curve can have one point per image). */
function thin<T>(points: T[], n = 400): T[] {
  if (points.length <= n) return points;
  return Array.from({ length: n }, (_, i) => points[Math.round((i * (points.length - 1)) / (n - 1))]!);
}

/** The methods worth plotting: FS, FS+TA (every k of a multi-k run) and the best (by average AUROC) classifier-only method. */
function plotted(data: ReportData): string[] {
  const methods = Object.keys(data.results);
  const baseline = methods.filter((m) => !m.startsWith('FS')).sort((a, b) => data.results[b]!.average!.auroc - data.results[a]!.average!.auroc)[0];
  return [...(baseline ? [baseline] : []), ...methods.filter((m) => m === 'FS' || m === 'FS+TA' || m.startsWith('FS+TA@'))];
}

/**
 * A self-contained HTML report of an eval run: the results table, ROC curves,
 * ID-vs-OOD score histograms (the paper's Fig. 10) and, for a few sample images,
 * FS heatmaps without and with TA (Fig. 1) and per-channel GMM fits (Fig. 3), drawn
 * by Vega-Lite as inline SVG.
 */
export async function renderReport(data: ReportData): Promise<string> {
  const oodNames = Object.keys(data.files.ood);
  const methods = plotted(data);
  const roc = methods.flatMap((m) => oodNames.flatMap((o) => thin(rocCurve(data.scores[m]!.id, data.scores[m]!.ood[o]!)).map((p) => ({ method: m, ood: o, fpr: p.fpr, tpr: p.tpr }))));
  const rocSvg = await svg({
    data: { values: roc }, width: 220, height: 220,
    facet: { column: { field: 'ood', type: 'nominal', title: 'OOD set' } },
    spec: { mark: { type: 'line', interpolate: 'step-after' }, encoding: { x: { field: 'fpr', type: 'quantitative', title: 'FPR (OOD accepted)' }, y: { field: 'tpr', type: 'quantitative', title: 'TPR (ID kept)' }, color: { field: 'method', type: 'nominal' } } },
  } as TopLevelSpec);
  const hist: string[] = [];
  for (const m of methods) {
    const s = data.scores[m]!;
    const values = [...s.id.map((v) => ({ set: 'ID', score: v })), ...oodNames.flatMap((o) => s.ood[o]!.map((v) => ({ set: o, score: v })))];
    hist.push(`<h3>${esc(m)}</h3>` + await svg({
      data: { values }, width: 520, height: 160,
      mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
      encoding: {
        x: { field: 'score', type: 'quantitative', bin: { maxbins: 50 }, title: `${m} score (higher = more ID)` },
        y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'images' },
        color: { field: 'set', type: 'nominal', title: 'set' },
      },
    } as TopLevelSpec));
  }
  const cols = [...oodNames, 'average'];
  const cell = (r: PercentMetrics, key: 'fpr95' | 'auroc') => {
    const ci = r.ci?.[key];
    if (!ci) return `<td>${r[key].toFixed(2)}</td>`;
    const d = intervalDigits(ci);
    return `<td>${r[key].toFixed(d)}<br><small>[${ci[0].toFixed(d)}, ${ci[1].toFixed(d)}]</small></td>`;
  };
  const rows = Object.entries(data.results).map(([m, r]) => `<tr><th>${esc(m)}</th>${cols.map((c) => cell(r[c]!, 'fpr95') + cell(r[c]!, 'auroc')).join('')}</tr>`).join('\n');
  const ciNote = Object.values(data.results).some((r) => r.average?.ci) ? ' Below each value: its 95% bootstrap interval (images resampled within ID and within each OOD set; see settings.bootstrap), with the digits the interval supports.' : '';
  const acc = data.accuracy ? `<p>ID accuracy: top-1 ${data.accuracy.top1.toFixed(2)}%${data.accuracy.top5 !== null ? `, top-5 ${data.accuracy.top5.toFixed(2)}%` : ''} on ${data.accuracy.n} images.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(data.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}.sample{display:flex;align-items:flex-start;gap:1em;margin:1em 0}.sample figure{margin:0;width:10em;font-size:.8em;overflow-wrap:anywhere}.sample img{image-rendering:pixelated;display:block}</style>
</head><body>
<h1>${esc(data.title)}</h1>
${acc}
<h2>Results (percent; FPR95 lower is better, AUROC higher is better)</h2>${ciNote ? `\n<p>${ciNote.trim()}</p>` : ''}
<table><thead><tr><th></th>${cols.map((c) => `<th colspan="2">${esc(c)}</th>`).join('')}</tr>
<tr><th>Method</th>${cols.map(() => '<th>FPR95</th><th>AUROC</th>').join('')}</tr></thead>
<tbody>${rows}</tbody></table>
<h2>ROC curves (ID positive)</h2>
${rocSvg}
<h2>Score distributions, ID against each OOD set</h2>
${hist.join('\n')}
${data.samples?.length ? await renderSamples(data.samples) : ''}
<h2>Settings</h2>
<pre>${esc(JSON.stringify(data.settings, null, 2))}</pre>
</body></html>
`;
}

export async function writeReport(data: ReportData, path: string, opts: { force?: boolean; inputs?: readonly (string | undefined)[] } = {}): Promise<void> {
  writeFileAtomic(path, await renderReport(data), { force: Boolean(opts.force), inputs: opts.inputs ?? [], flag: '--report' });
}
