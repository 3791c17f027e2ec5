import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-converter';
import sharp from 'sharp';
import { featureSim, referenceOps as ref, tensor, thresholdActivation } from '@fsta/core';
import type { PreprocessSpec, RefTensor } from '@fsta/core';
import { createDetector, discoverStages } from '../src/index.js';
import type { TfjsDetector, TfjsStages } from '../src/index.js';
import { fileHandler } from '../src/node.js';
import { useBackend } from './backend.js';
import { centernetJson, nanodetJson, shared } from './fixtures.js';

/**
 * Stages found with no manifest on the two real tfjs detectors, by @fsta/backbones'
 * detection on the GraphView of their model.json (`discoverStages`): expected tensors
 * read off the graphs by hand (see the comments), scores checked against core's
 * pure-TS reference on the stage maps fetched from the model itself.
 */

// CenterNet: 0..255 RGB (centernet.test.ts). NanoDet: BGR, NanoDet's own mean/std on 0..255
// pixels (the evidence is the test at the end of this file).
const CENTERNET_PRE: PreprocessSpec = { size: [512, 512], crop: 'none', mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] };
const NANODET_PRE: PreprocessSpec = { size: [416, 416], crop: 'none', mean: [103.53 / 255, 116.28 / 255, 123.675 / 255], std: [57.375 / 255, 57.12 / 255, 58.395 / 255], channelOrder: 'BGR' };

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
const DOG = 'n02099601_golden_retriever.JPEG';
async function pixels(file: string, size: number) {
  const { data } = await sharp(`${shared}data/imagenet-val-1k/${file}`).resize(size, size, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: size, height: size, channels: 3 as const };
}
/** A stage map as core's reference tensor, NCHW. */
async function refMap(t: tf.Tensor, layout: 'NHWC' | 'NCHW'): Promise<RefTensor> {
  const r = tensor((await t.data()) as Float32Array, t.shape);
  return layout === 'NHWC' ? ref.transpose(r, [0, 3, 1, 2]) : r;
}

interface Case {
  name: string;
  json: string;
  pre: PreprocessSpec;
  input: string;
  layout: 'NHWC' | 'NCHW';
  stages: Record<'C2' | 'C3' | 'C4' | 'C5', { tensor: string; shape: number[]; stride: number; nonNegative: boolean }>;
  /** Where TA goes for C4, and whether taFor warns that it is signed. */
  ta: { tensor: string; signed: boolean };
}

const cases: Case[] = [
  {
    // MobileNetV3 under tower_0/MobilenetV3/; the head (extern1, then CenternetHead's upsampling) follows
    // the last residual add. C2 is the ReLU expansion that the head's c2_reverse also taps; C3 the last
    // ReLU map at stride 8 (blocks 6+ use hard_swish, whose Relu6 is a gate, not a feature map); C4 the last
    // stride-16 tensor, a hard_swish output (signed).
    name: 'CenterNet (MobileNetV3, NHWC)',
    json: centernetJson,
    pre: CENTERNET_PRE,
    input: 'tower_0/images',
    layout: 'NHWC',
    stages: {
      C2: { tensor: 'tower_0/MobilenetV3/expanded_conv_3/expand/Relu', shape: [1, 72, 128, 128], stride: 4, nonNegative: true },
      C3: { tensor: 'tower_0/MobilenetV3/expanded_conv_5/depthwise/depthwise', shape: [1, 96, 64, 64], stride: 8, nonNegative: true },
      C4: { tensor: 'tower_0/MobilenetV3/expanded_conv_12/expand/hard_swish/mul_1', shape: [1, 528, 32, 32], stride: 16, nonNegative: false },
      C5: { tensor: 'tower_0/MobilenetV3/expanded_conv_14/add', shape: [1, 120, 16, 16], stride: 32, nonNegative: false },
    },
    ta: { tensor: 'tower_0/MobilenetV3/expanded_conv_12/expand/hard_swish/mul_1', signed: true },
  },
  {
    // onnx-tf graph: NCHW tensors, each conv wrapped in transposes and an explicit Pad. Each stage ends in
    // a Concat of its last LeakyReLU branch and the stage's shortcut; the neck's 1x1 laterals
    // (convolution_25/26/27) read Concat_27, _42 and _62. LeakyReLU is signed everywhere.
    name: 'NanoDet (onnx-tf, NCHW, LeakyReLU)',
    json: nanodetJson,
    pre: NANODET_PRE,
    input: 'input_1',
    layout: 'NCHW',
    stages: {
      C2: { tensor: 'PartitionedCall/onnx_tf_prefix_Concat_12', shape: [1, 64, 104, 104], stride: 4, nonNegative: false },
      C3: { tensor: 'PartitionedCall/onnx_tf_prefix_Concat_27', shape: [1, 128, 52, 52], stride: 8, nonNegative: false },
      C4: { tensor: 'PartitionedCall/onnx_tf_prefix_Concat_42', shape: [1, 256, 26, 26], stride: 16, nonNegative: false },
      C5: { tensor: 'PartitionedCall/onnx_tf_prefix_Concat_62', shape: [1, 512, 13, 13], stride: 32, nonNegative: false },
    },
    ta: { tensor: 'PartitionedCall/onnx_tf_prefix_Concat_42', signed: true },
  },
];

describe.each(cases)('stage discovery on $name (wasm)', (c) => {
  let model: tfc.GraphModel;
  let found: TfjsStages;
  let det: TfjsDetector;
  beforeAll(async () => {
    await useBackend('wasm');
    model = await tfc.loadGraphModel(fileHandler(c.json));
    found = discoverStages(tf, model);
    det = await createDetector({ model, preprocess: c.pre, k: 0.5, ks: [{ taStage: 'C3', k: 0.25 }], expose: { tensorsOf: ['C2'] } });
  });
  afterAll(async () => {
    await det.dispose();
    model.dispose();
  });

  it('finds C2…C5 with their strides, layout and sign, and where TA goes', () => {
    expect(found.input).toBe(c.input);
    expect(found.inputLayout).toBe(c.layout);
    expect(found.resolution.source).toBe('detected automatically');
    for (const [name, want] of Object.entries(c.stages)) {
      const got = found.resolution.stages[name as keyof Case['stages']]!;
      expect({ tensor: got.tensor, shape: got.shape, stride: got.stride, nonNegative: got.nonNegative }, name).toEqual(want);
      expect(found.layoutOf(got.tensor)).toBe(c.layout);
      // The view's NCHW shape is the tensor's real shape in its layout.
      const [n, ch, h, w] = want.shape;
      const real = model.execute({ [c.input]: tf.zeros(model.inputs[0]!.shape!) }, got.tensor) as tf.Tensor;
      expect(real.shape).toEqual(c.layout === 'NHWC' ? [n, h, w, ch] : want.shape);
      real.dispose();
    }
    expect(found.resolution.ta!.tensor).toBe(c.ta.tensor);
    expect(found.resolution.ta!.warning !== null).toBe(c.ta.signed);
    expect(det.warnings.some((w) => w.includes('signed'))).toBe(c.ta.signed);
    expect(det.config).toMatchObject({ fsStage: 'C5', taStage: 'C4', k: 0.5 });
    expect(det.ks).toEqual([0.5, 0.25]);
  });

  it('FS at C5, FS+TA at C4 and C3 and the exposed C2 map equal core reference ops on the tensors tfjs computes', async () => {
    const img = await pixels(DOG, c.pre.size[0]);
    const [s] = await det.score(img, { include: ['stages'] });
    const x0 = tf.tensor(await det.prepare(img), [1, 3, c.pre.size[0], c.pre.size[1]]);
    const x = c.layout === 'NHWC' ? tf.transpose(x0, [0, 2, 3, 1]) : x0;
    const feed = { [c.input]: x };
    const [c5, c4, c3, c2] = model.execute(feed, [c.stages.C5.tensor, c.stages.C4.tensor, c.stages.C3.tensor, c.stages.C2.tensor]) as tf.Tensor[];
    const fsRef = (await ref.read(featureSim(ref, await refMap(c5!, c.layout))))[0]!;
    expect(relErr(s!.fs, fsRef)).toBeLessThan(1e-5);
    // FS+TA: threshold the stage map with core's reference ops, feed it back at the TA tensor, run on to C5.
    const fsTaRef = async (ta: tf.Tensor, at: string, k: number) => {
      const th = thresholdActivation(ref, await refMap(ta, c.layout), k) as RefTensor;
      const back = c.layout === 'NHWC' ? ref.transpose(th, [0, 2, 3, 1]) : th;
      const fed = tf.tensor(back.data, [...back.shape]);
      const out = model.execute({ ...feed, [at]: fed }, c.stages.C5.tensor) as tf.Tensor;
      const v = (await ref.read(featureSim(ref, await refMap(out, c.layout))))[0]!;
      tf.dispose([fed, out]);
      return v;
    };
    const want4 = await fsTaRef(c4!, c.ta.tensor, 0.5);
    const want3 = await fsTaRef(c3!, c.stages.C3.tensor, 0.25);
    expect(relErr(s!.fsTa!, want4)).toBeLessThan(1e-5);
    expect(relErr(s!.fsTaByK![1]!, want3)).toBeLessThan(1e-5);
    expect(Math.abs(s!.fsTa! - s!.fs)).toBeGreaterThan(1e-4 * Math.abs(s!.fs));
    const c2map = s!.features!.stages!.tensors![c.stages.C2.tensor]!;
    const c2ref = await refMap(c2!, c.layout);
    expect(c2map.shape).toEqual(c.stages.C2.shape);
    expect(Array.from(c2map.data)).toEqual(Array.from(c2ref.data));
    tf.dispose([x0, x, c5!, c4!, c3!, c2!]);
  });
});

describe('NanoDet preprocessing: channel order and pixel scale, found by what it detects (wasm)', () => {
  // ImageNet photos of COCO objects: dogs (COCO class 16), cats (15), people (0), cars (2; a jeep,
  // limousine or convertible is often COCO's truck, 7). Outputs Identity, Identity_1, Identity_2 are
  // the sigmoid class scores at strides 8, 16, 32.
  const photos: [string, number[]][] = [
    ['n02088364_beagle.JPEG', [16]], ['n02099601_golden_retriever.JPEG', [16]], ['n02099712_Labrador_retriever.JPEG', [16]], ['n02110958_pug.JPEG', [16]],
    ['n02123045_tabby.JPEG', [15]], ['n02123597_Siamese_cat.JPEG', [15]],
    ['n09835506_ballplayer.JPEG', [0]], ['n10148035_groom.JPEG', [0]], ['n10565667_scuba_diver.JPEG', [0]],
    ['n02930766_cab.JPEG', [2, 7]], ['n03770679_minivan.JPEG', [2, 7]], ['n03594945_jeep.JPEG', [2, 7]], ['n03670208_limousine.JPEG', [2, 7]], ['n04285008_sports_car.JPEG', [2, 7]],
  ];
  const candidates: Record<string, PreprocessSpec> = {
    'RGB [0, 1]': { size: [416, 416], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1] },
    'RGB [0, 255]': { size: [416, 416], crop: 'none', mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] },
    'RGB ImageNet mean/std': { size: [416, 416], crop: 'none', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    'BGR [0, 255]': { size: [416, 416], crop: 'none', mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255], channelOrder: 'BGR' },
    'BGR NanoDet mean/std': NANODET_PRE,
  };
  let model: tfc.GraphModel;
  beforeAll(async () => {
    await useBackend('wasm');
    model = await tfc.loadGraphModel(fileHandler(nanodetJson));
  });
  afterAll(() => model.dispose());

  it('BGR with NanoDet\'s mean/std names every photo\'s object; RGB or raw scales miss several', async () => {
    const imgs = await Promise.all(photos.map(([f]) => pixels(f, 416)));
    const hits: Record<string, number> = {};
    const meanTop: Record<string, number> = {};
    for (const [name, pre] of Object.entries(candidates)) {
      const det = await createDetector({ model, preprocess: pre, layout: 'NCHW', stages: { fs: cases[1]!.stages.C5.tensor } });
      const scores = await det.score(imgs);
      hits[name] = 0;
      meanTop[name] = 0;
      scores.forEach((s, i) => {
        let best = -1, cls = -1;
        for (const out of ['Identity', 'Identity_1', 'Identity_2']) {
          const d = s.outputs[out]!.data;
          for (let j = 0; j < d.length; j++) if (d[j]! > best) [best, cls] = [d[j]!, j % 80];
        }
        if (photos[i]![1].includes(cls)) hits[name]!++;
        meanTop[name]! += best / photos.length;
      });
      await det.dispose();
    }
    // Measured (wasm): BGR NanoDet mean/std 14 of 14 (mean top score 0.61); RGB ImageNet mean/std 12 (0.59);
    // RGB [0, 1] 4; RGB [0, 255] 2; BGR [0, 255] 1.
    expect(hits['BGR NanoDet mean/std']).toBe(photos.length);
    for (const [name, n] of Object.entries(hits)) if (name !== 'BGR NanoDet mean/std') expect(n, name).toBeLessThanOrEqual(photos.length - 2);
    expect(meanTop['BGR NanoDet mean/std']).toBeGreaterThan(0.5);
  });
});
