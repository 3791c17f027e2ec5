// Candidate synthetic OOD kinds for issue 17's study, each made from a batch of preprocessed
// ID validation images [N, C, H, W] (or from nothing: noise). The kinds that prove useful
// move into @fsta/core next to noiseImages and jigsawImages.
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

/** A random quarter-side patch of each image, mirror-tiled over the whole frame: a periodic texture with ID's local statistics. */
function tile(x, shape, seed, div = 4) {
  const [N, C, H, W] = shape, ph = Math.floor(H / div), pw = Math.floor(W / div), rand = mulberry32(seed);
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++) {
    const y0 = Math.floor(rand() * (H - ph + 1)), x0 = Math.floor(rand() * (W - pw + 1));
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * H * W;
      for (let y = 0; y < H; y++) {
        const ty = Math.floor(y / ph) % 2 ? ph - 1 - (y % ph) : y % ph;
        for (let xx = 0; xx < W; xx++) {
          const tx = Math.floor(xx / pw) % 2 ? pw - 1 - (xx % pw) : xx % pw;
          out[o + y * W + xx] = x[o + (y0 + ty) * W + x0 + tx];
        }
      }
    }
  }
  return out;
}

/** In-place mixed-radix complex FFT of length n (any n; small prime factors are fast). sign -1 forward, +1 inverse (unscaled). */
function fft(re, im, sign) {
  const n = re.length;
  if (n === 1) return;
  let p = 2;
  while (n % p) p++;
  const m = n / p;
  const subs = Array.from({ length: p }, (_, r) => {
    const sr = new Float64Array(m), si = new Float64Array(m);
    for (let j = 0; j < m; j++) { sr[j] = re[j * p + r]; si[j] = im[j * p + r]; }
    fft(sr, si, sign);
    return [sr, si];
  });
  for (let k = 0; k < n; k++) {
    let ar = 0, ai = 0;
    for (let r = 0; r < p; r++) {
      const ang = (sign * 2 * Math.PI * r * k) / n, c = Math.cos(ang), s = Math.sin(ang);
      const [sr, si] = subs[r], j = k % m;
      ar += sr[j] * c - si[j] * s;
      ai += sr[j] * s + si[j] * c;
    }
    re[k] = ar; im[k] = ai;
  }
}
function fft2(re, im, H, W, sign) {
  const rr = new Float64Array(W), ri = new Float64Array(W);
  for (let y = 0; y < H; y++) { for (let x = 0; x < W; x++) { rr[x] = re[y * W + x]; ri[x] = im[y * W + x]; } fft(rr, ri, sign); for (let x = 0; x < W; x++) { re[y * W + x] = rr[x]; im[y * W + x] = ri[x]; } }
  const cr = new Float64Array(H), ci = new Float64Array(H);
  for (let x = 0; x < W; x++) { for (let y = 0; y < H; y++) { cr[y] = re[y * W + x]; ci[y] = im[y * W + x]; } fft(cr, ci, sign); for (let y = 0; y < H; y++) { re[y * W + x] = cr[y]; im[y * W + x] = ci[y]; } }
}

/** Fourier phase randomization: each image keeps its amplitude spectrum (per channel), with one random phase field added to every channel. */
function phase(x, shape, seed) {
  const [N, C, H, W] = shape, P = H * W, rand = mulberry32(seed), out = new Float32Array(x.length);
  for (let n = 0; n < N; n++) {
    const nr = new Float64Array(P), ni = new Float64Array(P);
    for (let i = 0; i < P; i++) nr[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    fft2(nr, ni, H, W, -1);
    const phi = Float64Array.from(nr, (r, i) => Math.atan2(ni[i], r));
    phi[0] = 0;
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * P, re = Float64Array.from(x.subarray(o, o + P)), im = new Float64Array(P);
      fft2(re, im, H, W, -1);
      for (let i = 0; i < P; i++) {
        const a = Math.hypot(re[i], im[i]), t = Math.atan2(im[i], re[i]) + phi[i];
        re[i] = a * Math.cos(t); im[i] = a * Math.sin(t);
      }
      fft2(re, im, H, W, 1);
      for (let i = 0; i < P; i++) out[o + i] = re[i] / P;
    }
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
  // The prototypes first tried; core's tileImages and phaseImages (below) are what calibration ships.
  tileProto: (x, shape) => same(tile(x, shape, 6), shape),
  phaseProto: (x, shape) => same(phase(x, shape, 7), shape),
  tile: (x, shape) => same(tileImages(x, shape, { seed: 1 }).data, shape),
  phase: (x, shape) => same(phaseImages(x, shape, { seed: 2 }).data, shape),
  channels: (x, shape, pre) => same(channels(x, shape, pre, 8), shape),
};
