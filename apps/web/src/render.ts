import type { ImageScore } from '@fsta/core';
import type { Heatmaps, Inspection } from './engine.js';
import { topClasses } from './engine.js';
import { heatmapRGBA, range } from './heatmap.js';

/** Scores are shown to 4 significant digits; the exact value stays in data-value (and the tooltip). */
export const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : Number(v.toPrecision(4)).toString());

function canvasOf(img: ImageData, label: string): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = img.width;
  c.height = img.height;
  c.getContext('2d')!.putImageData(img, 0, 0);
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', label);
  return c;
}

/** The image with a map blended over it, drawn at the image's resolution (the map is upsampled smoothly). */
function overlay(view: ImageData, map: Float32Array, heat: Heatmaps, lo: number, hi: number, label: string): HTMLCanvasElement {
  const c = canvasOf(view, label);
  const small = new OffscreenCanvas(heat.w, heat.h);
  small.getContext('2d')!.putImageData(new ImageData(heatmapRGBA(map, lo, hi), heat.w, heat.h), 0, 0);
  const ctx = c.getContext('2d')!;
  ctx.globalAlpha = 0.6;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, c.width, c.height);
  return c;
}

function figure(canvas: HTMLCanvasElement, caption: string): HTMLElement {
  const f = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  f.append(canvas, cap);
  return f;
}

/** 3 significant digits, in ms below a second and in s above. */
const duration = (ms: number) => (ms < 1000 ? `${Number(ms.toPrecision(3))} ms` : `${Number((ms / 1000).toPrecision(3))} s`);

const CLASSIFIER_LABEL: Record<string, string> = { msp: 'MSP', maxlogit: 'MaxLogit', energy: 'Energy', ash: 'ASH', scale: 'SCALE' };

function scoreRows(s: ImageScore, classifier: string | null, ms: number, warmUp: boolean): [string, string, string, number | null][] {
  const rows: [string, string, string, number | null][] = [
    ['FS', 'fs', fmt(s.fs), s.fs],
    ['FS+TA', 'fsTa', fmt(s.fsTa), s.fsTa],
  ];
  for (const [k, v] of Object.entries(s.classifier)) rows.push([`${CLASSIFIER_LABEL[k] ?? k}${k === classifier ? ' (fused)' : ''}`, k, fmt(v), v ?? null]);
  rows.push(['Fused score', 'score', fmt(s.score), s.score], [warmUp ? 'Model time (first run: includes warm-up)' : 'Model time', 'ms', duration(ms), ms]);
  return rows;
}

/** The list of cards for one runtime under `results`, made (with its heading) on first use: results are grouped per runtime. */
export function runtimeGroup(results: HTMLElement, runtime: string): HTMLOListElement {
  const found = [...results.querySelectorAll<HTMLElement>(':scope > section')].find((s) => s.dataset.runtime === runtime);
  if (found) return found.querySelector('ol')!;
  const section = document.createElement('section');
  section.className = 'runtime-group';
  section.dataset.runtime = runtime;
  const h = document.createElement('h3');
  h.textContent = `On ${runtime}`;
  const ol = document.createElement('ol');
  ol.className = 'cards';
  section.append(h, ol);
  results.append(section);
  return ol;
}

export function resultCard(name: string, view: ImageData, r: Inspection, classes: readonly string[] | null, threshold: number | null, classifier: string | null, runtime: string, warmUp = false): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'card';
  li.dataset.file = name;
  const h = document.createElement('h4');
  h.textContent = name;
  const verdict = document.createElement('p');
  const badge = document.createElement('span');
  const v = r.score.verdict;
  badge.className = `verdict ${v ?? ''}`;
  badge.dataset.field = 'verdict';
  badge.textContent = v === 'ID' ? 'ID: the model knows this' : v === 'OOD' ? 'OOD: unfamiliar to the model' : 'no threshold calibrated';
  // Where 4 digits would show the score equal to the threshold, more are shown so the comparison reads right.
  const close = threshold !== null && fmt(r.score.score) === fmt(threshold);
  const show = (v: number) => (close ? Number(v.toPrecision(7)).toString() : fmt(v));
  verdict.append(badge, ` score ${show(r.score.score)} ${threshold === null ? '' : `${r.score.score >= threshold ? '≥' : '<'} threshold ${show(threshold)}`}`);
  const maps = document.createElement('div');
  maps.className = 'maps';
  maps.append(figure(canvasOf(view, `${name} as the model sees it`), 'Input'));
  if (r.heat) {
    const [lo, hi] = r.heat.fsTa ? range(r.heat.fs, r.heat.fsTa) : range(r.heat.fs);
    maps.append(figure(overlay(view, r.heat.fs, r.heat, lo, hi, `C5 heatmap without TA for ${name}`), 'C5 map'));
    if (r.heat.fsTa) maps.append(figure(overlay(view, r.heat.fsTa, r.heat, lo, hi, `C5 heatmap with TA for ${name}`), 'C5 map with TA'));
  } else {
    const p = document.createElement('p');
    p.className = 'note';
    p.textContent = `Heatmaps come from the onnxruntime-web runtimes; ${runtime} gives the scores only.`;
    maps.append(p);
  }
  const table = document.createElement('table');
  table.className = 'scores';
  const cap = document.createElement('caption');
  cap.className = 'sr-only';
  cap.textContent = `Scores for ${name}`;
  table.append(cap);
  for (const [label, key, text, value] of scoreRows(r.score, classifier, r.ms, warmUp)) {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = label;
    const td = tr.insertCell();
    td.dataset.field = key;
    td.textContent = text;
    if (value !== null) {
      td.dataset.value = String(value);
      td.title = String(value);
    }
    tr.prepend(th);
  }
  li.dataset.runtime = runtime;
  if (warmUp) li.dataset.warmUp = 'true';
  li.append(h, verdict, maps, table);
  if (r.probs) {
    const top = document.createElement('p');
    top.className = 'top';
    top.dataset.field = 'top';
    top.textContent = 'Top classes: ' + topClasses(r.probs, 3).map(({ index, p }) => `${classes?.[index] ?? `class ${index}`} ${(p * 100).toFixed(1)}%`).join(', ');
    li.append(top);
  }
  return li;
}
