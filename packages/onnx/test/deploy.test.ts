import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { FstaError, parseConfig, verdictOf, type FstaConfig } from '@fsta/core';
import { FSTA_VERSION, GraphBuilder, decodeModel, encodeModel, patchForConfig, prepareDetectorModel, readPatchMetadata, tritonConfig, verdictInGraph } from '../src/index.js';
import { haveShared, modelFiles, readModel, seeded } from './helpers.js';
import { onnxModel, valueInfo } from './build-model.js';

/**
 * Issue 13: the patched model carries its decision (fsta/verdict, fsta.* metadata) and a
 * Triton config; the verdict is core's verdictOf on the same float32 score, image by image.
 */
const CONFIG: FstaConfig = parseConfig({ version: 1, backbone: 'auto', fsStage: 'C5', taStage: 'C4', k: 0.7, featureScore: 'fs_ta', classifier: 'energy', lambda: 0.1, temperature: 1, threshold: null, targetTpr: 0.95, provenance: { idImages: 'seeded noise', note: 'deploy.test' } });
const SESSION: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 };
const N = 12;

async function run(bytes: Uint8Array, input: Float32Array, dims: number[]) {
  const s = await ort.InferenceSession.create(bytes, SESSION);
  try { return await s.run({ input: new ort.Tensor('float32', input, dims) }); } finally { await s.release(); }
}
const code = (fn: () => unknown) => { try { fn(); } catch (e) { expect(e).toBeInstanceOf(FstaError); return `${(e as FstaError).code}: ${(e as Error).message}`; } return 'no error'; };
const f32Neighbour = (f: number, dir: 1 | -1) => { const b = new Int32Array(new Float32Array([f]).buffer); b[0]! += (f > 0) === (dir > 0) ? 1 : -1; return new Float32Array(b.buffer)[0]!; };

describe.skipIf(!haveShared)('fsta/verdict on the CIFAR ResNet-20', () => {
  const model = () => decodeModel(readModel('cifar10-resnet20.onnx'));
  const input = seeded(N * 3 * 32 * 32, 13, 2);

  it('equals verdictOf(score, threshold) on every image, for thresholds at, between and beside float32 scores', async () => {
    const plain = await run(encodeModel(patchForConfig(model(), { config: CONFIG }).model), input, [N, 3, 32, 32]);
    expect(plain['fsta/verdict']).toBeUndefined();
    const scores = plain['fsta/score']!.data as Float32Array;
    const sorted = [...scores].sort((a, b) => a - b);
    const s0 = scores[0]!;
    // At a score, half an ulp above and below it (not float32: rounding the threshold to nearest would flip these), the median, beyond all.
    const thresholds = [s0, (s0 + f32Neighbour(s0, 1)) / 2, (s0 + f32Neighbour(s0, -1)) / 2, sorted[N / 2]!, sorted[0]! - 1, sorted[N - 1]! + 1];
    let ids = 0;
    for (const threshold of thresholds) {
      const patched = patchForConfig(model(), { config: { ...CONFIG, threshold } });
      expect(patched.metadata.outputs.at(-1)).toBe('fsta/verdict');
      const out = await run(encodeModel(patched.model), input, [N, 3, 32, 32]);
      const v = out['fsta/verdict']!;
      expect(v.type).toBe('bool');
      expect(v.dims).toEqual([N]);
      // The score is the same with or without the verdict output.
      expect(Buffer.from((out['fsta/score']!.data as Float32Array).buffer).equals(Buffer.from(scores.buffer))).toBe(true);
      for (let i = 0; i < N; i++) {
        const expected = verdictOf(scores[i]!, threshold) === 'ID';
        expect(Boolean(v.data[i]), `image ${i} at threshold ${threshold}`).toBe(expected);
        ids += expected ? 1 : 0;
      }
    }
    // The thresholds split the images both ways (a test that cannot fail would not).
    expect(ids).toBeGreaterThan(0);
    expect(ids).toBeLessThan(N * thresholds.length);
  }, 120_000);

  it('matches verdictOf on edge values (NaN, ±Inf, ±0, float32 neighbours) in a one-node graph', async () => {
    for (const threshold of [0, -0, 1e-50, -1e-50, 0.1, -0.1, 1 / 3, 3.4e38]) {
      const b = new GraphBuilder(13, 'fsta/');
      const out = verdictInGraph(b, 'score', threshold);
      const m = onnxModel({ name: 'verdict', node: b.nodes, initializer: b.initializers, input: [valueInfo('score', ['N'])], output: [valueInfo(out, ['N'], 9)] });
      const f = Math.fround(threshold);
      const xs = new Float32Array([NaN, Infinity, -Infinity, 0, -0, f, f32Neighbour(f, 1), f32Neighbour(f, -1), 1, -1]);
      const s = await ort.InferenceSession.create(encodeModel(m), SESSION);
      const r = (await s.run({ score: new ort.Tensor('float32', xs, [xs.length]) }))[out]!;
      await s.release();
      xs.forEach((x, i) => expect(Boolean(r.data[i]), `${x} ≥ ${threshold}`).toBe(verdictOf(x, threshold) === 'ID'));
    }
  });
});

describe.skipIf(!haveShared)('fsta.* metadata', () => {
  it('records version, stages, k, classifier, λ, threshold, target TPR, preprocessing and provenance, and survives encoding', () => {
    const config = { ...CONFIG, threshold: 1.25 };
    const patched = patchForConfig(decodeModel(readModel('cifar10-resnet20.onnx')), { config });
    const back = readPatchMetadata(decodeModel(encodeModel(patched.model)))!;
    expect(back).toEqual(patched.metadata);
    expect(back.version).toBe(FSTA_VERSION);
    expect(back.config).toEqual(config);
    expect(back.fsStage).toEqual({ name: 'C5', tensor: patched.backbone.stages.C5!.tensor });
    expect(back.taStage).toEqual({ name: 'C4', tensor: patched.backbone.stages.C4!.tensor });
    expect(back.head).toEqual({ penultimate: '/Flatten_output_0', logits: 'logits', weight: 'linear.weight', bias: 'linear.bias' });
    expect(back.preprocess).toEqual({ size: [32, 32], crop: 'none', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'NCHW', range: [0, 1] });
    const flat = Object.fromEntries(patched.model.metadataProps!.map((e) => [e.key, e.value]));
    expect(flat).toMatchObject({ 'fsta.threshold': '1.25', 'fsta.target_tpr': '0.95', 'fsta.k': '0.7', 'fsta.lambda': '0.1', 'fsta.classifier': 'energy', 'fsta.provenance': JSON.stringify(config.provenance) });
    // A model without fsta metadata has none; broken metadata is refused by name.
    expect(readPatchMetadata(decodeModel(readModel('cifar10-resnet20.onnx')))).toBeNull();
    const broken = decodeModel(encodeModel(patched.model));
    broken.metadataProps = broken.metadataProps!.map((e) => (e.key === 'fsta.config' ? { key: e.key, value: '{"k": -1}' } : e));
    expect(code(() => readPatchMetadata(broken))).toMatch(/^BAD_METADATA: .*fsta\.config/);
  });

  it('FSTA_VERSION is the package version', () => {
    expect(FSTA_VERSION).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  });

  it('prepareDetectorModel runs a patched model as it is, and refuses options that would need another patch', () => {
    const config = { ...CONFIG, threshold: 1.25 };
    const bytes = encodeModel(patchForConfig(decodeModel(readModel('cifar10-resnet20.onnx')), { config }).model);
    const prepared = prepareDetectorModel(bytes, {});
    expect(prepared.bytes).toBe(bytes);
    expect(prepared.config).toEqual(config);
    expect(prepared.modelOutputs).toEqual(['logits']);
    expect(prepared.info.head?.weight.shape).toEqual([10, 64]);
    expect(prepareDetectorModel(bytes, { config }).config).toEqual(config);
    expect(code(() => prepareDetectorModel(bytes, { k: 2 }))).toMatch(/^ALREADY_PATCHED: .*option "k"/);
    expect(code(() => prepareDetectorModel(bytes, { ks: [1, 2] }))).toMatch(/^ALREADY_PATCHED: .*more k/);
    expect(code(() => prepareDetectorModel(bytes, { expose: { stages: true } }))).toMatch(/^ALREADY_PATCHED: .*stage maps/);
    expect(code(() => prepareDetectorModel(bytes, { config: { ...config, threshold: 2 } }))).toMatch(/^ALREADY_PATCHED: .*threshold/);
    expect(code(() => prepareDetectorModel(bytes, { preprocess: { size: [32, 32], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1] } }))).toMatch(/^ALREADY_PATCHED: .*preprocessing/);
    // fsta patch still refuses to patch twice.
    expect(code(() => patchForConfig(decodeModel(bytes), { config }))).toMatch(/^ALREADY_PATCHED/);
  });
});

/** A small reader for the pbtxt tritonConfig writes: each input/output entry's name, data_type, dims, reshape. */
export function parseTritonEntries(text: string, section: 'input' | 'output') {
  const block = new RegExp(`^${section} \\[\\n([\\s\\S]*?)\\n\\]`, 'm').exec(text)![1]!;
  return block.split(/\n  \},?\n?/).filter((e) => e.trim()).map((e) => ({
    name: JSON.parse(/name: ("(?:[^"\\]|\\.)*")/.exec(e)![1]!) as string,
    dataType: /data_type: (\w+)/.exec(e)![1]!,
    dims: /dims: \[ ([^\]]*) \]/.exec(e)![1]!.split(', ').map(Number),
    reshape: /reshape: \{ shape: \[ \] \}/.test(e),
  }));
}

describe.skipIf(!haveShared)('tritonConfig', () => {
  it.each(modelFiles)('%s: every input and output with its dtype and its dims without the batch axis, checked against a run', async (file) => {
    const patched = encodeModel(patchForConfig(decodeModel(readModel(file)), { config: { ...CONFIG, classifier: 'msp', lambda: 1, threshold: 0.5 } }).model);
    const cfg = tritonConfig(decodeModel(patched), 'm');
    expect(cfg.text).toMatch(/^platform: "onnxruntime_onnx"$/m);
    expect(cfg.text).toMatch(/^max_batch_size: 32$/m);
    expect(cfg.text).toMatch(/^dynamic_batching \{ \}$/m);
    const side = file.startsWith('cifar') ? 32 : 224;
    const out = await run(patched, seeded(2 * 3 * side * side, 5), [2, 3, side, side]);
    expect(parseTritonEntries(cfg.text, 'input')).toEqual([{ name: 'input', dataType: 'TYPE_FP32', dims: [3, side, side], reshape: false }]);
    const outputs = parseTritonEntries(cfg.text, 'output');
    expect(outputs.map((o) => o.name)).toEqual(Object.keys(out));
    const types: Record<string, string> = { float32: 'TYPE_FP32', bool: 'TYPE_BOOL' };
    for (const o of outputs) {
      const t = out[o.name]!;
      expect(o.dataType).toBe(types[t.type]);
      expect(t.dims[0]).toBe(2);
      // [N] outputs: dims [1] reshaped to [] (Triton's per-request scalar).
      if (t.dims.length === 1) expect(o).toMatchObject({ dims: [1], reshape: true });
      else expect(o).toMatchObject({ dims: t.dims.slice(1), reshape: false });
    }
    expect(outputs.map((o) => o.name)).toContain('fsta/verdict');
  }, 60_000);

  it('declares full shapes and no batching where the model has no dynamic batch axis; refuses odd names', () => {
    const m = decodeModel(readModel('cifar10-resnet20.onnx'));
    m.graph!.input![0]!.type!.tensorType!.shape!.dim![0] = { dimValue: 4 };
    const cfg = tritonConfig(m, 'fixed');
    expect(cfg.maxBatchSize).toBe(0);
    expect(cfg.text).not.toMatch(/dynamic_batching/);
    expect(parseTritonEntries(cfg.text, 'input')[0]!.dims).toEqual([4, 3, 32, 32]);
    expect(code(() => tritonConfig(m, '../x'))).toMatch(/^BAD_OPTION/);
  });
});
