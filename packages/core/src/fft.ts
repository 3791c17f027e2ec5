/*
 * A small complex FFT for any length (mixed radix Cooley–Tukey, decimation in time, with a
 * naive DFT step per prime factor), enough for model input sides such as 32, 224 or 299.
 * Its one user is `phaseImages`, which runs thousands of transforms of one length: a plan
 * per length holds the factors, the twiddles and the work buffers, so a transform
 * allocates nothing.
 */

interface Plan {
  n: number;
  /** Prime factors, smallest first: the radix of each level of the recursion. */
  factors: number[];
  cos: Float64Array;
  sin: Float64Array;
  /** The transform is written here, then copied to where the caller wants it. */
  outRe: Float64Array;
  outIm: Float64Array;
  /** One butterfly's p twiddled inputs. */
  tRe: Float64Array;
  tIm: Float64Array;
  /** For each odd prime factor p, W_p^(r·q) at r·p + q (sign +1; the sine flips with the sign). */
  dft: Map<number, { cos: Float64Array; sin: Float64Array }>;
}

const plans = new Map<number, Plan>();

function planFor(n: number): Plan {
  let plan = plans.get(n);
  if (!plan) {
    const factors: number[] = [];
    for (let m = n, p = 2; m > 1; ) {
      while (m % p !== 0) p++;
      factors.push(p);
      m /= p;
    }
    const cos = new Float64Array(n), sin = new Float64Array(n);
    for (let k = 0; k < n; k++) { cos[k] = Math.cos((2 * Math.PI * k) / n); sin[k] = Math.sin((2 * Math.PI * k) / n); }
    const maxP = Math.max(1, ...factors);
    const dft = new Map<number, { cos: Float64Array; sin: Float64Array }>();
    for (const p of new Set(factors.filter((f) => f > 2))) {
      const w = { cos: new Float64Array(p * p), sin: new Float64Array(p * p) };
      for (let r = 0; r < p; r++) for (let q = 0; q < p; q++) { const t = ((r * q) % p) * (n / p); w.cos[r * p + q] = cos[t]!; w.sin[r * p + q] = sin[t]!; }
      dft.set(p, w);
    }
    plan = { n, factors, cos, sin, outRe: new Float64Array(n), outIm: new Float64Array(n), tRe: new Float64Array(maxP), tIm: new Float64Array(maxP), dft };
    plans.set(n, plan);
  }
  return plan;
}

/**
 * The length-`len` transform of x[off], x[off + stride], … into out[at … at + len), the
 * prime factors from `level` on. Each of the p decimated subsequences is transformed into
 * its own block of out, then the blocks are combined in place, one butterfly per j.
 */
function transform(plan: Plan, xRe: ArrayLike<number>, xIm: ArrayLike<number>, off: number, stride: number, len: number, level: number, at: number, sign: number): void {
  const { outRe, outIm } = plan;
  if (len === 1) { outRe[at] = xRe[off]!; outIm[at] = xIm[off]!; return; }
  const p = plan.factors[level]!, m = len / p;
  for (let r = 0; r < p; r++) transform(plan, xRe, xIm, off + r * stride, stride * p, m, level + 1, at + r * m, sign);
  const { cos, sin, tRe, tIm } = plan;
  // W_len^e is W_n^(e·step) in the plan's table of n.
  const step = plan.n / len;
  const w = p === 2 ? null : plan.dft.get(p)!;
  for (let j = 0; j < m; j++) {
    // The r-th input of this butterfly times W_len^(r·j); r·j < len, so no wrap-around.
    for (let r = 0; r < p; r++) {
      const i = at + r * m + j, t = r * j * step;
      const c = cos[t]!, s = sign * sin[t]!, xr = outRe[i]!, xi = outIm[i]!;
      tRe[r] = xr * c - xi * s;
      tIm[r] = xr * s + xi * c;
    }
    if (p === 2) {
      const i0 = at + j, i1 = i0 + m;
      outRe[i0] = tRe[0]! + tRe[1]!; outIm[i0] = tIm[0]! + tIm[1]!;
      outRe[i1] = tRe[0]! - tRe[1]!; outIm[i1] = tIm[0]! - tIm[1]!;
      continue;
    }
    // X[j + q·m] = Σ_r t_r · W_p^(r·q)
    for (let q = 0; q < p; q++) {
      let ar = 0, ai = 0;
      for (let r = 0; r < p; r++) {
        const c = w!.cos[r * p + q]!, s = sign * w!.sin[r * p + q]!;
        ar += tRe[r]! * c - tIm[r]! * s;
        ai += tRe[r]! * s + tIm[r]! * c;
      }
      outRe[at + q * m + j] = ar; outIm[at + q * m + j] = ai;
    }
  }
}

/** In place; sign −1 is the forward transform, +1 the inverse without the 1/n scale. Lengths with large prime factors are slow (O(n·p)). */
export function fft(re: Float64Array, im: Float64Array, sign: 1 | -1): void {
  const n = re.length;
  if (n <= 1) return;
  const plan = planFor(n);
  transform(plan, re, im, 0, 1, n, 0, 0, sign);
  re.set(plan.outRe); im.set(plan.outIm);
}

/** 2-D transform of an H×W row-major plane, rows then columns. */
export function fft2(re: Float64Array, im: Float64Array, H: number, W: number, sign: 1 | -1): void {
  if (W > 1) {
    const row = planFor(W);
    for (let y = 0; y < H; y++) {
      transform(row, re, im, y * W, 1, W, 0, 0, sign);
      re.set(row.outRe, y * W); im.set(row.outIm, y * W);
    }
  }
  if (H > 1) {
    const col = planFor(H);
    for (let x = 0; x < W; x++) {
      transform(col, re, im, x, W, H, 0, 0, sign);
      for (let y = 0; y < H; y++) { re[y * W + x] = col.outRe[y]!; im[y * W + x] = col.outIm[y]!; }
    }
  }
}
