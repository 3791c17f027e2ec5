import { basename, dirname } from 'node:path';
import { thresholdAtTpr } from '@fsta/core';
import type { ReportData, Failure } from './data.js';
import type { Share } from '@fsta/core';
import { writeFileAtomic } from '../write-file.js';
import { esc } from './vega-svg.js';
import { renderSamples } from './sample-plots.js';
import { methodPlots } from './method-plots.js';
import { resultsCsv } from './csv.js';
import { intervalDigits } from '../table.js';

const num = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toPrecision(4));
const share = (p: Share) => `<b>${p.value.toFixed(1)}%</b>${p.ci ? ` <span class="ci">[${p.ci[0].toFixed(1)}–${p.ci[1].toFixed(1)}]</span>` : ''}`;
const shortName = (file: string) => `${basename(dirname(file))}/${basename(file)}`;
const CALIBRATED = 'calibrated';

/** The parts of the config's own score, e.g. "FS+TA (TA at C3, k=2.113) + 0.016·energy". */
function configScore(data: ReportData): string {
  const c = data.config!.cfg;
  const feat = c.featureScore === 'fs_ta' && c.taStage ? `FS+TA (TA at ${c.taStage}, k=${num(c.k)})` : 'FS';
  return `${feat}${c.classifier && c.lambda !== 0 ? ` + ${num(c.lambda)}·${c.classifier}` : ''}`;
}

/** What the method is: the config's own score is described by its parts. */
function methodName(data: ReportData, method: string): string {
  return method === CALIBRATED && data.config ? `calibrated: ${configScore(data)}` : method;
}

function summary(data: ReportData): string {
  const d = data.decision!;
  const s = data.settings as { model: string; fsStage: string; taStage: string | null; id: string; ood: Record<string, string>; counts: { id: number; ood: Record<string, number> } };
  const sets = Object.keys(data.files.ood);
  const verdict = d.source === 'config'
    ? `<p class="verdict">Recommended: <b>${esc(methodName(data, d.method))}</b>, accept an image as ID when its score is ≥ <b>${num(d.threshold)}</b> (from <code>${esc(basename(data.config!.path))}</code>, set to keep ${(d.targetTpr * 100).toFixed(0)}% of the calibration ID images, chosen without OOD test data).</p>`
    : `<p class="verdict warn"><b>No threshold was calibrated.</b>${data.config?.unused ? ` The config <code>${esc(basename(data.config.path))}</code> was given, but its threshold is not used: ${esc(data.config.unused)}.` : ''} Run <code>fsta calibrate</code> and pass its config to <code>fsta eval --config</code> for a threshold chosen without OOD test data. <i>For comparison only</i>: <b>${esc(d.method)}</b>, the best method on these sets by average AUROC, at its threshold ${num(d.threshold)} that keeps ${(d.targetTpr * 100).toFixed(0)}% of these ID images. Both were picked with the OOD test data below, so they overstate what a deployment would see.</p>`;
  const rows = [
    `<tr><th>ID kept (${s.counts.id} images)</th><td>${share(d.kept)}</td></tr>`,
    ...sets.map((n) => `<tr><th>${esc(n)} caught (${s.counts.ood[n]} images)</th><td>${share(d.caught[n]!)}</td></tr>`),
    ...(sets.length > 1 ? [`<tr><th>all OOD caught (${Object.values(s.counts.ood).reduce((a, b) => a + b, 0)} images)</th><td>${share(d.caught['all OOD']!)}</td></tr>`] : []),
  ];
  const acc = data.accuracy ? `<li>ID accuracy: top-1 ${data.accuracy.top1.toFixed(2)}%${data.accuracy.top5 !== null ? `, top-5 ${data.accuracy.top5.toFixed(2)}%` : ''} on ${data.accuracy.n} images</li>` : '';
  return `<section id="summary"><h2>Summary</h2>
<ul><li>Model: <code>${esc(basename(s.model))}</code> (FS at ${esc(s.fsStage)}${s.taStage ? `, TA at ${esc(s.taStage)}` : ', no TA'})</li>
<li>ID: ${s.counts.id} images from <code>${esc(s.id)}</code></li>
<li>OOD: ${sets.map((n) => `${esc(n)}, ${s.counts.ood[n]} images from <code>${esc(s.ood[n]!)}</code>`).join('; ')}</li>${acc}</ul>
${verdict}
<table class="op"><tbody>${rows.join('')}</tbody></table>
<p class="note">In brackets: 95% bootstrap interval (1000 resamples of the images, within ID and within each OOD set; the threshold fixed).</p></section>`;
}

function calibration(data: ReportData): string {
  if (!data.config) return `<section id="calibration"><h2>Calibration</h2><p>None: this run was given no <code>--config</code>. <code>fsta calibrate</code> chooses the TA stage, k, the fused classifier score, λ and the threshold from ID validation images and synthetic OOD only.</p></section>`;
  const c = data.config.cfg;
  const p = (c.provenance ?? {}) as Record<string, unknown>;
  const ta = p.ta as { reason?: string } | undefined;
  const rows: [string, string][] = [
    ['config file', `<code>${esc(data.config.path)}</code>`],
    ['FS stage', esc(c.fsStage)],
    ['TA stage', esc(c.taStage ?? 'none (plain FS)')],
    ['k', c.taStage ? `${num(c.k)}${c.kPercentile !== undefined ? ` (${c.kPercentile}th percentile of ID activations)` : ''}` : '–'],
    ['fused classifier score', esc(c.classifier ?? 'none')],
    ['λ', c.classifier ? num(c.lambda) : '–'],
    ['threshold', c.threshold === null ? 'none' : num(c.threshold)],
    ['target ID TPR', c.targetTpr === null ? '–' : `${(c.targetTpr * 100).toFixed(0)}%`],
    ...(typeof p.model === 'string' ? [['calibrated on model', `<code>${esc(p.model)}</code>`] as [string, string]] : []),
    ...(typeof p.synthetic === 'string' ? [['synthetic OOD', esc(p.synthetic)] as [string, string]] : []),
    // core's reason carries full-precision numbers; 4 significant digits read better here.
    ...(ta?.reason ? [['TA choice', esc(ta.reason.replace(/\d+\.\d{5,}/g, (x) => Number(x).toPrecision(4)))] as [string, string]] : []),
    ...(typeof p.fusion === 'string' ? [['fusion choice', esc(p.fusion)] as [string, string]] : []),
  ];
  const unused = data.config.unused ? `<p class="warn">Its threshold is not applied in this report: ${esc(data.config.unused)}.</p>` : '';
  return `<section id="calibration"><h2>Calibration</h2>${unused}<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table></section>`;
}

function resultsTable(data: ReportData): string {
  const counts = data.settings.counts as { id: number; ood: Record<string, number> };
  const cols = [...Object.keys(data.files.ood), 'average'];
  // Digits as the interval supports (table.ts's intervalDigits), as in the terminal.
  const metric = (v: number, ci?: readonly [number, number]) => { const d = intervalDigits(ci); return `<td>${v.toFixed(d)}${ci ? `<br><span class="ci">${ci[0].toFixed(d)}–${ci[1].toFixed(d)}</span>` : ''}</td>`; };
  // Per set FPR95, AUROC and AUPR-In; the average adds AUPR-Out (as the paper's tables). The CSV has everything.
  const heads = (c: string) => ['FPR95↓', 'AUROC↑', 'AUPR-In', ...(c === 'average' ? ['AUPR-Out'] : [])];
  const rows = Object.entries(data.results).map(([m, r]) => `<tr${m === data.decision?.method ? ' class="chosen"' : ''}><th>${esc(m)}${m === CALIBRATED && data.config ? `<br><span class="ci">${esc(configScore(data))}</span>` : ''}</th>${cols.map((c) => metric(r[c]!.fpr95, r[c]!.ci?.fpr95).replace('<td>', '<td class="first">') + metric(r[c]!.auroc, r[c]!.ci?.auroc) + metric(r[c]!.auprIn) + (c === 'average' ? metric(r[c]!.auprOut) : '')).join('')}</tr>`).join('\n');
  const n = (c: string) => (c === 'average' ? `mean of ${cols.length - 1} sets` : `${counts.ood[c]} images`);
  const csv = `data:text/csv;charset=utf-8,${encodeURIComponent(resultsCsv(data))}`;
  return `<section id="results"><h2>Results</h2>
<p>Percent, ID (${counts.id} images) against each OOD set. FPR95: share of OOD accepted at the threshold that keeps 95% of ID (lower is better); AUROC, AUPR-In (ID positive), AUPR-Out (OOD positive): higher is better. Small print: 95% bootstrap interval (images resampled within ID and within each OOD set; see settings.bootstrap), with the digits it supports. <a id="csv" download="fsta-results.csv" href="${csv}">Download as CSV</a></p>
<div class="scroll"><table class="results"><thead><tr><th></th>${cols.map((c) => `<th colspan="${heads(c).length}" class="set">${esc(c)}<br><span class="ci">${n(c)}</span></th>`).join('')}</tr>
<tr><th>Method</th>${cols.map((c) => heads(c).map((h, i) => `<th${i === 0 ? ' class="first"' : ''}>${h}</th>`).join('')).join('')}</tr></thead>
<tbody>${rows}</tbody></table></div></section>`;
}

function failureCards(list: readonly Failure[]): string {
  return `<div class="cards">${list.map((f) => `<figure class="failure">${f.maps ? `<img src="${f.maps.image}" alt="${esc(shortName(f.file))}">` : ''}<figcaption><b>${esc(f.set)}</b>, score ${num(f.score)}<br>${esc(shortName(f.file))}</figcaption></figure>`).join('')}</div>`;
}

function failures(data: ReportData): string {
  const d = data.decision!;
  const head = (n: number, total: number, what: string) => (total === 0 ? `<p>None: ${what}.</p>` : `<p>${n < total ? `The ${n} most extreme of ${total}` : `All ${total}`}:</p>`);
  return `<section id="failures"><h2>Worst failures of ${esc(methodName(data, d.method))} at ${num(d.threshold)}</h2>
<h3>OOD images accepted as ID, highest score first</h3>${head(d.oodAccepted.length, d.oodAcceptedTotal, 'every OOD image scored below the threshold')}${failureCards(d.oodAccepted)}
<h3>ID images rejected, lowest score first</h3>${head(d.idRejected.length, d.idRejectedTotal, 'every ID image scored at or above the threshold')}${failureCards(d.idRejected)}</section>`;
}

async function plots(data: ReportData): Promise<string> {
  const d = data.decision!;
  const methods = Object.keys(data.results);
  const blocks: string[] = [];
  for (const m of methods) {
    const threshold = m === d.method
      ? { value: d.threshold, label: d.source === 'config' ? 'threshold' : `${(d.targetTpr * 100).toFixed(0)}% ID TPR (comparison)` }
      : { value: thresholdAtTpr(data.scores[m]!.id, 0.95), label: '95% ID TPR' };
    blocks.push(`<div class="per-method" data-method="${esc(m)}"${m === d.method ? '' : ' hidden'}>${await methodPlots(data, m, threshold)}</div>`);
  }
  const options = methods.map((m) => `<option value="${esc(m)}"${m === d.method ? ' selected' : ''}>${esc(methodName(data, m))}${m === d.method ? ' (recommended)' : ''}</option>`).join('');
  return `<section id="plots"><h2>Curves and score distributions</h2>
<p><label>Method: <select id="method">${options}</select></label> The dot on each ROC curve is where 95% of ID is kept (FPR95). The dashed diagonal is chance. The dashed rule in the histogram is the threshold: ${d.source === 'config' ? 'the calibrated one for the recommended method' : 'at 95% ID TPR on these images'}; for other methods, their own 95% ID TPR threshold.</p>
${blocks.join('\n')}</section>`;
}

/**
 * A self-contained HTML report of an eval run, for pasting into a review: a summary
 * that ends in a method and a threshold with what it keeps and catches, the
 * calibration, the results table (and its CSV), ROC, precision–recall and histogram
 * plots for any method, the worst failures, and feature maps of sample images (the
 * paper's Figs. 1 and 3). Plots are Vega-Lite rendered to inline SVG at write time;
 * a few lines of inline script switch the method, so it stays one offline file.
 */
export async function renderReport(data: ReportData): Promise<string> {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(data.title)}: fsta report</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:90em;color:#222}table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right;vertical-align:top}th:first-child{text-align:left}.kv th,.op th{text-align:left;font-weight:normal;color:#555}.kv td{text-align:left}.ci{color:#777;font-size:.8em}.results{font-size:.8em}.results td,.results th{padding:.2em .4em}.results th.set{text-align:center;border-left:1px solid #ccc}.results .first{border-left:1px solid #ccc}.results td,.results th{white-space:nowrap}.results tbody th{white-space:normal;max-width:13em}.results tr.chosen{background:#eef6ff}.scroll{overflow-x:auto}.verdict{font-size:1.1em;border-left:4px solid #2a7;padding:.5em 1em;background:#f3fbf6}.verdict.warn,.warn{border-left-color:#d80;background:#fff8ec}.warn{border-left:4px solid #d80;padding:.5em 1em}.note{color:#666;font-size:.85em}pre{background:#f6f6f6;padding:1em;overflow:auto}.row{display:flex;flex-wrap:wrap;gap:2em}.cards{display:flex;flex-wrap:wrap;gap:1em}.failure{margin:0;width:11em;font-size:.8em;overflow-wrap:anywhere}.failure img{image-rendering:pixelated;display:block;width:96px}.sample{display:flex;align-items:flex-start;gap:1em;margin:1em 0}.sample figure{margin:0;width:10em;font-size:.8em;overflow-wrap:anywhere}.sample img{image-rendering:pixelated;display:block}select{font-size:1em}</style>
</head><body>
<h1>${esc(data.title)}</h1>
<p class="note">fsta eval report: feature-map OOD detection (FS, FS+TA) and classifier-confidence baselines. Scores are "higher = more in-distribution".</p>
${summary(data)}
${data.notes?.length ? `<section id="findings"><h2>Where it works, and where it does not</h2><ul>${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>` : ''}
${calibration(data)}
${resultsTable(data)}
${await plots(data)}
${failures(data)}
${data.samples?.length ? await renderSamples(data.samples) : ''}
<section id="settings"><h2>Settings</h2>
<pre>${esc(JSON.stringify(data.settings, null, 2))}</pre></section>
<script>
const pick = document.getElementById('method');
const show = () => { for (const d of document.querySelectorAll('.per-method')) d.hidden = d.dataset.method !== pick.value; };
pick.addEventListener('change', show);
show();
</script>
</body></html>
`;
}

export async function writeReport(data: ReportData, path: string, opts: { force?: boolean; inputs?: readonly (string | undefined)[] } = {}): Promise<void> {
  writeFileAtomic(path, await renderReport(data), { force: Boolean(opts.force), inputs: opts.inputs ?? [], flag: '--report' });
}
