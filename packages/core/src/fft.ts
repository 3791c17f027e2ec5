/*
 * A small complex FFT for any length (mixed radix, recursive Cooley–Tukey with a naive
 * DFT step per prime factor), enough for model input sides such as 32, 224 or 299. Its
 * one user is `phaseImages`; twiddles are tabulated once per length.
 */

const tables = new Map<number, { cos: Float64Array; sin: Float64Array }>();

function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = tables.get(n);
  if (!t) {
    t = { cos: new Float64Array(n), sin: new Float64Array(n) };
    for (let k = 0; k < n; k++) { t.cos[k] = Math.cos((2 * Math.PI * k) / n); t.sin[k] = Math.sin((2 * Math.PI * k) / n); }
    tables.set(n, t);
  }
  return t;
}

/** In place; sign −1 is the forward transform, +1 the inverse without the 1/n scale. Lengths with large prime factors are slow (O(n·p)). */
export function fft(re: Float64Array, im: Float64Array, sign: 1 | -1): void {
  const n = re.length;
  if (n <= 1) return;
  let p = 2;
  while (n % p !== 0) p++;
  const m = n / p;
  const subRe: Float64Array[] = [], subIm: Float64Array[] = [];
  for (let r = 0; r < p; r++) {
    const sr = new Float64Array(m), si = new Float64Array(m);
    for (let j = 0; j < m; j++) { sr[j] = re[j * p + r]!; si[j] = im[j * p + r]!; }
    fft(sr, si, sign);
    subRe.push(sr); subIm.push(si);
  }
  const { cos, sin } = twiddles(n);
  for (let k = 0; k < n; k++) {
    const j = k % m;
    let ar = 0, ai = 0;
    for (let r = 0; r < p; r++) {
      const t = (r * k) % n, c = cos[t]!, s = sign * sin[t]!;
      const xr = subRe[r]![j]!, xi = subIm[r]![j]!;
      ar += xr * c - xi * s;
      ai += xr * s + xi * c;
    }
    re[k] = ar; im[k] = ai;
  }
}

/** 2-D transform of an H×W row-major plane, rows then columns. */
export function fft2(re: Float64Array, im: Float64Array, H: number, W: number, sign: 1 | -1): void {
  const rr = new Float64Array(W), ri = new Float64Array(W);
  for (let y = 0; y < H; y++) {
    const o = y * W;
    for (let x = 0; x < W; x++) { rr[x] = re[o + x]!; ri[x] = im[o + x]!; }
    fft(rr, ri, sign);
    re.set(rr, o); im.set(ri, o);
  }
  const cr = new Float64Array(H), ci = new Float64Array(H);
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) { cr[y] = re[y * W + x]!; ci[y] = im[y * W + x]!; }
    fft(cr, ci, sign);
    for (let y = 0; y < H; y++) { re[y * W + x] = cr[y]!; im[y * W + x] = ci[y]!; }
  }
}
