import type { TopLevelSpec } from 'vega-lite';
import { rocCurve } from '@fsta/core';
import type { ReportData } from './data.js';
import { vegaLiteSvg as svg } from './vega-svg.js';

/** At most `n` points of a curve, evenly spaced along it (the curve can have one point per image). */
export function thin<T>(points: T[], n = 400): T[] {
  if (points.length <= n) return points;
  return Array.from({ length: n }, (_, i) => points[Math.round((i * (points.length - 1)) / (n - 1))]!);
}

/** Vega's tableau10: ID takes the first colour and OOD set i the (i+1)-th in every chart, so a set keeps its colour. */
export const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
const oodRange = (n: number) => Array.from({ length: n }, (_, i) => PALETTE[(i + 1) % PALETTE.length]!);

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toPrecision(4));

/**
 * ROC curves of one method, one line per OOD set with its AUROC in the legend, the
 * chance diagonal, and a dot where ID TPR first reaches 95% (the FPR95 point).
 */
async function rocChart(data: ReportData, method: string): Promise<string> {
  const s = data.scores[method]!;
  const label = (o: string) => `${o} (AUROC ${data.results[method]![o]!.auroc.toFixed(1)})`;
  const lines: { set: string; fpr: number; tpr: number }[] = [];
  const points: { set: string; fpr: number; tpr: number; text: string }[] = [];
  for (const o of Object.keys(s.ood)) {
    const curve = rocCurve(s.id, s.ood[o]!);
    lines.push(...thin(curve).map((p) => ({ set: label(o), fpr: p.fpr, tpr: p.tpr })));
    const at = curve.find((p) => p.tpr >= 0.95)!;
    points.push({ set: label(o), fpr: at.fpr, tpr: at.tpr, text: `FPR95 ${(at.fpr * 100).toFixed(1)}` });
  }
  const x = { field: 'fpr', type: 'quantitative', title: 'FPR (share of OOD accepted)', scale: { domain: [0, 1] } };
  const y = { field: 'tpr', type: 'quantitative', title: 'TPR (share of ID kept)', scale: { domain: [0, 1] } };
  const sets = Object.keys(s.ood);
  const color = { field: 'set', type: 'nominal', title: 'OOD set', scale: { domain: sets.map(label), range: oodRange(sets.length) }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 260 } };
  return svg({
    width: 280, height: 280, title: { text: `ROC, ${method} (ID positive)`, fontSize: 12 },
    layer: [
      { data: { values: [{ fpr: 0, tpr: 0 }, { fpr: 1, tpr: 1 }] }, mark: { type: 'line', color: '#999', strokeDash: [4, 4], strokeWidth: 1 }, encoding: { x, y } },
      { data: { values: lines }, mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8 }, encoding: { x, y, color } },
      { data: { values: points }, mark: { type: 'point', filled: true, size: 50, stroke: '#000', strokeWidth: 0.8 }, encoding: { x, y, color, tooltip: { field: 'text' } } },
    ],
  } as TopLevelSpec);
}

/** Precision–recall with ID positive, from core's ROC counts: precision = TP / (TP + FP). */
async function prChart(data: ReportData, method: string): Promise<string> {
  const s = data.scores[method]!;
  const values: { set: string; recall: number; precision: number }[] = [];
  const sets = Object.keys(s.ood);
  const labelOf = (o: string) => `${o} (AUPR-In ${data.results[method]![o]!.auprIn.toFixed(1)})`;
  for (const o of sets) {
    const nId = s.id.length, nOod = s.ood[o]!.length;
    const label = labelOf(o);
    for (const p of thin(rocCurve(s.id, s.ood[o]!).slice(1))) {
      const tp = p.tpr * nId, fp = p.fpr * nOod;
      values.push({ set: label, recall: p.tpr, precision: tp / (tp + fp) });
    }
  }
  return svg({
    width: 280, height: 280, title: { text: `Precision–recall, ${method} (ID positive)`, fontSize: 12 },
    data: { values },
    mark: { type: 'line', interpolate: 'step-before', strokeWidth: 1.8 },
    encoding: {
      x: { field: 'recall', type: 'quantitative', title: 'recall (share of ID kept)', scale: { domain: [0, 1] } },
      y: { field: 'precision', type: 'quantitative', title: 'precision (share of accepted that are ID)', scale: { domain: [0, 1] } },
      color: { field: 'set', type: 'nominal', title: 'OOD set', scale: { domain: sets.map(labelOf), range: oodRange(sets.length) }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 260 } },
    },
  } as TopLevelSpec);
}

/**
 * Score histograms of ID and each OOD set on shared bins, as the share of each set's
 * images (the sets differ in size), with the threshold drawn as a rule.
 */
async function histogramChart(data: ReportData, method: string, threshold: { value: number; label: string }): Promise<string> {
  const s = data.scores[method]!;
  const sets: [string, number[]][] = [['ID', s.id], ...Object.entries(s.ood)];
  const all = sets.flatMap(([, v]) => v);
  let lo = Math.min(...all, threshold.value), hi = Math.max(...all, threshold.value);
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const bins = 50, width = (hi - lo) / bins;
  const bars = sets.flatMap(([set, v]) => {
    const counts = new Array<number>(bins).fill(0);
    for (const x of v) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]!++;
    return counts.map((c, i) => ({ set, start: lo + i * width, end: lo + (i + 1) * width, share: c / v.length })).filter((b) => b.share > 0);
  });
  const x = { field: 'start', type: 'quantitative', bin: 'binned', title: `${method} score (higher = more ID)`, scale: { domain: [lo, hi], nice: false } };
  return svg({
    width: 620, height: 180, title: { text: `Score distributions, ${method}`, fontSize: 12 },
    layer: [
      { data: { values: bars }, mark: { type: 'bar', opacity: 0.5, binSpacing: 0 }, encoding: { x, x2: { field: 'end' }, y: { field: 'share', type: 'quantitative', stack: null, title: 'share of the set', axis: { format: '%' } }, color: { field: 'set', type: 'nominal', title: 'set', scale: { domain: sets.map(([n]) => n), range: [PALETTE[0]!, ...oodRange(sets.length - 1)] } } } },
      { data: { values: [{ t: threshold.value, text: `${threshold.label} ${fmt(threshold.value)}` }] }, mark: { type: 'rule', color: '#000', strokeWidth: 1.5, strokeDash: [5, 3] }, encoding: { x: { field: 't', type: 'quantitative' } } },
      { data: { values: [{ t: threshold.value, text: `${threshold.label} ${fmt(threshold.value)}` }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -4, baseline: 'bottom', fontSize: 11 }, encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 10 }, text: { field: 'text' } } },
    ],
  } as TopLevelSpec);
}

/** ROC, precision–recall and histogram with the threshold, for one method. */
export async function methodPlots(data: ReportData, method: string, threshold: { value: number; label: string }): Promise<string> {
  return `<div class="row">${await rocChart(data, method)}${await prChart(data, method)}</div>${await histogramChart(data, method, threshold)}`;
}
