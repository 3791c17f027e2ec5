import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { FstaError, energy, featureSim, maxLogit, msp, referenceOps, tensor, thresholdActivation } from '@fsta/core';
import type { Detector, RefTensor } from '@fsta/core';
import { createDetector } from '../src/index.js';
import { fileHandler } from '../src/node.js';
import { nodeBackends, useBackend } from './backend.js';
import { cifarImages, cifarPreprocess, resnetOnnx, resnetTfjsModelJson } from './fixtures.js';

const K = 0.5;
const ref = referenceOps;
const nhwcToNchw = (data: Float32Array, shape: readonly number[]) => ref.transpose(tensor(data, shape), [0, 3, 1, 2]);
const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, rtol: number) => {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  expect(worst).toBeLessThanOrEqual(rtol);
  return worst;
};

/** The tail layer2 → layer3 as a symbolic tfjs-layers model, built independently of the adapter's eager walk. */
const out0 = (model: tfl.LayersModel, name: string) => model.getLayer(name).inboundNodes[0]!.outputTensors[0]!;
function tailModel(model: tfl.LayersModel): tfl.LayersModel {
  const start = out0(model, 'layer2');
  const inp = tfl.input({ shape: start.shape.slice(1) as number[] });
  const mapped = new Map<string, tfl.SymbolicTensor>([[start.name, inp]]);
  const names = model.layers.map((l) => l.name);
  for (const layer of model.layers.slice(names.indexOf('layer2') + 1, names.indexOf('layer3') + 1)) {
    const ins = layer.inboundNodes[0]!.inputTensors.map((t) => mapped.get(t.name)!);
    mapped.set(layer.inboundNodes[0]!.outputTensors[0]!.name, layer.apply(ins.length === 1 ? ins[0]! : ins) as tfl.SymbolicTensor);
  }
  return tfl.model({ inputs: inp, outputs: mapped.get(out0(model, 'layer3').name)! });
}

describe('CIFAR ResNet-20 rebuilt in tfjs', async () => {
  const imgs = await cifarImages(2, 8);
  const n = imgs.files.length;
  let ortLogits: Float32Array;
  let model: tfl.LayersModel;
  let tail: tfl.LayersModel;

  beforeAll(async () => {
    await useBackend('cpu');
    const session = await ort.InferenceSession.create(resnetOnnx);
    const out = await session.run({ input: new ort.Tensor('float32', imgs.nchw, [...imgs.shape]) });
    ortLogits = out.logits!.data as Float32Array;
    await session.release();
    model = await tfl.loadLayersModel(fileHandler(await resnetTfjsModelJson()));
    // A second copy, so that wiring its layers into the tail model leaves `model` untouched.
    tail = tailModel(await tfl.loadLayersModel(fileHandler(await resnetTfjsModelJson())));
  });

  describe.each(nodeBackends)('on %s', (backend) => {
    let det: Detector;
    beforeAll(async () => {
      await useBackend(backend);
      det = await createDetector({ model, stages: { fs: 'layer3', ta: 'layer2' }, k: K, logits: 'logits', preprocess: cifarPreprocess });
      expect(det.runtime).toBe(`tfjs/${backend}`);
    });

    it('gives the same logits as onnxruntime-node on 16 images (rtol 1e-4)', async () => {
      const x = tf.transpose(tf.tensor(imgs.nchw, [...imgs.shape]), [0, 2, 3, 1]);
      const logits = model.predict(x) as tf.Tensor;
      const worst = expectClose(await logits.data(), ortLogits, 1e-4);
      console.log(`[${backend}] max rel logit difference tfjs vs onnxruntime-node: ${worst.toExponential(2)}`);
      // The checkpoint must classify: at least half of the 16 right (it scores 81% on the full set).
      const pred = Array.from((await tf.argMax(logits, 1).data()) as Int32Array);
      const labels = imgs.files.map((_, i) => Math.floor(i / 2));
      expect(pred.filter((p, i) => p === labels[i]).length).toBeGreaterThanOrEqual(8);
      tf.dispose([x, logits]);
    });

    it('FS, FS+TA and classifier scores equal core reference ops on the same intermediate tensors', async () => {
      const scores = await det.score({ data: imgs.nchw, shape: imgs.shape });
      expect(scores).toHaveLength(n);
      const x = tf.transpose(tf.tensor(imgs.nchw, [...imgs.shape]), [0, 2, 3, 1]);
      const [l3, l2] = model.execute(x, [out0(model, 'layer3').name, out0(model, 'layer2').name]) as tf.Tensor[];
      const fsRef = await ref.read(featureSim(ref, nhwcToNchw(await l3!.data() as Float32Array, l3!.shape)));
      // TA on host with reference ops, then the symbolic tail model runs the rest of the network.
      const taRef = thresholdActivation(ref, nhwcToNchw(await l2!.data() as Float32Array, l2!.shape), K) as RefTensor;
      const taNhwc = ref.transpose(taRef, [0, 2, 3, 1]);
      const taIn = tf.tensor(taNhwc.data, [...taNhwc.shape]);
      const l3ta = tail.predict(taIn) as tf.Tensor;
      const fsTaRef = await ref.read(featureSim(ref, nhwcToNchw(await l3ta.data() as Float32Array, l3ta.shape)));
      expectClose(scores.map((s) => s.fs), fsRef, 1e-5);
      expectClose(scores.map((s) => s.fsTa!), fsTaRef, 1e-5);
      // TA must change the score, or the test would pass with TA ignored.
      expect(Math.max(...scores.map((s, i) => Math.abs(s.fsTa! - fsRef[i]!)))).toBeGreaterThan(1e-3);

      const lg = tensor(ortLogits, [n, 10]);
      expectClose(scores.map((s) => s.classifier.msp!), await ref.read(msp(ref, lg)), 1e-5);
      expectClose(scores.map((s) => s.classifier.maxlogit!), await ref.read(maxLogit(ref, lg)), 1e-4);
      expectClose(scores.map((s) => s.classifier.energy!), await ref.read(energy(ref, lg)), 1e-4);
      // The model's own output comes back unchanged, per image.
      const own = await (model.predict(x) as tf.Tensor).data();
      scores.forEach((s, i) => {
        expect(s.outputs.logits!.shape).toEqual([1, 10]);
        expect(Array.from(s.outputs.logits!.data)).toEqual(Array.from(own.slice(i * 10, i * 10 + 10)));
      });
      expect(scores[0]!.score).toBe(scores[0]!.fsTa);
      expect(scores[0]!.verdict).toBeNull();
      tf.dispose([x, l3!, l2!, taIn, l3ta]);
    });

    it('scores pixels like the same image preprocessed by hand, and fuses with the calibrated λ and threshold', async () => {
      const fromRaw = await det.score({ data: imgs.nchw.subarray(0, 3 * 3072), shape: [3, 3, 32, 32] });
      const fromPixels = await det.score(imgs.pixels.slice(0, 3));
      expectClose(fromPixels.map((s) => s.fs), fromRaw.map((s) => s.fs), 1e-5);
      const fused = await createDetector({ model, stages: { fs: 'layer3', ta: 'layer2' }, logits: 'logits', config: { k: K, classifier: 'energy', lambda: 0.016, threshold: fromRaw[1]!.fsTa! + 0.016 * fromRaw[1]!.classifier.energy! } });
      const s = await fused.score({ data: imgs.nchw.subarray(0, 3 * 3072), shape: [3, 3, 32, 32] });
      s.forEach((r, i) => expect(r.score).toBeCloseTo(fromRaw[i]!.fsTa! + 0.016 * fromRaw[i]!.classifier.energy!, 5));
      expect(s[1]!.verdict).toBe('ID');
      expect(s.map((r) => r.verdict)).toEqual(s.map((r) => (r.score >= s[1]!.score ? 'ID' : 'OOD')));
    });

    it('disposes every tensor it creates (50 score() calls)', async () => {
      const one = { data: imgs.nchw.subarray(0, 3072), shape: [1, 3, 32, 32] };
      await det.score(one);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) await det.score(one);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('refuses bad inputs with a clear error', async () => {
      await expect(det.score('/tmp/cat.png')).rejects.toThrow(/input 0 is a file path or URL; @fsta\/tfjs does not decode/);
      await expect(det.score([imgs.pixels[0]!, new Uint8Array([137, 80, 78, 71])])).rejects.toThrow(/input 1 is encoded image bytes/);
      const bad = Float32Array.from(imgs.nchw.subarray(0, 3072));
      bad[5] = NaN;
      await expect(det.score({ data: bad, shape: [1, 3, 32, 32] })).rejects.toThrow(FstaError);
      await expect(det.score({ data: imgs.nchw.subarray(0, 3 * 16 * 16), shape: [1, 3, 16, 16] })).rejects.toThrow(FstaError);
      await expect(createDetector({ model, stages: { fs: 'layer9' } })).rejects.toThrow(/no layer "layer9" for the FS stage/);
      await expect(createDetector({ model, stages: { fs: 'layer3' }, config: { classifier: 'energy', lambda: 1 } })).rejects.toThrow(/no logits node was named/);
    });
  });
});
