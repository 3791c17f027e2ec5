import { FstaError } from './errors.js';
import type { PixelInput, RawTensorInput } from './detector.js';

/**
 * How a model wants its images: the `preprocess` field of a backbone manifest.
 * Pixels are resized (optionally), center-cropped to `size`, scaled to [0, 1] and
 * normalized per channel as (x − mean) / std, then laid out NCHW.
 */
export interface PreprocessSpec {
  /** Network input [height, width]. */
  size: readonly [number, number] | number[];
  /** Resize so the shorter side is this many pixels (aspect kept), then crop. */
  resizeShorter?: number;
  /**
   * 'center': center-crop to `size` (zero-padding an image smaller than `size`, as
   * torchvision's CenterCrop does). 'none': resize straight to `size`, ignoring the
   * aspect ratio (not allowed together with `resizeShorter`).
   */
  crop: 'center' | 'none';
  mean: readonly number[];
  std: readonly number[];
  layout?: 'NCHW';
  range?: readonly [number, number] | number[];
  /** Channel order the network takes (default RGB); 'BGR' for OpenCV-trained models. `mean` and `std` are in this order. */
  channelOrder?: 'RGB' | 'BGR';
}

export interface PixelOptions {
  /**
   * What transparent pixels are composited onto before anything else. White, because
   * transparent regions are usually "background" in product shots and icons, and
   * users see them on white. Every adapter flattens here, so all runtimes agree.
   */
  background?: 'white' | 'black';
}

/** Geometry of one image's trip through the pipeline; exposed for tests and tools. */
export interface PreprocessPlan {
  resize: [number, number] | null;
  /** Crop offsets into the (resized) image; negative means zero padding. */
  top: number;
  left: number;
  height: number;
  width: number;
}

const badSpec = (why: string) => new FstaError('BAD_PREPROCESS', `preprocess spec ${why}`, 'fix the manifest or the `preprocess` option: size [h, w], crop "center" or "none", three means and three positive stds');

function checkSpec(spec: PreprocessSpec): void {
  const [h, w] = spec.size;
  if (spec.size.length !== 2 || !Number.isInteger(h) || !Number.isInteger(w) || h! < 1 || w! < 1) throw badSpec(`size must be [height, width] positive integers, got [${spec.size.join(', ')}]`);
  if (spec.resizeShorter !== undefined && (!Number.isInteger(spec.resizeShorter) || spec.resizeShorter < 1)) throw badSpec(`resizeShorter must be a positive integer, got ${spec.resizeShorter}`);
  if (spec.crop !== 'center' && spec.crop !== 'none') throw badSpec(`crop must be "center" or "none", got ${String(spec.crop)}`);
  if (spec.crop === 'none' && spec.resizeShorter !== undefined) throw badSpec('has resizeShorter with crop "none"; the result would not have the network size');
  if (spec.mean.length !== 3 || spec.std.length !== 3) throw badSpec(`needs 3 means and 3 stds, got ${spec.mean.length} and ${spec.std.length}`);
  if (!spec.std.every((s) => s > 0) || !spec.mean.every(Number.isFinite)) throw badSpec('has a non-finite mean or a std ≤ 0');
  if (spec.layout !== undefined && spec.layout !== 'NCHW') throw badSpec(`layout ${String(spec.layout)} is not supported (only NCHW)`);
  if (spec.range !== undefined && (spec.range[0] !== 0 || spec.range[1] !== 1)) throw badSpec(`range [${spec.range.join(', ')}] is not supported (only [0, 1])`);
  if (spec.channelOrder !== undefined && spec.channelOrder !== 'RGB' && spec.channelOrder !== 'BGR') throw badSpec(`channelOrder must be "RGB" or "BGR", got ${String(spec.channelOrder)}`);
}

/** Python's round(): half to even, which torchvision's CenterCrop offsets use. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision 0.14 Resize(int) + CenterCrop geometry, exactly. */
export function planPreprocess(width: number, height: number, spec: PreprocessSpec): PreprocessPlan {
  checkSpec(spec);
  const [outH, outW] = spec.size as [number, number];
  if (spec.crop === 'none') return { resize: width === outW && height === outH ? null : [outW, outH], top: 0, left: 0, height: outH, width: outW };
  let w = width, h = height;
  let resize: [number, number] | null = null;
  if (spec.resizeShorter !== undefined) {
    const s = spec.resizeShorter;
    // torchvision: new_long = int(size * long / short); no-op when already that size.
    if (w <= h) { h = Math.floor((s * h) / w); w = s; } else { w = Math.floor((s * w) / h); h = s; }
    if (w !== width || h !== height) resize = [w, h];
  }
  // A side shorter than the crop is zero-padded by floor(missing / 2) before it (torchvision pads, then crops at 0).
  const offset = (have: number, want: number) => (have >= want ? roundHalfEven((have - want) / 2) : -Math.floor((want - have) / 2));
  return { resize, top: offset(h, outH), left: offset(w, outW), height: outH, width: outW };
}

interface Coeffs { bounds: Int32Array; kk: Int32Array; ksize: number }

// Pillow's fixed-point precision for 8-bit resampling (32 − 8 − 2).
const PRECISION_BITS = 22;

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter. */
function bilinearCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1 ? 1 - t : 0;
      ww += w[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x]! / ww : w[x]!;
      kk[xx * ksize + x] = Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

const clip8 = (ss: number): number => {
  const v = Math.floor(ss / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/**
 * Bilinear resize of 8-bit RGB (HWC), bit-exact with Pillow's `Image.resize(...,
 * BILINEAR)`: the triangle filter widened by the scale factor when downscaling
 * (antialiased), fixed-point coefficients, a horizontal then a vertical pass, each
 * rounded to 8 bits. That is what torchvision's Resize does on PIL images, which is
 * how the shared checkpoints were evaluated, so it is the one resize every fsta
 * adapter uses.
 */
export function resizeBilinearRGB(src: Uint8Array | Uint8ClampedArray, width: number, height: number, outW: number, outH: number): Uint8Array {
  const vert = bilinearCoeffs(height, outH);
  // Only the rows the vertical pass reads are resampled horizontally.
  const yFirst = vert.bounds[0]!;
  const yLast = vert.bounds[outH * 2 - 2]! + vert.bounds[outH * 2 - 1]!;
  const half = 1 << (PRECISION_BITS - 1);
  let img: Uint8Array | Uint8ClampedArray = src, w = width, rowOffset = 0;
  if (outW !== width) {
    const hor = bilinearCoeffs(width, outW);
    const rows = yLast - yFirst;
    const tmp = new Uint8Array(rows * outW * 3);
    for (let y = 0; y < rows; y++) {
      const rowIn = (y + yFirst) * width * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = hor.bounds[xx * 2]!, xmax = hor.bounds[xx * 2 + 1]!, k0 = xx * hor.ksize;
        let s0 = half, s1 = half, s2 = half;
        for (let x = 0; x < xmax; x++) {
          const k = hor.kk[k0 + x]!, p = rowIn + (x + xmin) * 3;
          s0 += src[p]! * k; s1 += src[p + 1]! * k; s2 += src[p + 2]! * k;
        }
        const o = (y * outW + xx) * 3;
        tmp[o] = clip8(s0); tmp[o + 1] = clip8(s1); tmp[o + 2] = clip8(s2);
      }
    }
    img = tmp; w = outW; rowOffset = yFirst;
  }
  if (outH === height) return img === src ? Uint8Array.from(src) : (img as Uint8Array);
  const out = new Uint8Array(outH * w * 3);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = vert.bounds[yy * 2]! - rowOffset, ymax = vert.bounds[yy * 2 + 1]!, k0 = yy * vert.ksize;
    for (let xx = 0; xx < w; xx++) {
      let s0 = half, s1 = half, s2 = half;
      for (let y = 0; y < ymax; y++) {
        const k = vert.kk[k0 + y]!, p = ((y + ymin) * w + xx) * 3;
        s0 += img[p]! * k; s1 += img[p + 1]! * k; s2 += img[p + 2]! * k;
      }
      const o = (yy * w + xx) * 3;
      out[o] = clip8(s0); out[o + 1] = clip8(s1); out[o + 2] = clip8(s2);
    }
  }
  return out;
}

const badPixels = (sample: number, why: string) => new FstaError('BAD_PIXELS', `image ${sample}: ${why}`, 'pass { data, width, height, channels } with 8-bit RGB or RGBA pixels, row-major (ImageData works as is)', { sample });

/** Validated 8-bit RGB (HWC) of a PixelInput, alpha composited onto the background. */
export function pixelsToRGB(input: PixelInput, sample = 0, options: PixelOptions = {}): { data: Uint8Array; width: number; height: number } {
  const rgb = rgbView(input, sample, options);
  return { ...rgb, data: rgb.data === input.data ? Uint8Array.from(rgb.data) : (rgb.data as Uint8Array) };
}

/** pixelsToRGB without the copy of pixels that are RGB already: preprocessPixels only reads them. */
function rgbView(input: PixelInput, sample: number, options: PixelOptions): { data: Uint8Array | Uint8ClampedArray; width: number; height: number } {
  const { data, width, height } = input;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) throw badPixels(sample, `pixel data must be a Uint8Array or Uint8ClampedArray, got ${data === null ? 'null' : (data as object)?.constructor?.name ?? typeof data}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw badPixels(sample, `width and height must be positive integers, got ${width}x${height}`);
  const n = width * height;
  const channels = input.channels ?? (data.length === n * 4 ? 4 : data.length === n * 3 ? 3 : 0);
  if ((channels !== 3 && channels !== 4) || data.length !== n * channels) throw badPixels(sample, `${data.length} bytes do not fit ${width}x${height} pixels with ${input.channels ?? '3 or 4'} channels`);
  if (channels === 3) return { data, width, height };
  const rgb = new Uint8Array(n * 3);
  const bg = options.background === 'black' ? 0 : 255;
  for (let i = 0; i < n; i++) {
    const a = data[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const v = data[i * 4 + c]!;
      // Straight (non-premultiplied) alpha, as ImageData and sharp's raw RGBA are.
      rgb[i * 3 + c] = a === 255 ? v : Math.round((v * a + bg * (255 - a)) / 255);
    }
  }
  return { data: rgb, width, height };
}

/**
 * Per channel, the normalized value of each 8-bit level: float32 operations in torchvision's
 * order (x / 255, then − mean, then / std), so a lookup is bit-identical to ToTensor + Normalize.
 */
function levelTables(spec: PreprocessSpec): Float32Array[] {
  const key = `${spec.mean.join()}/${spec.std.join()}`;
  if (lastTables?.key !== key) lastTables = { key, tables: makeLevelTables(spec) };
  return lastTables.tables;
}

// Every image of a detector has the same mean and std: the tables are made once.
let lastTables: { key: string; tables: Float32Array[] } | undefined;

function makeLevelTables(spec: PreprocessSpec): Float32Array[] {
  const f = Math.fround;
  return [0, 1, 2].map((c) => {
    const m = f(spec.mean[c]!), s = f(spec.std[c]!);
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = f(f(f(v / 255) - m) / s);
    return t;
  });
}

/**
 * One image → normalized float32 CHW. The float steps are float32 operations in
 * torchvision's order (x / 255, then − mean, then / std), so values are bit-identical
 * to ToTensor + Normalize.
 */
export function preprocessPixels(input: PixelInput, spec: PreprocessSpec, sample = 0, options: PixelOptions = {}): Float32Array {
  const rgb = rgbView(input, sample, options);
  const plan = planPreprocess(rgb.width, rgb.height, spec);
  let px = rgb.data, w = rgb.width, h = rgb.height;
  if (plan.resize) {
    [w, h] = plan.resize;
    px = resizeBilinearRGB(rgb.data, rgb.width, rgb.height, w, h);
  }
  const { top, left, height: H, width: W } = plan;
  const tables = levelTables(spec);
  const out = new Float32Array(3 * H * W);
  // The part of the crop inside the image; the rest (torchvision's zero padding) is the normalized 0.
  const y0 = Math.max(0, -top), y1 = Math.min(H, h - top), x0 = Math.max(0, -left), x1 = Math.min(W, w - left);
  for (let c = 0; c < 3; c++) {
    const t = tables[c]!, plane = c * H * W;
    const src = spec.channelOrder === 'BGR' ? 2 - c : c;
    if (y0 > 0 || x0 > 0 || y1 < H || x1 < W) out.fill(t[0]!, plane, plane + H * W);
    for (let y = y0; y < y1; y++) {
      const row = plane + y * W;
      for (let x = x0, p = ((y + top) * w + x0 + left) * 3 + src; x < x1; x++, p += 3) out[row + x] = t[px[p]!]!;
    }
  }
  return out;
}

/** Concatenates per-image CHW arrays into one NCHW batch. */
export function stackBatch(images: readonly Float32Array[], chw: readonly [number, number, number] | readonly number[]): { data: Float32Array; shape: number[] } {
  const per = chw[0]! * chw[1]! * chw[2]!;
  const data = new Float32Array(images.length * per);
  images.forEach((img, i) => {
    if (img.length !== per) throw new FstaError('SHAPE_MISMATCH', `image ${i} has ${img.length} values, expected ${per} for [${chw.join(', ')}]`, 'preprocess every image to the network size');
    data.set(img, i * per);
  });
  return { data, shape: [images.length, ...chw] };
}

export function isRawTensorInput(x: unknown): x is RawTensorInput {
  return typeof x === 'object' && x !== null && 'shape' in x && 'data' in x && !('width' in x);
}

export function isPixelInput(x: unknown): x is PixelInput {
  return typeof x === 'object' && x !== null && 'data' in x && 'width' in x && 'height' in x && !('close' in x);
}

/**
 * Validates a raw tensor (CHW, or NCHW/NHWC with a batch) against the network's
 * [C, H, W] and returns one CHW Float32Array per sample. `firstSample` is the
 * index of its first sample among all inputs of the call, for error messages.
 */
export function rawTensorSamples(input: RawTensorInput, chw: readonly number[], firstSample = 0): Float32Array[] {
  const want = `[N, ${chw.join(', ')}] or [${chw.join(', ')}]`;
  const bad = (why: string, fix: string) => new FstaError('BAD_TENSOR', `raw tensor input ${firstSample}: ${why}`, fix, { sample: firstSample });
  if (!(input.data instanceof Float32Array)) throw bad(`data must be a Float32Array, got ${(input.data as object)?.constructor?.name ?? typeof input.data}`, 'convert with Float32Array.from(data); fsta does not cast other dtypes silently');
  const layout = input.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw bad(`layout "${String(layout)}" is not supported`, 'pass layout "NCHW" (default) or "NHWC"');
  const shape = [...input.shape];
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw bad(`shape [${shape.join(', ')}] has a non-positive or non-integer dimension`, `pass shape ${want}`);
  if (shape.length === 3) shape.unshift(1);
  if (shape.length !== 4) throw bad(`rank ${input.shape.length} (shape [${input.shape.join(', ')}]); expected ${want}`, `reshape to ${layout === 'NHWC' ? `[N, ${chw[1]}, ${chw[2]}, ${chw[0]}]` : want}`);
  const [n, a, b, c] = shape as [number, number, number, number];
  const [C, H, W] = chw as [number, number, number];
  const got = layout === 'NCHW' ? [a, b, c] : [c, a, b];
  if (got[0] !== C || got[1] !== H || got[2] !== W) throw bad(`shape [${input.shape.join(', ')}] (${layout}) does not match the model input [C, H, W] = [${chw.join(', ')}]`, layout === 'NCHW' ? `pass ${want}, preprocessed as the backbone manifest says` : `pass [N, ${H}, ${W}, ${C}] with layout "NHWC"`);
  const per = C * H * W;
  if (input.data.length !== n * per) throw bad(`data has ${input.data.length} values but shape [${input.shape.join(', ')}] needs ${n * per}`, 'make data.length the product of the shape');
  const out: Float32Array[] = [];
  for (let s = 0; s < n; s++) {
    const src = input.data.subarray(s * per, (s + 1) * per);
    for (let i = 0; i < per; i++) {
      if (!Number.isFinite(src[i]!)) throw new FstaError('NON_FINITE', `raw tensor input ${firstSample}: sample ${firstSample + s} has ${src[i]} at flat index ${i}`, 'fix the preprocessing that produced it; fsta never scores non-finite values', { sample: firstSample + s, index: i });
    }
    if (layout === 'NCHW') { out.push(src.slice()); continue; }
    const chwData = new Float32Array(per);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let ch = 0; ch < C; ch++) chwData[ch * H * W + y * W + x] = src[(y * W + x) * C + ch]!;
    out.push(chwData);
  }
  return out;
}
