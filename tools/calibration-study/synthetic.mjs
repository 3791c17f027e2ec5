// Candidate synthetic OOD kinds for issue 17's study, each made from a batch of preprocessed
// ID validation images [N, C, H, W] (or from nothing: noise); tile and phase are core's, which
// calibration ships.
import { jigsawImages, mulberry32, noiseImages, phaseImages, tileImages } from '@fsta/core';

const toPixels = (x, shape, pre) => {
  const [N, C, H, W] = shape, out = new Float32Array(x.length), plane = H * W;
  for (let i = 0; i < N * C; i++) { const c = i % C; for (let j = 0; j < plane; j++) out[i * plane + j] = x[i * plane + j] * pre.std[c] + pre.mean[c]; }
  return out;
};
const toInput = (p, shape, pre) => {
  const [N, C, H, W] = shape, out = new Float32Array(p.length), plane = H * W;
  for (let i = 0; i < N * C; i++) { const c = i % C; for (let j = 0; j < plane; j++) out[i * plane + j] = (Math.min(1, Math.max(0, p[i * plane + j])) - pre.mean[c]) / pre.std[c]; }
  return out;
};

/** Separable Gaussian blur, reflect borders, on each plane. */
function blur(x, shape, sigma) {
  const [N, C, H, W] = shape, r = Math.ceil(3 * sigma), k = [];
  let s = 0;
  for (let i = -r; i <= r; i++) { k.push(Math.exp(-(i * i) / (2 * sigma * sigma))); s += k[k.length - 1]; }
  for (let i = 0; i < k.length; i++) k[i] /= s;
  const refl = (i, n) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  const out = new Float32Array(x.length), tmp = new Float32Array(H * W);
  for (let p = 0; p < N * C; p++) {
    const o = p * H * W;
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) { let a = 0; for (let d = -r; d <= r; d++) a += k[d + r] * x[o + y * W + refl(xx + d, W)]; tmp[y * W + xx] = a; }
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) { let a = 0; for (let d = -r; d <= r; d++) a += k[d + r] * tmp[refl(y + d, H) * W + xx]; out[o + y * W + xx] = a; }
  }
  return out;
}

/** Channels of each image in pixel space put in a random non-identity order. */
function channels(x, shape, pre, seed) {
  const [N, C, H, W] = shape, P = H * W, rand = mulberry32(seed), px = toPixels(x, shape, pre), out = new Float32Array(x.length);
  const perms = [[1, 2, 0], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 0, 2]];
  for (let n = 0; n < N; n++) {
    const perm = perms[Math.floor(rand() * perms.length)];
    for (let c = 0; c < C; c++) out.set(px.subarray((n * C + perm[c]) * P, (n * C + perm[c] + 1) * P), (n * C + c) * P);
  }
  return toInput(out, shape, pre);
}

const same = (data, shape) => ({ data, n: shape[0] });
export const SYNTHETIC_BUILDERS = {
  gaussian: (_x, shape, pre, count) => ({ data: noiseImages('gaussian', count, shape.slice(1), { mean: pre.mean, std: pre.std, seed: 1 }).data, n: count }),
  uniform: (_x, shape, pre, count) => ({ data: noiseImages('uniform', count, shape.slice(1), { mean: pre.mean, std: pre.std, seed: 2 }).data, n: count }),
  jigsaw: (x, shape) => same(jigsawImages(x, shape, { grid: 4, seed: 3 }).data, shape),
  jigsaw2: (x, shape) => same(jigsawImages(x, shape, { grid: 2, seed: 4 }).data, shape),
  jigsaw8: (x, shape) => same(jigsawImages(x, shape, { grid: 8, seed: 5 }).data, shape),
  blur: (x, shape) => same(blur(x, shape, shape[3] / 32), shape),
  tile: (x, shape) => same(tileImages(x, shape, { seed: 1 }).data, shape),
  phase: (x, shape) => same(phaseImages(x, shape, { seed: 2 }).data, shape),
  channels: (x, shape, pre) => same(channels(x, shape, pre, 8), shape),
};
