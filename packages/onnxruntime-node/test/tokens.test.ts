import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureSim, referenceOps, stackBatch, type Detector, type ImageScore, type PreprocessSpec } from '@fsta/core';
import { decodeModel, encodeModel, patch, patchForConfig } from '@fsta/onnx';
import { createDetector } from '../src/index.js';
import { imagenetImages, shared, textureImages } from './images.js';

/**
 * createDetector on token models (issue 11, item 2): the small ViT and Swin exports of
 * tools/export_torchvision.py (random weights), on real images. Stages are found
 * automatically, so the preprocessing is given. The detector's FS and FS+TA are those of
 * patch() run on the same preprocessed batch in a plain session, and core's reference FS
 * on the exposed (channels-first, class token left out) stage map; a model fsta patched
 * (double-batch mode, layout in its metadata) scores the same.
 */
const CACHE = fileURLToPath(new URL('../../../.cache/models/', import.meta.url));
const PRE: PreprocessSpec = { size: [224, 224], resizeShorter: 256, crop: 'center', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const haveShared = existsSync(`${shared}data/imagenet-val-1k`);
const files = haveShared ? [...imagenetImages(4).map((i) => i.path), ...textureImages(4)] : [];
const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

beforeAll(() => {
  execFileSync('node', [fileURLToPath(new URL('../../../tools/ensure-models.mjs', import.meta.url))], { stdio: 'inherit' });
}, 900_000);

describe.skipIf(!haveShared).each(['vit_tiny', 'swin_tiny'])('createDetector on %s', (name) => {
  let det: Detector;
  let scores: ImageScore[];
  let bytes: Uint8Array;

  beforeAll(async () => {
    bytes = new Uint8Array(readFileSync(`${CACHE}${name}.onnx`));
    det = await createDetector({ model: bytes, preprocess: PRE, classifier: 'energy', expose: { stages: true } });
    scores = await det.score(files, { include: ['stages'] });
  }, 300_000);
  afterAll(() => det?.dispose());

  it('stages found automatically (C5 / C4), FS and FS+TA finite for every image', () => {
    expect(det.config).toMatchObject({ fsStage: 'C5', taStage: 'C4', k: 0.5, classifier: 'energy' });
    expect(scores).toHaveLength(files.length);
    for (const s of scores) for (const v of [s.fs, s.fsTa, s.score]) expect(Number.isFinite(v)).toBe(true);
    expect(new Set(scores.map((s) => s.fs)).size).toBe(files.length);
  });

  it('equals patch() in a plain session on the same preprocessed batch, and core\'s FS on the exposed channels-first map', async () => {
    const inputs = await Promise.all(files.map((f, i) => det.prepare(f, i)));
    const batch = stackBatch(inputs, [3, 224, 224]);
    const patched = patch(decodeModel(bytes), { classifier: 'energy', exposeStages: true });
    const s = await ort.InferenceSession.create(encodeModel(patched.model), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
    const out = await s.run({ input: new ort.Tensor('float32', batch.data, [files.length, 3, 224, 224]) });
    await s.release();
    const fs = out['fsta/fs']!.data as Float32Array, fsTa = out['fsta/fs_ta']!.data as Float32Array;
    scores.forEach((sc, i) => {
      expect(close(sc.fs, fs[i]!), `fs ${i}`).toBe(true);
      expect(close(sc.fsTa!, fsTa[i]!), `fs_ta ${i}`).toBe(true);
      const map = sc.features!.stages!.fs;
      expect(map.shape.length).toBe(name === 'vit_tiny' ? 3 : 4);
      expect(map.shape[1]).toBe(name === 'vit_tiny' ? 192 : 256);
      if (name === 'vit_tiny') expect(map.shape[2]).toBe(196); // 14x14 patches, the class token left out
      expect(close(featureSim(referenceOps, referenceOps.fromArray(map.data, map.shape)).data[0]!, sc.fs, 1e-4)).toBe(true);
    });
  }, 300_000);

  it('a model fsta patched in double-batch mode (layout in its metadata) gives the same scores', async () => {
    const p = patchForConfig(decodeModel(bytes), { classifier: 'energy', preprocess: PRE, mode: 'double-batch' });
    const again = await createDetector({ model: encodeModel(p.model) });
    try {
      const s2 = await again.score(files);
      s2.forEach((s, i) => {
        expect(close(s.fs, scores[i]!.fs, 1e-4)).toBe(true);
        expect(close(s.fsTa!, scores[i]!.fsTa!, 1e-4)).toBe(true);
      });
    } finally {
      await again.dispose();
    }
  }, 300_000);
});
