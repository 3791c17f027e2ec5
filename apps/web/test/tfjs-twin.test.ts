/**
 * The Fashion-MNIST demo's tfjs twin (tools/onnx-to-tfjs-resnet.mjs) against the ONNX
 * model on onnxruntime-node: logits, the C4/C5 stage maps, and @fsta/tfjs's FS / FS+TA /
 * MSP against the patched ONNX graph's, on tfjs's CPU backend in Node. The page's tfjs
 * runtime runs such a twin on WebGL for a model that has one (ModelSpec.tfjs); the
 * page's bundled MobileNetV2 has none, since the converter reads ResNets only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessPixels, stackBatch, type PreprocessSpec } from '@fsta/core';
import { decodeModel, encodeModel, patchModel } from '@fsta/onnx';
import { createDetector } from '@fsta/tfjs';
import { repoRoot } from '../../../tools/browser/harness.js';
// @ts-expect-error: a plain .mjs tool without type declarations
import { convertResnet } from '../../../tools/onnx-to-tfjs-resnet.mjs';

const demoDir = path.join(repoRoot, 'apps/cli/assets/demo');
const meta = JSON.parse(readFileSync(path.join(demoDir, 'demo.json'), 'utf8')) as { preprocess: PreprocessSpec; stages: Record<string, { tensor: string }>; head: { penultimate: string } };
const FILES = ['images/id/0-t-shirt/000.png', 'images/id/7-sneaker/003.png', 'images/ood/mnist/5-01.png', 'images/ood/uniform/002.png'];
const K = 0.7;

const worstRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return w;
};

describe('the demo model converted to tfjs', () => {
  let dir: string;
  let model: tfl.LayersModel;
  let x: { data: Float32Array; shape: number[] };
  let onnx: Record<string, ort.Tensor>;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(path.join(tmpdir(), 'fsta-tfjs-demo-'));
    (convertResnet as (a: string, b: string) => unknown)(path.join(demoDir, 'model.onnx'), dir);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }));
    const samples = await Promise.all(FILES.map(async (f) => {
      const { data, info } = await sharp(path.join(demoDir, f)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      return preprocessPixels({ data: new Uint8Array(data), width: info.width, height: info.height, channels: 4 }, meta.preprocess);
    }));
    const b = stackBatch(samples, [3, 32, 32]);
    x = { data: b.data, shape: [...b.shape] };
    const patched = patchModel(decodeModel(readFileSync(path.join(demoDir, 'model.onnx'))), {
      fsStageTensor: meta.stages.C5!.tensor, taStageTensor: meta.stages.C4!.tensor, k: K,
      head: { penultimate: meta.head.penultimate, logits: 'logits' }, classifier: 'msp', exposeStages: true,
    });
    const session = await ort.InferenceSession.create(encodeModel(patched.model));
    onnx = await session.run({ input: new ort.Tensor('float32', x.data, x.shape) });
    await session.release();
  });
  afterAll(() => {
    model?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives the ONNX model’s logits and stage maps (layer2 = C4, layer3 = C5)', () => {
    const input = tf.transpose(tf.tensor(x.data, x.shape), [0, 2, 3, 1]);
    const names = ['layer2', 'layer3', 'logits'];
    const sub = tfl.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output as tfl.SymbolicTensor) });
    const [c4, c5, logits] = (sub.predict(input) as tf.Tensor[]).map((t) => (t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t).dataSync());
    expect(worstRel(logits!, onnx.logits!.data as Float32Array)).toBeLessThan(1e-4);
    expect(worstRel(c4!, onnx['fsta/stage/ta']!.data as Float32Array)).toBeLessThan(1e-4);
    expect(worstRel(c5!, onnx['fsta/stage/fs']!.data as Float32Array)).toBeLessThan(1e-4);
  });

  it('scores FS, FS+TA and MSP with @fsta/tfjs as the patched ONNX graph does', async () => {
    const det = await createDetector({ model, tf, stages: { fs: 'layer3', ta: 'layer2' }, k: K, logits: 'logits', preprocess: meta.preprocess });
    const scores = await det.score({ data: x.data, shape: x.shape });
    await det.dispose();
    expect(worstRel(scores.map((s) => s.fs), onnx['fsta/fs']!.data as Float32Array)).toBeLessThan(1e-4);
    expect(worstRel(scores.map((s) => s.fsTa!), onnx['fsta/fs_ta']!.data as Float32Array)).toBeLessThan(1e-4);
    expect(worstRel(scores.map((s) => s.classifier.msp!), onnx['fsta/msp']!.data as Float32Array)).toBeLessThan(1e-4);
    // TA at this k changes FS+TA, so the check above is not FS compared with itself.
    expect(worstRel(scores.map((s) => s.fsTa!), scores.map((s) => s.fs))).toBeGreaterThan(1e-2);
  });
});
