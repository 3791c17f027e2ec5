import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { verdictOf, type FstaConfig, type PixelInput } from '@fsta/core';
import { decodeModel, encodeModel, patchForConfig } from '@fsta/onnx';
import { createDetector as nodeDetector } from '@fsta/onnxruntime-node';
import { createDetector } from '../src/index.js';

/**
 * Issue 13 in the browser's runtime (onnxruntime-web, WASM, in Node): a model patched with a
 * config runs with no config and gives the verdicts onnxruntime-node gives, and its own
 * fsta/verdict output agrees with verdictOf on the score it returns.
 */
const shared = new URL('../../../../shared/', import.meta.url).pathname;
const id = readdirSync(join(shared, 'data/cifar10-test/cat')).sort().slice(0, 16).map((f) => join(shared, 'data/cifar10-test/cat', f));
const ood = readdirSync(join(shared, 'data/imagenet-val-1k')).sort().slice(0, 16).map((f) => join(shared, 'data/imagenet-val-1k', f));

async function pixels(path: string): Promise<PixelInput> {
  const { data, info } = await sharp(path).rotate().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 3 | 4 };
}

describe('a patched model in onnxruntime-web', () => {
  it('CIFAR ResNet-20: same verdicts as onnxruntime-node with no config, fsta/verdict = verdictOf', async () => {
    const original = join(shared, 'models/cifar10-resnet20.onnx');
    const paths = [...id, ...ood];
    const config: FstaConfig = { version: 1, backbone: 'auto', fsStage: 'C5', taStage: 'C4', k: 0.5, featureScore: 'fs_ta', classifier: 'energy', lambda: 0.1, temperature: 1, threshold: null, targetTpr: null };
    const probe = await nodeDetector({ model: original, config, executionProviders: ['cpu'] });
    const scores = (await probe.score(paths)).map((s) => s.score).sort((a, b) => a - b);
    await probe.dispose();
    // Midway between the two middle scores, so no score sits within float rounding of it.
    const threshold = (scores[15]! + scores[16]!) / 2;
    const patched = encodeModel(patchForConfig(decodeModel(readFileSync(original)), { config: { ...config, threshold } }).model);
    const web = await createDetector({ model: patched });
    const node = await nodeDetector({ model: patched, executionProviders: ['cpu'] });
    expect(web.config.threshold).toBe(threshold);
    const px = await Promise.all(paths.map(pixels));
    const [w, n] = [await web.score(px), await node.score(paths)];
    const batch = await Promise.all(px.map((p, i) => web.prepare(p, i)));
    await Promise.all([web.dispose(), node.dispose()]);
    expect(w.map((s) => s.verdict)).toEqual(n.map((s) => s.verdict));
    expect(new Set(w.map((s) => s.verdict))).toEqual(new Set(['ID', 'OOD']));
    // The file's own verdict output, read straight from an onnxruntime-web session.
    const data = new Float32Array(batch.length * 3 * 32 * 32);
    batch.forEach((x, i) => data.set(x, i * 3 * 32 * 32));
    const session = await ortWeb.InferenceSession.create(patched);
    const out = await session.run({ input: new ortWeb.Tensor('float32', data, [batch.length, 3, 32, 32]) });
    await session.release();
    const score = out['fsta/score']!.data as Float32Array;
    score.forEach((s, i) => {
      expect(s).toBe(w[i]!.score);
      expect(Boolean(out['fsta/verdict']!.data[i])).toBe(verdictOf(s, threshold) === 'ID');
    });
  }, 120_000);
});
