import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-converter';
import sharp from 'sharp';
import { featureSim, referenceOps as ref, tensor, thresholdActivation } from '@fsta/core';
import type { Detector, RefTensor } from '@fsta/core';
import { createDetector } from '../src/index.js';
import { fileHandler } from '../src/node.js';
import { useBackend } from './backend.js';
import { centernetJson, shared } from './fixtures.js';

/**
 * Stages on the MobileNetV3 backbone of the COCO CenterNet (512x512 input):
 * FS on the deepest backbone node, the last residual add of the stride-32 stage
 * (16x16x120; after it the graph leaves the MobilenetV3 scope for `extern1`), and TA
 * one stage earlier on the stride-16 stage output (32x32x88), the node the head's
 * `c4_reverse` branch also taps. Every path from the TA node to the FS node runs
 * through the TA node, so feeding it replaces the stage completely.
 */
const FS_NODE = 'tower_0/MobilenetV3/expanded_conv_14/add';
const TA_NODE = 'tower_0/MobilenetV3/expanded_conv_11/add';
const INPUT = 'tower_0/images';
const K = 0.5;
// The model takes 0..255 RGB: on these images [0, 255] gives a dog (COCO class 16) at
// 0.47 and people (class 0) at 0.47, while [0, 1] and [-1, 1] give nothing above 0.04.
const PIXELS_0_255 = { size: [512, 512] as [number, number], crop: 'none' as const, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] };
const DOG = 'n02099601_golden_retriever.JPEG', PLAYER = 'n09835506_ballplayer.JPEG';

async function load512(file: string) {
  const { data } = await sharp(`${shared}data/imagenet-val-1k/${file}`).resize(512, 512, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const nchw = new Float32Array(3 * 512 * 512);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 512 * 512; i++) nchw[c * 512 * 512 + i] = data[i * 3 + c]!;
  return { pixels: { data: new Uint8Array(data), width: 512, height: 512, channels: 3 as const }, raw: { data: nchw, shape: [1, 3, 512, 512] } };
}

const nhwcToNchw = async (t: tf.Tensor) => ref.transpose(tensor((await t.data()) as Float32Array, t.shape), [0, 3, 1, 2]);
const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

describe.each(['wasm', 'cpu'] as const)('COCO CenterNet (tfjs GraphModel) on %s', async (backend) => {
  const images = backend === 'wasm' ? [DOG, PLAYER] : [DOG];
  const loaded = await Promise.all(images.map(load512));
  let model: tfc.GraphModel;
  let det: Detector;
  beforeAll(async () => {
    await useBackend(backend);
    model = await tfc.loadGraphModel(fileHandler(centernetJson));
    // The detector loads its own copy through the IOHandler (and owns it).
    det = await createDetector({ model: fileHandler(centernetJson), stages: { fs: FS_NODE, ta: TA_NODE }, k: K, preprocess: PIXELS_0_255 });
    expect(det.runtime).toBe(`tfjs/${backend}`);
  });
  afterAll(async () => {
    await det.dispose();
    model.dispose();
  });

  it('FS and FS+TA equal core reference ops on the intermediate tensors, and detections are unchanged', async () => {
    for (const [i, img] of loaded.entries()) {
      const [s] = await det.score(img.raw);
      const x = tf.transpose(tf.tensor(img.raw.data, img.raw.shape), [0, 2, 3, 1]);
      const plain = model.execute({ [INPUT]: x }, model.outputNodes) as tf.Tensor[];
      for (const [j, name] of model.outputNodes.entries()) {
        expect(s!.outputs[name]!.shape).toEqual(plain[j]!.shape);
        expect(Array.from(s!.outputs[name]!.data), `${images[i]} ${name}`).toEqual(Array.from(await plain[j]!.data()));
      }
      const [fsT, taT] = model.execute({ [INPUT]: x }, [FS_NODE, TA_NODE]) as tf.Tensor[];
      expect(fsT!.shape).toEqual([1, 16, 16, 120]);
      expect(taT!.shape).toEqual([1, 32, 32, 88]);
      const fsRef = (await ref.read(featureSim(ref, await nhwcToNchw(fsT!))))[0]!;
      const taHost = thresholdActivation(ref, await nhwcToNchw(taT!), K) as RefTensor;
      const taNhwc = ref.transpose(taHost, [0, 2, 3, 1]);
      const taIn = tf.tensor(taNhwc.data, [...taNhwc.shape]);
      const fsTaT = model.execute({ [TA_NODE]: taIn }, FS_NODE) as tf.Tensor;
      const fsTaRef = (await ref.read(featureSim(ref, await nhwcToNchw(fsTaT))))[0]!;
      expect(relErr(s!.fs, fsRef)).toBeLessThan(1e-5);
      expect(relErr(s!.fsTa!, fsTaRef)).toBeLessThan(1e-5);
      expect(Math.abs(s!.fsTa! - s!.fs)).toBeGreaterThan(1e-3 * s!.fs);
      expect(s!.classifier).toEqual({});
      expect(s!.score).toBe(s!.fsTa);
      tf.dispose([x, ...plain, fsT!, taT!, taIn, fsTaT]);
    }
  });

  it.runIf(backend === 'wasm')('scores decoded pixels with the 0..255 input scale: the dog and the players are detected', async () => {
    const scores = await det.score(loaded.map((l) => l.pixels));
    const top = (s: (typeof scores)[number]) => {
      const d = s.outputs['tower_0/detections']!.data; // [1, 100, 6]: x1 y1 x2 y2 score class, best first
      return { score: d[4]!, cls: d[5]! };
    };
    expect(top(scores[0]!)).toMatchObject({ cls: 16 });
    expect(top(scores[0]!).score).toBeGreaterThan(0.3);
    expect(top(scores[1]!)).toMatchObject({ cls: 0 });
    expect(top(scores[1]!).score).toBeGreaterThan(0.3);
  });

  it.runIf(backend === 'wasm')('takes an already loaded GraphModel too, with the same scores; dispose() frees only a model it loaded', async () => {
    const mine = await createDetector({ model, stages: { fs: FS_NODE, ta: TA_NODE }, k: K, preprocess: PIXELS_0_255 });
    const [a] = await mine.score(loaded[0]!.raw);
    const [b] = await det.score(loaded[0]!.raw);
    expect([a!.fs, a!.fsTa]).toEqual([b!.fs, b!.fsTa]);
    await mine.dispose();
    await expect(mine.score(loaded[0]!.raw)).rejects.toThrow(/after dispose/);
    // The user's model still works after the detector that borrowed it is gone.
    const out = model.execute({ [INPUT]: tf.zeros([1, 512, 512, 3]) }, FS_NODE) as tf.Tensor;
    expect(out.shape).toEqual([1, 16, 16, 120]);
    out.dispose();
  });

  it.runIf(backend === 'wasm')('disposes every tensor it creates (10 score() calls; the ResNet test makes 50)', async () => {
    await det.score(loaded[0]!.raw);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) await det.score(loaded[0]!.raw);
    expect(tf.memory().numTensors).toBe(before);
  });
});
