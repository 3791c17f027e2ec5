import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { preprocessPixels } from '@fsta/core';
import type { PreprocessSpec, RawTensorInput } from '@fsta/core';

/**
 * The images the cross-runtime and in-browser tests feed every runtime: decoded once
 * with sharp and preprocessed once with core, so that the runtimes all see the same
 * float tensor and only the runtimes differ.
 */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const shared = join(repoRoot, '..', 'shared');
export const resnet20Onnx = join(shared, 'models/cifar10-resnet20.onnx');
export const mobilenetOnnx = join(shared, 'models/imagenet-mobilenetv2.onnx');

const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];
export const cifarSpec: PreprocessSpec = { size: [32, 32], crop: 'none', mean: MEAN, std: STD };
export const imagenetSpec: PreprocessSpec = { size: [224, 224], resizeShorter: 256, crop: 'center', mean: MEAN, std: STD };

/** `n` CIFAR-10 test PNGs taken round-robin over the 10 classes, so every class is in. */
export function cifarFiles(n: number): string[] {
  const root = join(shared, 'data/cifar10-test-png-1k');
  const classes = readdirSync(root).sort().map((c) => readdirSync(join(root, c)).sort().map((f) => join(root, c, f)));
  return Array.from({ length: n }, (_, i) => classes[i % classes.length]![Math.floor(i / classes.length)]!);
}

/** `n` texture PNGs (32x32), spread over the folder (it is sorted by category). */
export function textureFiles(n: number): string[] {
  const root = join(shared, 'data/textures-32px-png');
  const all = readdirSync(root).sort();
  const step = Math.floor(all.length / n);
  return Array.from({ length: n }, (_, i) => join(root, all[i * step]!));
}

/** `n` ImageNet validation images spread over the 1000 classes. */
export function imagenetFiles(n: number): string[] {
  const root = join(shared, 'data/imagenet-val-1k');
  const all = readdirSync(root).sort();
  const step = Math.floor(all.length / n);
  return Array.from({ length: n }, (_, i) => join(root, all[i * step]!));
}

/** Decodes each file with sharp (EXIF-oriented, 8-bit sRGB RGB) and preprocesses it with core: one NCHW batch. */
export async function rawBatch(files: readonly string[], spec: PreprocessSpec): Promise<RawTensorInput & { shape: [number, number, number, number] }> {
  const [h, w] = spec.size as [number, number];
  const per = 3 * h * w;
  const data = new Float32Array(files.length * per);
  for (const [i, f] of files.entries()) {
    const { data: px, info } = await sharp(f).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    data.set(preprocessPixels({ data: new Uint8Array(px), width: info.width, height: info.height, channels: 3 }, spec, i), i * per);
  }
  return { data, shape: [files.length, 3, h, w] };
}

/** Samples [from, to) of a batch as its own RawTensorInput (a copy). */
export function sliceBatch(batch: RawTensorInput, from: number, to: number): RawTensorInput {
  const per = batch.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: batch.data.slice(from * per, to * per), shape: [to - from, ...batch.shape.slice(1)] };
}

/** The per-image numbers the runtimes are compared on. */
export interface ScoreRow {
  fs: number;
  fsTa: number;
  msp: number;
  energy: number;
  score: number;
}
export const SCORE_FIELDS = ['fs', 'fsTa', 'msp', 'energy', 'score'] as const;

export function rowsOf(scores: readonly { fs: number; fsTa: number | null; classifier: { msp?: number; energy?: number }; score: number }[]): ScoreRow[] {
  return scores.map((s) => ({ fs: s.fs, fsTa: s.fsTa ?? NaN, msp: s.classifier.msp ?? NaN, energy: s.classifier.energy ?? NaN, score: s.score }));
}

/** Largest |got − want| / |want| per field (NaN or a length mismatch gives Infinity, so it fails). */
export function maxRelDiff(got: readonly ScoreRow[], want: readonly ScoreRow[]): Record<(typeof SCORE_FIELDS)[number], number> {
  const out = { fs: 0, fsTa: 0, msp: 0, energy: 0, score: 0 };
  for (const field of SCORE_FIELDS) {
    if (got.length !== want.length) { out[field] = Infinity; continue; }
    for (let i = 0; i < want.length; i++) {
      const a = got[i]![field], b = want[i]![field];
      const d = Math.abs(a - b) / Math.abs(b);
      out[field] = Math.max(out[field], Number.isNaN(d) ? Infinity : d);
    }
  }
  return out;
}
