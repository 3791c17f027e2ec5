import { checkImageBatch, checkPatchGrid, checkSeed, mulberry32 } from './calibration.js';
import type { NoiseImages } from './calibration.js';
import { fft2 } from './fft.js';

/*
 * Texture-like synthetic OOD made from ID validation images: the local statistics of ID
 * data without its objects. Issue 17's study (tools/calibration-study) found that these two
 * rank TA candidates the way real texture and far-OOD sets do (Spearman ρ 0.85 and 0.94 on
 * MobileNetV2, 0.71–0.98 and 0.37–0.88 on CIFAR ResNets), where 4x4 jigsaw pointed the
 * other way on MobileNetV2 (ρ −0.01).
 */

export interface TileOptions {
  /** The patch is 1/divisions of each side. Default 4. */
  divisions?: number;
  seed?: number;
}

/**
 * A periodic texture per ID image: one patch (a quarter of each side by default, at a
 * seeded random place) mirror-tiled over the whole frame, the same place for every
 * channel. Colours and local texture are ID's; objects and layout are gone.
 */
export function tileImages(images: ArrayLike<number>, shape: readonly number[], options: TileOptions = {}): NoiseImages {
  const [N, C, H, W] = checkImageBatch(images, shape, 'tile', [200, 3, 224, 224]);
  const { divisions = 4, seed = 0 } = options;
  checkPatchGrid(divisions, 'tile', 'divisions', H, W);
  checkSeed(seed, 'tile');
  const ph = Math.floor(H / divisions), pw = Math.floor(W / divisions);
  const rand = mulberry32(seed);
  const data = new Float32Array(images.length);
  // Mirror tiling: even tiles copy the patch, odd tiles its reflection, so tile edges meet without seams.
  const fold = (i: number, p: number) => (Math.floor(i / p) % 2 === 1 ? p - 1 - (i % p) : i % p);
  const ys = Int32Array.from({ length: H }, (_, y) => fold(y, ph)), xs = Int32Array.from({ length: W }, (_, x) => fold(x, pw));
  for (let n = 0; n < N; n++) {
    const y0 = Math.floor(rand() * (H - ph + 1)), x0 = Math.floor(rand() * (W - pw + 1));
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * H * W;
      for (let y = 0; y < H; y++) {
        const src = o + (y0 + ys[y]!) * W + x0, dst = o + y * W;
        for (let x = 0; x < W; x++) data[dst + x] = images[src + xs[x]!]!;
      }
    }
  }
  return { data, shape: [N, C, H, W], layout: 'NCHW' };
}

/** A random phase field with φ(−f) = −φ(f) (0 where f = −f), so that adding it keeps a real image's spectrum Hermitian. */
function oddPhase(H: number, W: number, rand: () => number): Float64Array {
  const phi = new Float64Array(H * W);
  for (let u = 0; u < H; u++) {
    for (let v = 0; v < W; v++) {
      const i = u * W + v, j = ((H - u) % H) * W + ((W - v) % W);
      if (j > i) phi[i] = 2 * Math.PI * rand() - Math.PI;
      else if (j < i) phi[i] = -phi[j]!;
    }
  }
  return phi;
}

export interface PhaseOptions {
  seed?: number;
}

/**
 * Fourier phase randomization (Theiler et al. 1992; the stimuli of texture-perception
 * studies): each ID image keeps the amplitude spectrum of every channel, and one seeded
 * random phase field is added to all its channels (so colours stay correlated as in
 * ID). The result has ID's power spectrum, mean and colour statistics but no edges or
 * objects. Works on preprocessed images: the normalization is affine per channel, which
 * the DC term carries.
 */
export function phaseImages(images: ArrayLike<number>, shape: readonly number[], options: PhaseOptions = {}): NoiseImages {
  const [N, C, H, W] = checkImageBatch(images, shape, 'phase', [200, 3, 224, 224]);
  const { seed = 0 } = options;
  checkSeed(seed, 'phase');
  const P = H * W, rand = mulberry32(seed), data = new Float32Array(images.length);
  const re = new Float64Array(P), im = new Float64Array(P);
  const mirror = Int32Array.from({ length: P }, (_, i) => ((H - Math.floor(i / W)) % H) * W + ((W - (i % W)) % W));
  for (let n = 0; n < N; n++) {
    const phi = oddPhase(H, W, rand);
    const cos = phi.map(Math.cos), sin = phi.map(Math.sin);
    // Two real channels per complex transform: a + i·b in, the two spectra separated by symmetry.
    for (let c = 0; c < C; c += 2) {
      const a = (n * C + c) * P, b = c + 1 < C ? a + P : -1;
      for (let i = 0; i < P; i++) { re[i] = images[a + i]!; im[i] = b >= 0 ? images[b + i]! : 0; }
      fft2(re, im, H, W, -1);
      const outRe = new Float64Array(P), outIm = new Float64Array(P);
      for (let i = 0; i < P; i++) {
        const j = mirror[i]!;
        // A = (Z(f) + conj Z(−f)) / 2, B = (Z(f) − conj Z(−f)) / 2i
        const ar = (re[i]! + re[j]!) / 2, ai = (im[i]! - im[j]!) / 2;
        const br = (im[i]! + im[j]!) / 2, bi = (re[j]! - re[i]!) / 2;
        const c0 = cos[i]!, s0 = sin[i]!;
        const a2r = ar * c0 - ai * s0, a2i = ar * s0 + ai * c0;
        const b2r = br * c0 - bi * s0, b2i = br * s0 + bi * c0;
        // A' + i·B' transforms back to a' + i·b', both real.
        outRe[i] = a2r - b2i; outIm[i] = a2i + b2r;
      }
      fft2(outRe, outIm, H, W, 1);
      for (let i = 0; i < P; i++) {
        data[a + i] = outRe[i]! / P;
        if (b >= 0) data[b + i] = outIm[i]! / P;
      }
    }
  }
  return { data, shape: [N, C, H, W], layout: 'NCHW' };
}
