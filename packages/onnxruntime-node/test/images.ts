import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { PixelInput } from '@fsta/core';

/** ../shared from this package's tests. */
export const shared = new URL('../../../../shared/', import.meta.url).pathname;
export const modelPath = (name: string) => join(shared, 'models', name);

/** The first `n` CIFAR-10 test PNGs, round-robin over the classes (label = class index). */
export function cifarImages(n: number): { path: string; label: number }[] {
  const root = join(shared, 'data/cifar10-test-png-1k');
  const classes = readdirSync(root).sort();
  const files = classes.map((c) => readdirSync(join(root, c)).sort());
  return Array.from({ length: n }, (_, i) => ({ path: join(root, classes[i % 10]!, files[i % 10]![Math.floor(i / 10)]!), label: i % 10 }));
}

export function textureImages(n: number): string[] {
  const root = join(shared, 'data/textures-32px-png');
  return readdirSync(root).sort().slice(0, n).map((f) => join(root, f));
}

/** `n` ImageNet validation images spread over the classes; sorted file order is the class index. */
export function imagenetImages(n: number): { path: string; label: number }[] {
  const root = join(shared, 'data/imagenet-val-1k');
  const files = readdirSync(root).sort();
  return Array.from({ length: n }, (_, i) => { const label = Math.floor((i * files.length) / n); return { path: join(root, files[label]!), label }; });
}

/** Decoded 8-bit RGB, the way the node adapter decodes (for feeding pixel inputs). */
export async function pixels(path: string): Promise<PixelInput> {
  const { data, info } = await sharp(path).rotate().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels as 3 | 4 };
}

/** The preprocessing written out independently (no resize: 32x32 images, CIFAR recipe), float32 steps as torchvision. */
export function cifarTensor(px: PixelInput): Float32Array {
  const f = Math.fround, mean = [0.485, 0.456, 0.406].map(f), std = [0.229, 0.224, 0.225].map(f);
  const n = px.width * px.height, ch = px.channels ?? 3;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) out[c * n + i] = f(f(f(px.data[i * ch + c]! / 255) - mean[c]!) / std[c]!);
  return out;
}

export const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
export const maxRelErr = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, relErr(a[i]!, b[i]!)); return m; };
