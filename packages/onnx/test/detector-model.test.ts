import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '@fsta/core';
import { decodeModel, decodedModel, encodeModel, modelFingerprint, ortDetector, prepareDetectorModel, toNumber } from '../src/index.js';

const resnet = readFileSync(new URL('../../../../shared/models/cifar10-resnet20.onnx', import.meta.url));

describe('prepareDetectorModel', () => {
  it('patches in the score outputs and keeps the model outputs, with the manifest preprocessing', () => {
    const p = prepareDetectorModel(resnet, { classifier: 'msp' });
    expect(p.inputName).toBe('input');
    expect(p.chw).toEqual([3, 32, 32]);
    expect(p.modelOutputs).toEqual(['logits']);
    expect(p.preprocess).toMatchObject({ size: [32, 32], crop: 'none' });
    expect(p.config).toMatchObject({ fsStage: 'C5', taStage: 'C4', k: 0.5, classifier: 'msp', lambda: 0.1 });
    const outs = decodeModel(p.bytes).graph!.output!.map((o) => o.name);
    expect(outs).toEqual(expect.arrayContaining(['logits', 'fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/score']));
  });
  it('names what is wrong and how to fix it', () => {
    expect(() => prepareDetectorModel(resnet, { backbone: 'mobilenet_v2' })).toThrow(/backbone "mobilenet_v2" does not fit this model/);
    expect(() => prepareDetectorModel(resnet, { config: defaultConfig({ fsStage: 'C2' }) })).toThrow(/stage "C2" does not exist.*Fix: use one of C3, C4, C5/);
    expect(() => prepareDetectorModel(resnet, { config: defaultConfig({ classifier: 'odin', lambda: 1 }) })).toThrow(/"odin" cannot be computed inside the ONNX graph/);
    expect(() => prepareDetectorModel(resnet, { preprocess: { size: [64, 64], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1] } })).toThrow(/makes \[3, 64, 64\] images but the model input is \[3, -1, -1\]|makes \[3, 64, 64\] images but the model input is \[3, 32, 32\]/);
  });
});

describe('ASH and SCALE in the patched graph', () => {
  const mobilenetInt8 = readFileSync(new URL('../../../../shared/models/imagenet-mobilenetv2-int8w.onnx', import.meta.url));
  it('read the tensors the head Gemm reads (no weight copied; an int8 head through its own DequantizeLinear)', () => {
    for (const [bytes, weight] of [[resnet, 'linear.weight'], [mobilenetInt8, 'classifier.1.weight']] as const) {
      for (const classifier of ['ash', 'scale'] as const) {
        const p = prepareDetectorModel(bytes, { classifier, lambda: 0.5, ...(bytes === mobilenetInt8 ? { backbone: 'auto' } : {}) });
        const g = decodeModel(p.bytes).graph!;
        const outs = g.output!.map((o) => o.name);
        expect(outs).toEqual(expect.arrayContaining([`fsta/${classifier}`, 'fsta/score']));
        expect(outs).not.toContain(classifier === 'ash' ? 'fsta/scale' : 'fsta/ash');
        const gemm = g.node!.find((n) => n.opType === 'Gemm' && n.name?.startsWith('fsta/'))!;
        expect(gemm.input![1]).toBe(weight);
        // The patch adds only small constants (TA's per-channel ones included), never a (classes, D) copy of the weight.
        const original = new Set(decodeModel(bytes).graph!.initializer!.map((t) => t.name));
        const added = g.initializer!.filter((t) => !original.has(t.name));
        const [classes, d] = bytes === resnet ? [10, 64] : [1000, 1280];
        expect(Math.max(...added.map((t) => (t.dims ?? []).reduce((a: number, x) => a * toNumber(x), 1)))).toBeLessThan(classes * d);
      }
    }
    expect(prepareDetectorModel(resnet, { classifier: 'ash', lambda: 0.5, ash: { variant: 'b', percentile: 70 } }).config.ash).toEqual({ variant: 'b', percentile: 70 });
  });
  it('refuse what the graph cannot compute, naming the fix', () => {
    expect(() => prepareDetectorModel(resnet, { classifier: 'ash' })).toThrow(/classifier "ash" has no paper λ/);
    expect(() => prepareDetectorModel(resnet, { config: defaultConfig({ classifier: 'fdbd', lambda: 1 }) })).toThrow(/"fdbd" cannot be computed inside the ONNX graph \(in-graph scores: msp, maxlogit, energy, ash, scale\).*Fix: .*`fsta eval`/);
    expect(() => prepareDetectorModel(resnet, { config: defaultConfig({ classifier: 'ash', lambda: 1, ash: { variant: 's', percentile: 99.5 } }) })).toThrow(/ASH at percentile 99.5 keeps no activation out of 64/);
  });
});

describe('decodedModel', () => {
  it('is taken in place of the bytes and patches to the same bytes', () => {
    const decoded = decodedModel(resnet);
    expect(decoded.fingerprint).toBe(modelFingerprint(decodeModel(resnet)));
    const fromBytes = prepareDetectorModel(resnet, { classifier: 'msp', ks: [0.2] });
    const fromDecoded = prepareDetectorModel(decoded, { classifier: 'msp', ks: [0.2] });
    expect(Buffer.from(fromDecoded.bytes).equals(Buffer.from(fromBytes.bytes))).toBe(true);
    expect(fromDecoded.tails).toEqual(fromBytes.tails);
    // Patching clones: the decoded model is unchanged and can be patched again.
    expect(decoded.model.graph!.output!.map((o) => o.name)).toEqual(['logits']);
  });
  it('refuses a hand-made { bytes, model } pair, and checks a smaller tensor limit again', () => {
    const { bytes, model, fingerprint } = decodedModel(resnet);
    expect(() => prepareDetectorModel({ bytes, model, fingerprint }, {})).toThrow(/neither ONNX bytes nor a decodedModel\(\) result/);
    // With batch 1 every feature map has a static shape; layer1's [1, 16, 32, 32] floats are 64 KiB.
    const m = decodeModel(resnet);
    m.graph!.input![0]!.type!.tensorType!.shape!.dim![0] = { dimValue: 1 };
    const fixed = encodeModel(m);
    const decoded = decodedModel(fixed);
    for (const source of [fixed, decoded]) expect(() => prepareDetectorModel(source, { maxTensorBytes: 2 ** 15 })).toThrow(/TENSOR_TOO_LARGE|over the/);
    expect(() => prepareDetectorModel(decoded, { maxTensorBytes: 2 ** 20 })).not.toThrow();
  });
});

describe('ortDetector', () => {
  const prepared = { ...prepareDetectorModel(resnet, {}), fixedBatch: null };
  const fakeSession = () => {
    const runs: number[][] = [];
    let released = 0;
    return {
      runs, released: () => released,
      session: {
        outputNames: ['logits', 'fsta/fs', 'fsta/fs_ta'],
        async run(feeds: Record<string, never>) {
          const t = feeds['input'] as unknown as { data: Float32Array; shape: number[] };
          runs.push(t.shape);
          const n = t.shape[0]!;
          const first = Float32Array.from({ length: n }, (_, i) => t.data[i * 3 * 32 * 32]!);
          return { logits: { data: new Float32Array(n * 10), dims: [n, 10], type: 'float32' }, 'fsta/fs': { data: first, dims: [n], type: 'float32' }, 'fsta/fs_ta': { data: first.map((v) => v * 2), dims: [n], type: 'float32' } };
        },
        async release() { released++; },
      },
    };
  };
  const raw = (v: number) => ({ data: new Float32Array(3 * 32 * 32).fill(v), shape: [3, 32, 32] });
  it('runs one batch per batchSize images and maps outputs to scores', async () => {
    const f = fakeSession();
    const det = ortDetector({ prepared, session: f.session, tensor: (data, shape) => ({ data, shape }), runtime: 'fake', batchSize: 2, decode: async () => { throw new Error('unused'); } });
    const r = await det.score([raw(1), raw(2), raw(3)]);
    expect(f.runs).toEqual([[2, 3, 32, 32], [1, 3, 32, 32]]);
    expect(r.map((x) => [x.fs, x.fsTa, x.score])).toEqual([[1, 2, 2], [2, 4, 4], [3, 6, 6]]);
    await det.dispose(); await det.dispose();
    expect(f.released()).toBe(1);
    await expect(det.score(raw(1))).rejects.toThrow(/after dispose/);
  });
  it('uses batches of 1 for a model exported with a fixed batch of 1', async () => {
    const f = fakeSession();
    const det = ortDetector({ prepared: { ...prepared, fixedBatch: 1 }, session: f.session, tensor: (data, shape) => ({ data, shape }), runtime: 'fake', decode: async () => { throw new Error('unused'); } });
    await det.score([raw(1), raw(2)]);
    expect(f.runs).toEqual([[1, 3, 32, 32], [1, 3, 32, 32]]);
  });
  it.each([1, 3])('keeps at most decodeConcurrency = %i decodes going at once', async (limit) => {
    const f = fakeSession();
    let active = 0, most = 0;
    const decode = async (input: unknown) => {
      most = Math.max(most, ++active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      return { data: new Uint8Array(32 * 32 * 3).fill(Number(input)), width: 32, height: 32, channels: 3 as const };
    };
    const det = ortDetector({ prepared, session: f.session, tensor: (data, shape) => ({ data, shape }), runtime: 'fake', batchSize: 4, decodeConcurrency: limit, decode });
    expect(await det.score(['1', '2', '3', '4', '5', '6', '7'])).toHaveLength(7);
    expect(most).toBe(limit);
  });
  it('pads every run to a fixed batch of 3 and keeps only the real images', async () => {
    const f = fakeSession();
    const det = ortDetector({ prepared: { ...prepared, fixedBatch: 3 }, session: f.session, tensor: (data, shape) => ({ data, shape }), runtime: 'fake', batchSize: 16, decode: async () => { throw new Error('unused'); } });
    const r = await det.score([raw(1), raw(2), raw(3), raw(4)]);
    expect(f.runs).toEqual([[3, 3, 32, 32], [3, 3, 32, 32]]);
    expect(r.map((x) => x.fs)).toEqual([1, 2, 3, 4]);
  });
});
