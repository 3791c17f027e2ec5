import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FstaError, planPreprocess, preprocessPixels, pixelsToRGB, rawTensorSamples, resizeBilinearRGB, stackBatch, type PreprocessSpec } from '../src/index.js';

const root = new URL('../../../', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('tools/fixtures/preprocess.json', root), 'utf8')) as {
  cases: { image: number; spec: PreprocessSpec; pixelsSha256: string; resizedSha256: string; tensorSha256: string; channelSums: number[]; probes: Record<string, number> }[];
};
// Same list, same order as tools/fixtures/preprocess-decode.mjs.
const images = [
  '../shared/data/imagenet-val-1k/n01440764_tench.JPEG',
  '../shared/data/imagenet-val-1k/n01443537_goldfish.JPEG',
  '../shared/data/imagenet-val-1k/n01518878_ostrich.JPEG',
  '../shared/data/textures/banded/banded_0002.jpg',
  '../shared/data/cifar10-test-png-1k/airplane/0000.png',
];
const sha = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const decode = async (i: number) => {
  const { data, info } = await sharp(new URL(images[i]!, root).pathname).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 as const };
};

describe('preprocess vs torchvision 0.14 on PIL (tools/fixtures/preprocess.py)', () => {
  it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i is bit-identical', async (_, c) => {
    const px = await decode(c.image);
    expect(sha(px.data)).toBe(c.pixelsSha256); // same decoded pixels as the fixture saw
    // The 8-bit resized + cropped image first, so a failure says which stage differs.
    const plan = planPreprocess(px.width, px.height, c.spec);
    const [w, h] = plan.resize ?? [px.width, px.height];
    const resized = plan.resize ? resizeBilinearRGB(px.data, px.width, px.height, w, h) : px.data;
    const cropped = new Uint8Array(plan.height * plan.width * 3);
    for (let y = 0; y < plan.height; y++) for (let x = 0; x < plan.width; x++) for (let ch = 0; ch < 3; ch++) {
      const sy = y + plan.top, sx = x + plan.left;
      cropped[(y * plan.width + x) * 3 + ch] = sy >= 0 && sy < h && sx >= 0 && sx < w ? resized[(sy * w + sx) * 3 + ch]! : 0;
    }
    expect(sha(cropped)).toBe(c.resizedSha256);
    const x = preprocessPixels(px, c.spec);
    for (const [i, v] of Object.entries(c.probes)) expect(x[Number(i)]).toBe(v);
    const per = x.length / 3;
    c.channelSums.forEach((s, ch) => expect(x.subarray(ch * per, (ch + 1) * per).reduce((a, b) => a + b, 0)).toBeCloseTo(s, 6));
    expect(sha(x)).toBe(c.tensorSha256);
  });
});

describe('resize and geometry, hand-derived', () => {
  it('halving a 4-pixel row uses the widened triangle filter, renormalized at the border', () => {
    // scale 2 -> support 2. Output 0: center 1, taps x=0..2 with weights 0.75, 0.75, 0.25 (sum 1.75):
    // (0·0.75 + 80·0.75 + 160·0.25) / 1.75 = 57.14 -> 57. Output 1: center 3, taps x=1..3 with
    // 0.25, 0.75, 0.75: (80·0.25 + 160·0.75 + 240·0.75) / 1.75 = 182.86 -> 183.
    const row = new Uint8Array([0, 0, 0, 80, 80, 80, 160, 160, 160, 240, 240, 240]);
    expect(Array.from(resizeBilinearRGB(row, 4, 1, 2, 1))).toEqual([57, 57, 57, 183, 183, 183]);
  });
  it('keeps an image already at the target size unchanged', () => {
    const px = { data: new Uint8Array([10, 20, 30, 40, 50, 60]), width: 2, height: 1, channels: 3 as const };
    const x = preprocessPixels(px, { size: [1, 2], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1] });
    expect(Array.from(x)).toEqual([10, 40, 20, 50, 30, 60].map((v) => Math.fround(v / 255)));
  });
  it('channelOrder BGR feeds blue first, normalized with the mean and std given in that order; a bad order is refused', () => {
    const px = { data: new Uint8Array([10, 20, 30, 40, 50, 60]), width: 2, height: 1, channels: 3 as const };
    const mean = [0.1, 0.2, 0.3], std = [0.5, 0.25, 0.125];
    const x = preprocessPixels(px, { size: [1, 2], crop: 'none', mean, std, channelOrder: 'BGR' });
    const f = Math.fround;
    const want = [[30, 60], [20, 50], [10, 40]].flatMap((vs, c) => vs.map((v) => f(f(f(v / 255) - f(mean[c]!)) / f(std[c]!))));
    expect(Array.from(x)).toEqual(want);
    expect(() => preprocessPixels(px, { size: [1, 2], crop: 'none', mean, std, channelOrder: 'GRB' as 'BGR' })).toThrow(/channelOrder/);
  });
  it('follows torchvision: long side truncated, offsets rounded half to even', () => {
    expect(planPreprocess(341, 256, { size: [224, 224], resizeShorter: 256, crop: 'center', mean: [0, 0, 0], std: [1, 1, 1] })).toEqual({ resize: null, top: 16, left: 58, height: 224, width: 224 });
    // 500x333 -> shorter 256: long = int(256*500/333) = 384; left = round(80) = 80, top = round(16) = 16
    expect(planPreprocess(500, 333, { size: [224, 224], resizeShorter: 256, crop: 'center', mean: [0, 0, 0], std: [1, 1, 1] })).toEqual({ resize: [384, 256], top: 16, left: 80, height: 224, width: 224 });
    // (45 - 40) / 2 = 2.5 -> 2 (half to even)
    expect(planPreprocess(45, 45, { size: [40, 40], crop: 'center', mean: [0, 0, 0], std: [1, 1, 1] }).top).toBe(2);
  });
  it('normalizes by level tables bit-identically to the per-pixel float32 formula: crops, zero padding, BGR, RGBA, Uint8ClampedArray', () => {
    const f = Math.fround;
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let it = 0; it < 60; it++) {
      const w = 1 + Math.floor(rnd() * 20), h = 1 + Math.floor(rnd() * 20), channels = rnd() < 0.3 ? 4 : 3;
      const data = new Uint8Array(w * h * channels).map(() => Math.floor(rnd() * 256));
      const spec: PreprocessSpec = { size: [1 + Math.floor(rnd() * 24), 1 + Math.floor(rnd() * 24)], crop: 'center', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], ...(rnd() < 0.5 ? { channelOrder: 'BGR' as const } : {}) };
      const px = { data: rnd() < 0.3 ? new Uint8ClampedArray(data) : data, width: w, height: h, channels: channels as 3 | 4 };
      const before = Uint8Array.from(px.data);
      const x = preprocessPixels(px, spec);
      expect(Buffer.compare(Buffer.from(px.data), Buffer.from(before))).toBe(0); // input untouched
      // The formula as torchvision writes it, one pixel at a time (no resize: crop and pad only).
      const rgb = pixelsToRGB(px).data;
      const { top, left, height: H, width: W } = planPreprocess(w, h, spec);
      const want = new Float32Array(3 * H * W);
      for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) {
        const sy = y + top, sx = xx + left, src = spec.channelOrder === 'BGR' ? 2 - c : c;
        const v = sy >= 0 && sy < h && sx >= 0 && sx < w ? rgb[(sy * w + sx) * 3 + src]! : 0;
        want[(c * H + y) * W + xx] = f(f(f(v / 255) - f(spec.mean[c]!)) / f(spec.std[c]!));
      }
      expect(x).toEqual(want);
    }
  });
  it('pixelsToRGB returns a copy, never the caller\'s pixels', () => {
    const px = { data: new Uint8Array([1, 2, 3]), width: 1, height: 1, channels: 3 as const };
    const rgb = pixelsToRGB(px).data;
    expect(rgb).not.toBe(px.data);
    expect(rgb).toBeInstanceOf(Uint8Array);
    expect(Array.from(pixelsToRGB({ ...px, data: new Uint8ClampedArray([1, 2, 3]) }).data)).toEqual([1, 2, 3]);
  });
  it('flattens alpha onto white by default and black on request', () => {
    const px = { data: new Uint8Array([200, 100, 0, 0, 200, 100, 0, 255, 200, 100, 0, 128]), width: 3, height: 1 };
    expect(Array.from(pixelsToRGB(px).data)).toEqual([255, 255, 255, 200, 100, 0, Math.round((200 * 128 + 255 * 127) / 255), Math.round((100 * 128 + 255 * 127) / 255), Math.round(255 * 127 / 255)]);
    expect(Array.from(pixelsToRGB(px, 0, { background: 'black' }).data)).toEqual([0, 0, 0, 200, 100, 0, Math.round(200 * 128 / 255), Math.round(100 * 128 / 255), 0]);
  });
  it('stacks a batch NCHW', () => {
    const b = stackBatch([new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])], [3, 1, 1]);
    expect(b.shape).toEqual([2, 3, 1, 1]);
    expect(Array.from(b.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('bad inputs give FstaErrors that name the problem and the sample', () => {
  const chw = [3, 2, 2];
  const ok = new Float32Array(12).fill(0.5);
  const err = (f: () => unknown): FstaError => {
    try { f(); } catch (e) { expect(e).toBeInstanceOf(FstaError); return e as FstaError; }
    throw new Error('expected an FstaError');
  };
  it('accepts CHW, NCHW and NHWC (transposed)', () => {
    expect(rawTensorSamples({ data: ok, shape: [3, 2, 2] }, chw)).toHaveLength(1);
    expect(rawTensorSamples({ data: new Float32Array(24), shape: [2, 3, 2, 2] }, chw)).toHaveLength(2);
    const nhwc = Float32Array.from({ length: 12 }, (_, i) => i); // (h, w, c) = value index
    const [s] = rawTensorSamples({ data: nhwc, shape: [1, 2, 2, 3], layout: 'NHWC' }, chw);
    expect(Array.from(s!)).toEqual([0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
  });
  it('wrong shape', () => expect(err(() => rawTensorSamples({ data: ok, shape: [3, 4, 1] }, chw, 5)).message).toMatch(/raw tensor input 5: shape \[3, 4, 1\].*\[3, 2, 2\]/));
  it('wrong rank', () => expect(err(() => rawTensorSamples({ data: ok, shape: [12] }, chw)).message).toMatch(/rank 1/));
  it('wrong dtype', () => expect(err(() => rawTensorSamples({ data: new Float64Array(12) as unknown as Float32Array, shape: [3, 2, 2] }, chw)).message).toMatch(/Float32Array, got Float64Array.*Float32Array\.from/));
  it('wrong layout', () => expect(err(() => rawTensorSamples({ data: ok, shape: [3, 2, 2], layout: 'CHW' as 'NCHW' }, chw)).code).toBe('BAD_TENSOR'));
  it('length mismatch', () => expect(err(() => rawTensorSamples({ data: new Float32Array(11), shape: [3, 2, 2] }, chw)).message).toMatch(/11 values.*needs 12/));
  it('NaN names the sample', () => {
    const d = new Float32Array(24); d[12 + 5] = NaN;
    const e = err(() => rawTensorSamples({ data: d, shape: [2, 3, 2, 2] }, chw, 3));
    expect(e.code).toBe('NON_FINITE');
    expect(e.message).toMatch(/sample 4 has NaN at flat index 5/);
  });
  it('Infinity', () => expect(err(() => rawTensorSamples({ data: new Float32Array(12).fill(Infinity), shape: [3, 2, 2] }, chw)).message).toMatch(/Infinity/));
  it('pixels that do not fit their size', () => expect(err(() => preprocessPixels({ data: new Uint8Array(10), width: 2, height: 2 }, { size: [2, 2], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1] }, 7)).message).toMatch(/image 7: 10 bytes do not fit 2x2/));
  it('a bad spec', () => expect(err(() => planPreprocess(4, 4, { size: [2, 2], crop: 'none', resizeShorter: 3, mean: [0, 0, 0], std: [1, 1, 1] })).code).toBe('BAD_PREPROCESS'));
});
