import { describe, expect, it } from 'vitest';
import { FstaError, PAPER_LAMBDA, energy, featureSim, fuse, maxLogit, msp, referenceOps, thresholdActivation } from '@fsta/core';
import { decodeModel, encodeModel, GraphIndex, inferShapes, patchModel, float32Initializer, tailModel, type OnnxModel, type PatchOptions } from '../src/index.js';
import { modelFiles, readModel, runOrt } from './helpers.js';
import { onnxModel } from './build-model.js';
import { imageBatch } from './images.js';

/**
 * A stand-in for @fsta/backbones' stage detection: FS stage = the map fed to global
 * pooling; TA stage = the last block output (an Add, or a Relu of an Add) at twice its
 * spatial size.
 */
function pickStages(m: OnnxModel) {
  const g = new GraphIndex(m.graph!);
  const s = inferShapes(m);
  const order = g.order.map((i) => g.nodes[i]!);
  const pool = order.find((n) => n.opType === 'GlobalAveragePool' || n.opType === 'ReduceMean')!;
  const fs = pool.input![0]!;
  const h = s.get(fs)![2] as number;
  const isBlockOut = (n: (typeof order)[number]) => n.opType === 'Add' || (n.opType === 'Relu' && g.producerOf(n.input![0]!)?.opType === 'Add');
  const ta = order.filter((n) => s.get(n.output![0]!)?.length === 4 && s.get(n.output![0]!)![2] === 2 * h && isBlockOut(n)).at(-1)!.output![0]!;
  const logits = g.graphOutputs[0]!;
  return { fs, ta, logits, penultimate: g.producerOf(logits)!.input![0]! };
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!) / Math.max(Math.abs(b[i]!), 1e-12)));
const K = 1.0;

describe.each(modelFiles)('patchModel on %s', (file) => {
  const kind = file.startsWith('cifar') ? 'cifar' : 'imagenet';
  const count = kind === 'cifar' ? 4 : 2;

  it.each(['branch', 'double-batch'] as const)('%s: fs, fs_ta and classifier scores equal core’s reference; original outputs bit-identical', async (mode) => {
    const original = decodeModel(readModel(file));
    const st = pickStages(original);
    const x = await imageBatch(kind, count);
    const opts: PatchOptions = { fsStageTensor: st.fs, taStageTensor: st.ta, k: K, head: { penultimate: st.penultimate, logits: st.logits }, classifier: 'energy', mode, exposeStages: true };
    const res = patchModel(original, opts);
    expect(res.outputs).toEqual(['fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/score', 'fsta/stage/fs', 'fsta/stage/ta', 'fsta/stage/fs_ta']);
    expect(res.taNodes).toBeGreaterThan(3);
    const patched = await runOrt(encodeModel(res.model), { input: x });
    const plain = await runOrt(readModel(file), { input: x });

    // The model's own output, bit for bit.
    expect(Buffer.compare(Buffer.from(patched.logits!.data.buffer), Buffer.from(plain.logits!.data.buffer))).toBe(0);
    for (const k of ['fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/score']) expect(patched[k]!.dims).toEqual([count]);

    // FS: core's reference on the exposed stage tensor.
    const fsMap = referenceOps.fromArray(patched['fsta/stage/fs']!.data, patched['fsta/stage/fs']!.dims);
    expect(relErr(patched['fsta/fs']!.data, featureSim(referenceOps, fsMap).data)).toBeLessThan(1e-5);

    // FS+TA: TA on the host, fed into the original network cut at the TA stage.
    const taMap = referenceOps.fromArray(patched['fsta/stage/ta']!.data, patched['fsta/stage/ta']!.dims);
    const taHost = thresholdActivation(referenceOps, taMap, K);
    const cut = tailModel(original, st.ta, st.fs);
    expect(cut.extraInputs).toEqual([]);
    const fed = await runOrt(encodeModel(cut.model), { [st.ta]: { data: taHost.data, dims: [...taHost.shape] } });
    const fsTaRef = featureSim(referenceOps, referenceOps.fromArray(fed[st.fs]!.data, fed[st.fs]!.dims)).data;
    expect(relErr(patched['fsta/fs_ta']!.data, fsTaRef)).toBeLessThan(1e-5);
    // The exposed TA-pass map is the one fs_ta is taken on, and the one the cut network gives.
    expect(patched['fsta/stage/fs_ta']!.dims).toEqual(fed[st.fs]!.dims);
    expect(relErr(featureSim(referenceOps, referenceOps.fromArray(patched['fsta/stage/fs_ta']!.data, patched['fsta/stage/fs_ta']!.dims)).data, patched['fsta/fs_ta']!.data)).toBeLessThan(1e-5);
    expect(relErr(patched['fsta/stage/fs_ta']!.data.map((v) => v + 1), fed[st.fs]!.data.map((v) => v + 1))).toBeLessThan(1e-4);
    expect(relErr(patched['fsta/fs_ta']!.data, patched['fsta/fs']!.data)).toBeGreaterThan(1e-3); // TA changed something

    // Classifier scores and fusion: core's formulas on the model's logits.
    const logits = referenceOps.fromArray(plain.logits!.data, plain.logits!.dims);
    expect(relErr(patched['fsta/msp']!.data, msp(referenceOps, logits).data)).toBeLessThan(1e-5);
    expect(relErr(patched['fsta/maxlogit']!.data, maxLogit(referenceOps, logits).data)).toBeLessThan(1e-6);
    expect(relErr(patched['fsta/energy']!.data, energy(referenceOps, logits).data)).toBeLessThan(1e-5);
    expect(relErr(patched['fsta/score']!.data, fuse(fsTaRef, energy(referenceOps, logits).data, PAPER_LAMBDA.energy))).toBeLessThan(1e-5);
  });

  it('shares weights: the TA branch adds only tiny constants, and everything else survives', () => {
    const original = decodeModel(readModel(file));
    const st = pickStages(original);
    const res = patchModel(original, { fsStageTensor: st.fs, taStageTensor: st.ta, k: K });
    const bytes = (m: OnnxModel) => (m.graph!.initializer ?? []).reduce((a, t) => a + (t.rawData?.length ?? 0) + 4 * (t.floatData?.length ?? 0), 0);
    // TA as BatchNormalization (graph-ops' subConstant): three vectors of the TA stage's C (ones, −k, zeros).
    const bn = res.model.graph!.node!.filter((n) => n.opType === 'BatchNormalization' && n.name?.startsWith('fsta/'));
    expect(bn.length).toBe(1);
    const bnVectors = new Set(bn[0]!.input!.slice(1));
    const bnBytes = bytes({ graph: { initializer: res.model.graph!.initializer!.filter((t) => bnVectors.has(t.name!)) } });
    expect(bnVectors.size).toBe(3);
    expect(bytes(res.model) - bytes(original) - bnBytes).toBeLessThan(256);
    expect(bnBytes).toBeLessThanOrEqual(3 * 4 * 4096);
    const before = new GraphIndex(original.graph!);
    const dups = res.model.graph!.node!.filter((n) => n.name?.startsWith('fsta/ta/'));
    expect(dups.length).toBe(res.taNodes);
    for (const d of dups) for (const i of d.input ?? []) if (before.initializers.has(i)) expect(res.model.graph!.initializer!.filter((t) => t.name === i).length).toBe(1);
    // The caller's model is not modified, and the original nodes come first, unchanged.
    expect(original.graph!.node!.length).toBe(before.nodes.length);
    expect(res.model.graph!.node!.slice(0, before.nodes.length)).toEqual(original.graph!.node);
    expect(res.model.opsetImport).toEqual(original.opsetImport);
    expect(res.model.graph!.output!.slice(0, 1)).toEqual(original.graph!.output);
  });
});

describe('patchModel errors', () => {
  const m = () => decodeModel(readModel('cifar10-resnet20.onnx'));
  const code = (fn: () => unknown) => { try { fn(); } catch (e) { expect(e).toBeInstanceOf(FstaError); return `${(e as FstaError).code}: ${(e as Error).message}`; } return 'no error'; };
  it('names unknown tensors, wrong stage order, bad k, re-patching and missing convs', () => {
    const st = pickStages(m());
    expect(code(() => patchModel(m(), { fsStageTensor: 'layer9', k: 1 }))).toMatch(/^UNKNOWN_TENSOR: the FS stage tensor "layer9"/);
    expect(code(() => patchModel(m(), { fsStageTensor: st.fs, taStageTensor: 'nope', k: 1 }))).toMatch(/^UNKNOWN_TENSOR: the TA stage tensor "nope"/);
    expect(code(() => patchModel(m(), { fsStageTensor: st.ta, taStageTensor: st.fs, k: 1 }))).toMatch(/^BAD_STAGE_ORDER: .*not upstream/);
    expect(code(() => patchModel(m(), { fsStageTensor: st.fs, taStageTensor: st.ta, k: -0.5 }))).toMatch(/^BAD_K: .*-0\.5/);
    expect(code(() => patchModel(m(), { fsStageTensor: st.logits, k: 1 }))).toMatch(/^BAD_STAGE: .*not a feature map/);
    expect(code(() => patchModel(patchModel(m(), { fsStageTensor: st.fs, k: 1 }).model, { fsStageTensor: st.fs, k: 1 }))).toMatch(/^ALREADY_PATCHED/);
    const mlp = onnxModel({ name: 'mlp', node: [{ opType: 'Gemm', input: ['x', 'w'], output: ['y'], name: 'fc' }], initializer: [float32Initializer('w', [1, 2, 3, 4], [2, 2])], input: [{ name: 'x' }], output: [{ name: 'y' }] });
    expect(code(() => patchModel(mlp, { fsStageTensor: 'y', k: 1 }))).toMatch(/^NO_CONV_STAGES/);
  });
});
