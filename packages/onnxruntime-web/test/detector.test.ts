import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FstaError, type Detector, type PixelInput } from '@fsta/core';
import { createDetector as nodeDetector } from '@fsta/onnxruntime-node';
import { createDetector } from '../src/index.js';

const shared = new URL('../../../../shared/', import.meta.url).pathname;
const list = (dir: string, n: number, step = 1) => readdirSync(join(shared, dir)).sort().filter((_, i) => i % step === 0).slice(0, n).map((f) => join(shared, dir, f));
const cifarDirs = readdirSync(join(shared, 'data/cifar10-test-png-1k')).sort();
const cifar = Array.from({ length: 64 }, (_, i) => join(shared, 'data/cifar10-test-png-1k', cifarDirs[i % 10]!, readdirSync(join(shared, 'data/cifar10-test-png-1k', cifarDirs[i % 10]!)).sort()[Math.floor(i / 10)]!));
const textures = list('data/textures-32px-png', 64);
const imagenet = list('data/imagenet-val-1k', 16, 62);

async function pixels(path: string): Promise<PixelInput> {
  const { data, info } = await sharp(path).rotate().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 3 | 4 };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);
const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, rel(a[i]!, b[i]!)); return m; };

async function agree(model: string, paths: string[], classifier: 'energy' | 'msp') {
  const node = await nodeDetector({ model, classifier, executionProviders: ['cpu'] });
  const web = await createDetector({ model: readFileSync(model), classifier });
  expect(web.runtime).toBe('onnxruntime-web/wasm');
  const px = await Promise.all(paths.map(pixels));
  const [a, b] = [await node.score(paths), await web.score(px)];
  await Promise.all([node.dispose(), web.dispose()]);
  const worst = { fs: maxRel(b.map((s) => s.fs), a.map((s) => s.fs)), fsTa: maxRel(b.map((s) => s.fsTa!), a.map((s) => s.fsTa!)), score: maxRel(b.map((s) => s.score), a.map((s) => s.score)), cls: maxRel(b.map((s) => s.classifier[classifier]!), a.map((s) => s.classifier[classifier]!)) };
  let logits = 0;
  a.forEach((s, i) => { const l = s.outputs.logits!.data, m = Math.max(...Array.from(l, Math.abs)); b[i]!.outputs.logits!.data.forEach((v, j) => { logits = Math.max(logits, Math.abs(v - l[j]!) / m); }); });
  console.info(model.split('/').at(-1), 'worst relative difference web vs node', { ...worst, logits });
  return { ...worst, logits };
}

describe('onnxruntime-web (WASM in Node) agrees with onnxruntime-node', () => {
  it('CIFAR ResNet-20: 64 CIFAR-10 + 64 textures within rel 1e-4', async () => {
    const worst = await agree(join(shared, 'models/cifar10-resnet20.onnx'), [...cifar, ...textures], 'energy');
    for (const v of Object.values(worst)) expect(v).toBeLessThan(1e-4);
  });
  it('MobileNetV2: 16 ImageNet images within rel 1e-4', async () => {
    const worst = await agree(join(shared, 'models/imagenet-mobilenetv2.onnx'), imagenet, 'msp');
    for (const v of Object.values(worst)) expect(v).toBeLessThan(1e-4);
  });
});

describe('onnxruntime-web inputs in Node', () => {
  let det: Detector;
  const logs: string[] = [];
  beforeAll(async () => { det = await createDetector({ model: readFileSync(join(shared, 'models/cifar10-resnet20.onnx')), executionProviders: ['webgpu', 'wasm'], logger: (l) => logs.push(l) }); });
  afterAll(() => det.dispose());
  it('falls back from WebGPU to WASM with one log line', () => {
    expect(det.runtime).toBe('onnxruntime-web/wasm');
    expect(logs).toEqual(['@fsta/onnxruntime-web: running on wasm. WebGPU unavailable: this environment has no navigator.gpu']);
  });
  it('refuses encoded bytes and paths in Node, pointing to pixels, raw tensors or the node adapter', async () => {
    const e = await det.score([readFileSync(cifar[0]!)]).catch((x: unknown) => x as FstaError);
    expect(e).toBeInstanceOf(FstaError);
    expect((e as FstaError).message).toMatch(/image 0 is encoded bytes.*cannot decode in Node.*@fsta\/onnxruntime-node/);
    await expect(det.score(cifar[0]!)).rejects.toThrow(/a path or URL/);
  });
  it('takes ImageData-like RGBA pixels (alpha flattened) and raw tensors', async () => {
    const rgb = await pixels(cifar[0]!);
    const rgba = new Uint8ClampedArray(32 * 32 * 4);
    for (let i = 0; i < 32 * 32; i++) { rgba.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4); rgba[i * 4 + 3] = 255; }
    const [a, b] = await det.score([rgb, { data: rgba, width: 32, height: 32 }]);
    expect(b!.fs).toBe(a!.fs);
    await expect(det.score([{ data: new Float32Array(5), shape: [5] }])).rejects.toThrow(/raw tensor input 0: rank 1/);
  });
});
