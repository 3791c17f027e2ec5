import { featureSim, referenceOps, tensor } from '@fsta/core';
import { describe, expect, it } from 'vitest';
import { colormap, fsHeatmap, heatmapRGBA } from '../src/heatmap.js';
import { binSeries, histogramSvg } from '../src/histogram.js';

describe('fsHeatmap', () => {
  it('is the per-position channel mean of |f − GAP(f)|, by hand', async () => {
    // N=1, C=2, H=1, W=2: channel 0 = [1, 3] (mean 2), channel 1 = [0, 4] (mean 2).
    const f = tensor([1, 3, 0, 4], [1, 2, 1, 2]);
    const map = await referenceOps.read(fsHeatmap(referenceOps, f));
    // position 0: (|1−2| + |0−2|)/2 = 1.5; position 1: (|3−2| + |4−2|)/2 = 1.5
    expect(Array.from(map)).toEqual([1.5, 1.5]);
    expect(referenceOps.shape(fsHeatmap(referenceOps, f))).toEqual([1, 1, 2]);
  });

  it('averages to FS over positions on random maps', async () => {
    const data = Float32Array.from({ length: 2 * 5 * 3 * 4 }, (_, i) => Math.sin(i * 1.7) * 3);
    const f = tensor(data, [2, 5, 3, 4]);
    const map = await referenceOps.read(fsHeatmap(referenceOps, f));
    const fs = await referenceOps.read(featureSim(referenceOps, f));
    for (let n = 0; n < 2; n++) {
      const mean = map.slice(n * 12, (n + 1) * 12).reduce((a, b) => a + b, 0) / 12;
      expect(mean).toBeCloseTo(fs[n]!, 5);
    }
  });

  it('refuses a map that is not NCHW', () => {
    expect(() => fsHeatmap(referenceOps, tensor([1, 2], [1, 2]))).toThrow(/NCHW/);
  });
});

describe('colours and histograms', () => {
  it('maps the ends of the range to the colormap ends', () => {
    expect(colormap(0)).toEqual([68, 1, 84]);
    expect(colormap(1)).toEqual([253, 231, 37]);
    const px = heatmapRGBA([0, 10], 0, 10);
    expect(Array.from(px)).toEqual([68, 1, 84, 255, 253, 231, 37, 255]);
  });

  it('bins series on shared edges, the maximum in the last bin', () => {
    const { lo, hi, counts } = binSeries([[0, 1, 2, 3], [3, 3]], 3);
    expect([lo, hi]).toEqual([0, 3]);
    expect(counts).toEqual([[1, 1, 2], [0, 0, 2]]);
  });

  it('draws an accessible SVG with the threshold line', () => {
    const svg = histogramSvg('Fused score', [{ label: 'ID', values: [1, 2, 3], color: '#00f' }], 2);
    expect(svg).toContain('role="img"');
    expect(svg).toContain('threshold 2.000');
    expect(svg).toContain('stroke-dasharray');
  });
});
