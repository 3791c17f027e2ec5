import { basename, dirname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Gmm2 } from '@fsta/core';
import type { Grid, SampleMaps } from '../engine/sample-maps.js';
import { esc, vegaLiteSvg } from './vega-svg.js';

const SIDE = 96;

/** The file and its folder: class folders tell ID samples apart. */
const shortName = (file: string) => `${basename(dirname(file))}/${basename(file)}`;

/**
 * One heatmap of the FS integrand, drawn half-transparent over the model's input image
 * so a bright cell points at the part of the image it comes from; `max` is shared by
 * every map of its column so images compare.
 */
function heatmap(g: Grid, title: string, max: number, image: string) {
  const values = g.values.map((v, i) => ({ x: i % g.width, y: Math.floor(i / g.width), v }));
  const scale = SIDE / Math.max(g.width, g.height);
  const width = g.width * scale, height = g.height * scale;
  return {
    title: { text: title, fontSize: 11 },
    width, height,
    layer: [
      { data: { values: [{ url: image }] }, mark: { type: 'image', width, height, align: 'left', baseline: 'top', aspect: false, smooth: false, aria: false }, encoding: { url: { field: 'url', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } } },
      {
        data: { values }, mark: { type: 'rect', tooltip: true, opacity: 0.6 },
        encoding: {
          x: { field: 'x', type: 'ordinal', axis: null },
          y: { field: 'y', type: 'ordinal', axis: null },
          color: { field: 'v', type: 'quantitative', title: null, scale: { scheme: 'inferno', domain: [0, max] }, legend: { gradientLength: SIDE - 10, padding: 2, offset: 4 } },
        },
      },
    ],
  };
}

const normalPdf = (x: number, mean: number, variance: number) => Math.exp(-((x - mean) ** 2) / (2 * variance)) / Math.sqrt(2 * Math.PI * variance);

/** Histogram of the per-channel intensities as a density, with both weighted GMM components and their sum. */
function gmmChart(values: number[], gmm: Gmm2, score: number) {
  const lo = Math.min(...values), hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) || 1;
  const bins = Math.min(30, Math.max(8, Math.round(Math.sqrt(values.length) * 2)));
  const width = span / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
  const bars = counts.map((c, i) => ({ start: lo + i * width, end: lo + (i + 1) * width, density: c / (values.length * width) }));
  const names = ['low-mean part', 'high-mean part', 'mixture'];
  const lines: { x: number; density: number; part: string }[] = [];
  const from = lo - 0.1 * span, to = hi + 0.1 * span, steps = 240;
  for (let s = 0; s <= steps; s++) {
    const x = from + ((to - from) * s) / steps;
    const parts = [0, 1].map((j) => gmm.weights[j]! * normalPdf(x, gmm.means[j]!, gmm.variances[j]!));
    parts.forEach((d, j) => lines.push({ x, density: d, part: names[j]! }));
    lines.push({ x, density: parts[0]! + parts[1]!, part: names[2]! });
  }
  // A near-zero-variance component is a tall spike; cap the axis so the histogram stays readable.
  const barMax = Math.max(...bars.map((b) => b.density));
  const lineMax = Math.max(...lines.map((l) => l.density));
  const yMax = Math.max(1.15 * barMax, Math.min(lineMax * 1.05, 3 * barMax));
  const y = { field: 'density', type: 'quantitative', title: 'density', scale: { domain: [0, yMax] } };
  return {
    title: { text: `channel intensities (${values.length} channels), GMM score ${score.toPrecision(4)}`, fontSize: 11 },
    width: 260, height: SIDE,
    layer: [
      { data: { values: bars }, mark: { type: 'bar', color: '#bbb' }, encoding: { x: { field: 'start', type: 'quantitative', bin: 'binned', title: 'per-channel GAP of the FS-stage map', scale: { domain: [from, to], nice: false } }, x2: { field: 'end' }, y } },
      { data: { values: lines }, mark: { type: 'line', clip: true, strokeWidth: 1.5 }, encoding: { x: { field: 'x', type: 'quantitative' }, y, color: { field: 'part', type: 'nominal', title: null, scale: { domain: names, range: ['#1f77b4', '#d62728', '#333'] }, legend: { labelFontSize: 10, labelLimit: 120 } }, strokeDash: { field: 'part', type: 'nominal', title: null, scale: { domain: names, range: [[1, 0], [1, 0], [3, 2]] } } } },
    ],
  };
}

/**
 * The report section for sample images: per image, the model's input, the FS heatmap
 * without and with TA (the paper's Fig. 1) and the per-channel intensity histogram
 * with the fitted 2-component GMM (Fig. 3). Each row is one Vega-Lite chart.
 */
export async function renderSamples(samples: readonly SampleMaps[]): Promise<string> {
  const max = (grids: (Grid | null)[]) => Math.max(1e-12, ...grids.flatMap((g) => (g ? g.values : [])));
  const mapMax = max(samples.map((s) => s.map));
  const taMax = max(samples.map((s) => s.taMap));
  const rows: string[] = [];
  for (const s of samples) {
    const charts: unknown[] = [heatmap(s.map, `without TA: FS ${s.fs.toPrecision(4)}`, mapMax, s.image)];
    if (s.taMap && s.fsTa !== null) charts.push(heatmap(s.taMap, `with TA: FS+TA ${s.fsTa.toPrecision(4)}`, taMax, s.image));
    charts.push(gmmChart(s.channelMeans, s.gmm, s.gmmScore));
    const chart = await vegaLiteSvg({ hconcat: charts, resolve: { scale: { color: 'independent', strokeDash: 'independent' } }, spacing: 12, config: { view: { stroke: null } } } as TopLevelSpec);
    rows.push(`<div class="sample" data-set="${esc(s.set)}"><figure><img src="${s.image}" alt="${esc(shortName(s.file))}"><figcaption><b>${esc(s.set)}</b>: ${esc(shortName(s.file))}</figcaption></figure>${chart}</div>`);
  }
  const ta = samples.some((s) => s.taMap);
  return `<h2 id="feature-maps">Feature maps of sample images</h2>
<p>Each heatmap is drawn over the model's input image (60% opaque); it is the FS integrand at the FS stage, |f − GAP(f)| averaged over channels, per position; its mean is the image's FS score.${ta ? ' "With TA" is the same map on the second pass, with ReLU(f − k) at the TA stage; its mean is FS+TA.' : ''} Colours share one scale per column across all images, so brighter means a larger contribution to the score. The histogram shows the image's per-channel mean activations at the FS stage with the 2-component Gaussian mixture fitted to them (weighted densities); GMM score = (μ<sub>high</sub> − μ<sub>low</sub>)·w<sub>high</sub>/w<sub>low</sub>.</p>
${rows.join('\n')}`;
}
