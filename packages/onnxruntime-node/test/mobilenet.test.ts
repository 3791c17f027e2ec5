import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessPixels, stackBatch, type Detector, type ImageScore } from '@fsta/core';
import { createDetector } from '../src/index.js';
import { imagenetImages, modelPath, pixels } from './images.js';

const model = modelPath('imagenet-mobilenetv2.onnx');
const images = imagenetImages(16);
const spec = { size: [224, 224], resizeShorter: 256, crop: 'center', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

describe('onnxruntime-node detector on MobileNetV2 (16 ImageNet images)', () => {
  let det: Detector;
  let scores: ImageScore[];
  beforeAll(async () => {
    det = await createDetector({ model, backbone: 'auto', classifier: 'msp', executionProviders: ['cpu'] });
    scores = await det.score(images.map((i) => i.path));
  });
  afterAll(() => det?.dispose());

  it('logits are bit-identical to the original model on the README recipe, and classify', async () => {
    const batch = stackBatch(await Promise.all(images.map(async (i) => preprocessPixels(await pixels(i.path), { ...spec, size: [224, 224] }))), [3, 224, 224]);
    const session = await ort.InferenceSession.create(readFileSync(model), { executionProviders: ['cpu'] });
    const logits = (await session.run({ input: new ort.Tensor('float32', batch.data, batch.shape) })).logits!.data as Float32Array;
    await session.release();
    scores.forEach((s, i) => expect(Array.from(s.outputs.logits!.data)).toEqual(Array.from(logits.subarray(i * 1000, (i + 1) * 1000))));
    const top1 = scores.filter((s, i) => { const l = s.outputs.logits!.data; return l.indexOf(Math.max(...l)) === images[i]!.label; }).length;
    expect(top1).toBeGreaterThanOrEqual(12); // 83.7% top-1 on the 1k set
  });

  it('gives finite FS, FS+TA and MSP-fused scores', () => {
    for (const s of scores) {
      expect(Number.isFinite(s.fs) && Number.isFinite(s.fsTa!) && s.fs > 0).toBe(true);
      expect(s.classifier.msp! > 0 && s.classifier.msp! <= 1).toBe(true);
      expect(Math.abs(s.score - (s.fsTa! + 0.1 * s.classifier.msp!))).toBeLessThan(1e-5 * Math.abs(s.score));
    }
  });
});
