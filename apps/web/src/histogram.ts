/** Score histograms as inline SVG: the batch view (dropped images vs calibration ID scores). */

export interface Series {
  label: string;
  values: readonly number[];
  color: string;
}

export interface Binned {
  lo: number;
  hi: number;
  /** counts[s][b]: series s, bin b; bins are [lo + b·w, lo + (b+1)·w), the last one closed. */
  counts: number[][];
}

/** Shared bins over all series, so bars line up; the last bin includes the maximum. */
export function binSeries(series: readonly (readonly number[])[], bins: number, extra: readonly number[] = []): Binned {
  const all = [...series.flat(), ...extra].filter(Number.isFinite);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  const w = (hi - lo) / bins;
  const counts = series.map((vals) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of vals) if (Number.isFinite(v)) c[Math.min(bins - 1, Math.floor((v - lo) / w))]!++;
    return c;
  });
  return { lo, hi, counts };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Up to about five round tick values from 0 to `top` (a share, 0..1). */
function ticks(top: number): number[] {
  const raw = top / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return Array.from({ length: Math.floor(top / step + 1e-9) + 1 }, (_, i) => i * step);
}

const pctLabel = (v: number) => `${Number((v * 100).toPrecision(3))}%`;

/**
 * Each series is drawn as the share of its images per bin (count / series size), so
 * 300 calibration images and 3 dropped ones share one axis, which is labelled. A
 * dashed line marks the threshold.
 */
export function histogramSvg(title: string, series: readonly Series[], threshold: number | null, bins = 24): string {
  const W = 360, H = 170, pad = { l: 44, r: 8, t: 8, b: 46 };
  const nonEmpty = series.filter((s) => s.values.length > 0);
  if (nonEmpty.length === 0) return '';
  const { lo, hi, counts } = binSeries(nonEmpty.map((s) => s.values), bins, threshold === null ? [] : [threshold]);
  const dens = counts.map((c, i) => c.map((v) => v / nonEmpty[i]!.values.length));
  const yTicks = ticks(Math.max(...dens.flat(), 1e-9));
  const top = Math.max(Math.max(...dens.flat(), 1e-9), yTicks.at(-1)!);
  const plotH = H - pad.t - pad.b;
  const y = (v: number) => pad.t + (1 - v / top) * plotH;
  const x = (v: number) => pad.l + ((v - lo) / (hi - lo)) * (W - pad.l - pad.r);
  const bw = (W - pad.l - pad.r) / bins;
  const bars = dens
    .map((d, s) => d.map((v, b) => (v > 0 ? `<rect x="${(pad.l + b * bw).toFixed(1)}" y="${y(v).toFixed(1)}" width="${bw.toFixed(1)}" height="${((v / top) * plotH).toFixed(1)}" fill="${nonEmpty[s]!.color}" fill-opacity="0.55"/>` : '')).join(''))
    .join('');
  const th = threshold === null ? '' : `<line x1="${x(threshold).toFixed(1)}" x2="${x(threshold).toFixed(1)}" y1="${pad.t}" y2="${H - pad.b}" stroke="#111" stroke-dasharray="4 3"/>`;
  const yAxis = `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${H - pad.b}" stroke="#666"/>` +
    yTicks.map((t) => `<line x1="${pad.l - 4}" x2="${pad.l}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#666"/><text x="${pad.l - 6}" y="${(y(t) + 4).toFixed(1)}" font-size="10" text-anchor="end">${pctLabel(t)}</text>`).join('') +
    `<text transform="translate(10 ${(pad.t + plotH / 2).toFixed(1)}) rotate(-90)" font-size="10" text-anchor="middle">share of images</text>`;
  const xAxis = `<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#666"/><text x="${pad.l}" y="${H - pad.b + 13}" font-size="10">${lo.toPrecision(3)}</text><text x="${W - pad.r}" y="${H - pad.b + 13}" font-size="10" text-anchor="end">${hi.toPrecision(3)}</text><text x="${(pad.l + (W - pad.r)) / 2}" y="${H - pad.b + 13}" font-size="10" text-anchor="middle">score</text>`;
  const legend = nonEmpty.map((s, i) => `<rect x="${pad.l + i * 160}" y="${H - 13}" width="10" height="8" fill="${s.color}"/><text x="${pad.l + 14 + i * 160}" y="${H - 5}" font-size="11">${esc(s.label)} (${s.values.length})</text>`).join('');
  const desc = nonEmpty.map((s) => `${s.label}: ${s.values.length} scores`).join('; ');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(`${title}. ${desc}${threshold === null ? '' : `; threshold ${threshold.toPrecision(4)}`}`)}" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>${yAxis}${xAxis}${bars}${th}${legend}</svg>`;
}
