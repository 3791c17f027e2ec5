import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Detector } from '@fsta/core';
import { createDetector as ortNodeDetector } from '@fsta/onnxruntime-node';
import { createDetector as ortWebDetector } from '@fsta/onnxruntime-web';
import { createDetector } from '../src/index.js';
import { fileHandler } from '../src/node.js';
import { nodeBackends, useBackend } from './backend.js';
import { cifarFiles, cifarSpec, imagenetFiles, imagenetSpec, maxRelDiff, mobilenetOnnx, rawBatch, resnet20Onnx, rowsOf, textureFiles } from './cross-runtime-images.js';
import type { ScoreRow } from './cross-runtime-images.js';
import { resnetTfjsModelJson } from './fixtures.js';

/**
 * Issue 4's cross-runtime agreement on ResNet-20: 64 CIFAR-10 test images and 64
 * textures, decoded and preprocessed once, scored as the same raw NCHW tensor by
 * onnxruntime-node (the reference), onnxruntime-web (WASM in Node) and tfjs (cpu,
 * wasm) on the LayersModel rebuilt from the ONNX weights. Same stages (FS on
 * layer3 = C5, TA on layer2 = C4), k = 0.5, energy fused with the paper's λ = 0.016.
 * Then MobileNetV2 on 16 ImageNet images, ORT runtimes only (no tfjs MobileNetV2 here).
 */
const K = 0.5, LAMBDA = 0.016;
const files = [...cifarFiles(64), ...textureFiles(64)];

describe('ResNet-20: the same scores in every Node runtime (rel 1e-4)', () => {
  let batch: Awaited<ReturnType<typeof rawBatch>>;
  let reference: ScoreRow[];
  const worst: Record<string, ReturnType<typeof maxRelDiff>> = {};

  beforeAll(async () => {
    batch = await rawBatch(files, cifarSpec);
    const det = await ortNodeDetector({ model: resnet20Onnx, backbone: 'cifar_resnet20', k: K, classifier: 'energy', lambda: LAMBDA, executionProviders: ['cpu'] });
    expect(det.runtime).toBe('onnxruntime-node/cpu');
    expect([det.config.fsStage, det.config.taStage, det.config.k, det.config.featureScore]).toEqual(['C5', 'C4', K, 'fs_ta']);
    reference = rowsOf(await det.score(batch));
    await det.dispose();
  });
  afterAll(() => console.info('max relative difference vs onnxruntime-node/cpu on 128 images (64 CIFAR-10 + 64 textures):', JSON.stringify(worst)));

  const check = (name: string, rows: ScoreRow[]) => {
    worst[name] = maxRelDiff(rows, reference);
    for (const [field, v] of Object.entries(worst[name]!)) expect(v, `${name} ${field}`).toBeLessThan(1e-4);
  };

  it('the reference scores are non-trivial: TA changes FS, and fusion adds λ·energy', () => {
    expect(reference).toHaveLength(128);
    expect(Math.min(...reference.map((r) => Math.abs(r.fsTa - r.fs)))).toBeGreaterThan(1e-3);
    for (const r of reference) expect(r.score).toBeCloseTo(r.fsTa + LAMBDA * r.energy, 4);
    // CIFAR-10 (ID) scores above textures (OOD) on average, as the method intends.
    const mean = (xs: ScoreRow[]) => xs.reduce((a, r) => a + r.score, 0) / xs.length;
    expect(mean(reference.slice(0, 64))).toBeGreaterThan(mean(reference.slice(64)));
  });

  it('onnxruntime-web (WASM in Node)', async () => {
    const det = await ortWebDetector({ model: readFileSync(resnet20Onnx), backbone: 'cifar_resnet20', k: K, classifier: 'energy', lambda: LAMBDA, executionProviders: ['wasm'] });
    expect(det.runtime).toBe('onnxruntime-web/wasm');
    check('onnxruntime-web/wasm', rowsOf(await det.score(batch)));
    await det.dispose();
  });

  describe.each(nodeBackends)('tfjs/%s', (backend) => {
    let det: Detector;
    let model: tfl.LayersModel;
    beforeAll(async () => {
      await useBackend(backend);
      model = await tfl.loadLayersModel(fileHandler(await resnetTfjsModelJson()));
      det = await createDetector({ model, stages: { fs: 'layer3', ta: 'layer2' }, k: K, logits: 'logits', config: { classifier: 'energy', lambda: LAMBDA } });
    });
    afterAll(() => model.dispose());
    it('agrees with onnxruntime-node', async () => {
      const rows = rowsOf(await det.score(batch));
      expect(det.runtime).toBe(`tfjs/${backend}`);
      expect(tf.getBackend()).toBe(backend);
      check(`tfjs/${backend}`, rows);
    });
  });
});

describe('MobileNetV2: onnxruntime-web (WASM in Node) equals onnxruntime-node on 16 ImageNet images (rel 1e-4)', () => {
  it('fs, fsTa, msp, energy and the fused (MSP, λ = 0.1) score', async () => {
    const batch = await rawBatch(imagenetFiles(16), imagenetSpec);
    const options = { backbone: 'mobilenet_v2', classifier: 'msp' } as const;
    const node = await ortNodeDetector({ model: mobilenetOnnx, ...options, executionProviders: ['cpu'] });
    const web = await ortWebDetector({ model: readFileSync(mobilenetOnnx), ...options, executionProviders: ['wasm'] });
    expect([node.runtime, web.runtime]).toEqual(['onnxruntime-node/cpu', 'onnxruntime-web/wasm']);
    expect(node.config.lambda).toBe(0.1);
    const want = rowsOf(await node.score(batch));
    const worst = maxRelDiff(rowsOf(await web.score(batch)), want);
    console.info('MobileNetV2, max relative difference onnxruntime-web/wasm vs onnxruntime-node/cpu on 16 ImageNet images:', JSON.stringify(worst));
    for (const [field, v] of Object.entries(worst)) expect(v, field).toBeLessThan(1e-4);
    for (const r of want) expect(r.score).toBeCloseTo(r.fsTa + 0.1 * r.msp, 4);
    await Promise.all([node.dispose(), web.dispose()]);
  });
});
