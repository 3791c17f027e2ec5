import { describe, expect, it } from 'vitest';
import { CALIBRATION_DEFAULTS, FstaError, mulberry32, phaseImages, syntheticSet, tileImages } from '../src/index.js';
import { fft, fft2 } from '../src/fft.js';

/** The textbook O(n²) DFT, independent of fft.ts. */
function dft(re: number[], im: number[], sign: 1 | -1): [number[], number[]] {
  const n = re.length, or = new Array(n).fill(0), oi = new Array(n).fill(0);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) {
    const a = (sign * 2 * Math.PI * j * k) / n;
    or[k] += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
    oi[k] += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
  }
  return [or, oi];
}
/** 2-D amplitude spectrum by the naive DFT, rows then columns. */
function amplitude(plane: ArrayLike<number>, H: number, W: number): number[] {
  let re = Array.from(plane, Number), im = new Array(H * W).fill(0);
  for (let y = 0; y < H; y++) { const [r, i] = dft(re.slice(y * W, y * W + W), im.slice(y * W, y * W + W), -1); r.forEach((v, x) => { re[y * W + x] = v; im[y * W + x] = i[x]; }); }
  for (let x = 0; x < W; x++) { const col = (a: number[]) => Array.from({ length: H }, (_, y) => a[y * W + x]!); const [r, i] = dft(col(re), col(im), -1); r.forEach((v, y) => { re[y * W + x] = v; im[y * W + x] = i[y]; }); }
  return re.map((r, i) => Math.hypot(r, im[i]!));
}
const randomImages = (n: number, seed: number) => { const r = mulberry32(seed); return Float32Array.from({ length: n }, () => r() * 4 - 2); };

describe('fft', () => {
  it('equals the naive DFT for lengths with small and large prime factors, both signs', () => {
    for (const n of [1, 2, 3, 7, 12, 32, 45, 56, 224, 299]) {
      const r = mulberry32(n);
      const re = Array.from({ length: n }, () => r() - 0.5), im = Array.from({ length: n }, () => r() - 0.5);
      for (const sign of [-1, 1] as const) {
        const fr = Float64Array.from(re), fi = Float64Array.from(im);
        fft(fr, fi, sign);
        const [er, ei] = dft(re, im, sign);
        er.forEach((v, k) => { expect(fr[k]).toBeCloseTo(v, 10); expect(fi[k]).toBeCloseTo(ei[k]!, 10); });
      }
    }
  });
  it('fft2 forward then inverse / (H·W) gives the plane back', () => {
    const H = 14, W = 10, x = Float64Array.from(randomImages(H * W, 3)), re = Float64Array.from(x), im = new Float64Array(H * W);
    fft2(re, im, H, W, -1);
    fft2(re, im, H, W, 1);
    re.forEach((v, i) => expect(v / (H * W)).toBeCloseTo(x[i]!, 10));
    im.forEach((v) => expect(Math.abs(v / (H * W))).toBeLessThan(1e-10));
  });
  it('fft2 equals the naive 2-D DFT on a non-square plane, both signs', () => {
    const H = 12, W = 21, r = mulberry32(9);
    const re0 = Array.from({ length: H * W }, () => r() - 0.5), im0 = Array.from({ length: H * W }, () => r() - 0.5);
    for (const sign of [-1, 1] as const) {
      // Rows, then columns, each by the textbook DFT.
      let er = re0.slice(), ei = im0.slice();
      for (let y = 0; y < H; y++) { const [a, b] = dft(er.slice(y * W, y * W + W), ei.slice(y * W, y * W + W), sign); a.forEach((v, x) => { er[y * W + x] = v; ei[y * W + x] = b[x]!; }); }
      for (let x = 0; x < W; x++) { const col = (a: number[]) => Array.from({ length: H }, (_, y) => a[y * W + x]!); const [a, b] = dft(col(er), col(ei), sign); a.forEach((v, y) => { er[y * W + x] = v; ei[y * W + x] = b[y]!; }); }
      const fr = Float64Array.from(re0), fi = Float64Array.from(im0);
      fft2(fr, fi, H, W, sign);
      er.forEach((v, i) => { expect(fr[i]).toBeCloseTo(v, 10); expect(fi[i]).toBeCloseTo(ei[i]!, 10); });
    }
  });
});

describe('phaseImages', () => {
  for (const C of [1, 2, 3]) {
    it(`keeps every channel's amplitude spectrum and mean, and changes the image (C=${C})`, () => {
      const N = 2, H = 6, W = 10, P = H * W, x = randomImages(N * C * P, C);
      const out = phaseImages(x, [N, C, H, W], { seed: 5 }).data;
      for (let p = 0; p < N * C; p++) {
        const a = amplitude(x.subarray(p * P, (p + 1) * P), H, W), b = amplitude(out.subarray(p * P, (p + 1) * P), H, W);
        a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 3));
        let d = 0;
        for (let i = 0; i < P; i++) d += Math.abs(out[p * P + i]! - x[p * P + i]!);
        expect(d / P).toBeGreaterThan(0.1);
      }
    });
  }
  it('adds the same phase to every channel of an image: a channel copied twice stays a copy', () => {
    const H = 8, W = 8, one = randomImages(H * W, 9), x = new Float32Array(3 * H * W);
    for (let c = 0; c < 3; c++) x.set(one, c * H * W);
    const out = phaseImages(x, [1, 3, H, W], { seed: 2 }).data;
    for (let i = 0; i < H * W; i++) { expect(out[H * W + i]).toBeCloseTo(out[i]!, 4); expect(out[2 * H * W + i]).toBeCloseTo(out[i]!, 4); }
  });
  it('is deterministic for a seed and differs between seeds', () => {
    const x = randomImages(3 * 16 * 16, 1), shape = [1, 3, 16, 16];
    expect(phaseImages(x, shape, { seed: 4 }).data).toEqual(phaseImages(x, shape, { seed: 4 }).data);
    expect(phaseImages(x, shape, { seed: 4 }).data).not.toEqual(phaseImages(x, shape, { seed: 5 }).data);
  });
  it('refuses a shape that does not match the data', () => {
    expect(() => phaseImages(new Float32Array(10), [1, 3, 2, 2])).toThrow(FstaError);
    expect(() => phaseImages(new Float32Array(12), [3, 2, 2])).toThrow(/not \[N, C, H, W\]/);
  });
});

describe('tileImages', () => {
  it('mirror-tiles one patch per image over the frame, the same patch place for every channel', () => {
    const H = 8, W = 8, x = Float32Array.from({ length: 2 * H * W }, (_, i) => i);
    const out = tileImages(x, [1, 2, H, W], { seed: 3, divisions: 4 }).data;
    // Patch 2x2 at some (y0, x0): rows/cols go p0 p1 p1 p0 p0 p1 p1 p0.
    const y0 = Math.floor(out[0]! / W), x0 = out[0]! % W;
    const fold = (i: number) => [0, 1, 1, 0][i % 4]!;
    for (let c = 0; c < 2; c++) for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) {
      expect(out[c * H * W + y * W + xx]).toBe(x[c * H * W + (y0 + fold(y)) * W + x0 + fold(xx)]);
    }
  });
  it('is deterministic for a seed; refuses divisions that do not fit', () => {
    const x = randomImages(2 * 3 * 12 * 12, 2), shape = [2, 3, 12, 12];
    expect(tileImages(x, shape, { seed: 1 }).data).toEqual(tileImages(x, shape, { seed: 1 }).data);
    expect(() => tileImages(x, shape, { divisions: 13 })).toThrow(/divisions/);
    expect(() => tileImages(x, shape, { divisions: 1 })).toThrow(/divisions/);
  });
});

describe('syntheticSet tile and phase', () => {
  it('are the core functions on evenly spread ID images with seed 1 + position, and the defaults', () => {
    const chw = [3, 8, 8] as const, norm = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
    const id = Array.from({ length: 6 }, (_, i) => randomImages(3 * 64, 10 + i));
    const stacked = new Float32Array(4 * 192);
    [0, 2, 3, 5].forEach((i, j) => stacked.set(id[i]!, j * 192)); // spreadPicks(6, 4)
    expect(syntheticSet('tile', 0, 4, chw, norm, id).data).toEqual(tileImages(stacked, [4, 3, 8, 8], { seed: 1 }).data);
    expect(syntheticSet('phase', 1, 4, chw, norm, id).data).toEqual(phaseImages(stacked, [4, 3, 8, 8], { seed: 2 }).data);
    expect(() => syntheticSet('phase', 1, 4, chw, norm, [])).toThrow(/no ID validation images to make the phase set/);
    expect(CALIBRATION_DEFAULTS.syntheticSets).toEqual(['tile', 'phase']);
  });
});
