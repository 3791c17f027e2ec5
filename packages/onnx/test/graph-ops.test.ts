import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { featureSim, thresholdActivation, referenceOps } from '@fsta/core';
import { runConformance, type ConformanceEvaluate } from '@fsta/core/conformance';
import { encodeModel, GraphBuilder, graphOps } from '../src/index.js';
import { seeded } from './helpers.js';
import { onnxModel, valueInfo as vi } from './build-model.js';


/** Traces `build` into a one-output model at `opset` and runs it in onnxruntime-node. */
function onnxEvaluator(opset: number): ConformanceEvaluate {
  return async (build, inputs) => {
    const b = new GraphBuilder(opset);
    const xs = inputs.map((inp, i) => b.tensor(`x${i}`, inp.shape));
    let out = build(graphOps(b), ...xs);
    if (xs.includes(out)) out = b.tensor(b.node('Identity', [out.name])[0]!, out.shape);
    b.materialize(out.name);
    const model = onnxModel({ name: 'conformance', node: b.nodes, initializer: b.initializers, input: inputs.map((inp, i) => vi(`x${i}`, inp.shape)), output: [vi(out.name)] }, {}, opset);
    const session = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
    const feeds = Object.fromEntries(inputs.map((inp, i) => [`x${i}`, new ort.Tensor('float32', Float32Array.from(inp.data), inp.shape)]));
    const res = (await session.run(feeds))[out.name]!;
    await session.release();
    expect([...res.dims]).toEqual([...out.shape]);
    return { data: res.data as Float32Array, shape: [...res.dims] };
  };
}

describe.each([13, 18])("core's conformance suite, traced into ONNX at opset %i and run in onnxruntime-node", (opset) => {
  it('passes every case', async () => {
    const results = await runConformance(onnxEvaluator(opset));
    expect(results.length).toBeGreaterThan(20);
    const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
    expect(failed).toEqual([]);
  });
});

describe('FS and TA in the graph', () => {
  it("featureSim(graphOps) equals featureSim(referenceOps) on a random (2, 8, 5, 7) map", async () => {
    const shape = [2, 8, 5, 7];
    const data = seeded(2 * 8 * 35, 11, 3);
    const { data: got } = await onnxEvaluator(13)((o, x) => featureSim(o, thresholdActivation(o, x!, 0.4)), [{ data: Array.from(data), shape }]);
    const want = referenceOps.fromArray(data, shape);
    const ref = featureSim(referenceOps, thresholdActivation(referenceOps, want, 0.4));
    for (let i = 0; i < 2; i++) expect(Math.abs(got[i]! - ref.data[i]!) / Math.abs(ref.data[i]!)).toBeLessThan(1e-5);
  });
  it.each([13, 18])('spatial means become GlobalAveragePool and match the reference at opset %i, C5-sized map included', async (opset) => {
    const cases: [number[], number[], boolean][] = [
      [[2, 8, 5, 7], [2, 3], true], [[2, 8, 5, 7], [2, 3], false], [[2, 8, 5, 7], [1, 2, 3], false], [[2, 8, 5, 7], [-3, -2, -1], true],
      [[2, 6, 9], [2], true], [[2, 6, 9], [1, 2], false], [[1, 2048, 28, 28], [1, 2, 3], false],
    ];
    for (const [shape, axes, keep] of cases) {
      // Positive like |f − GAP(f)|, so a float32 accumulation drift shows as relative error.
      const data = seeded(shape.reduce((p, d) => p * d, 1), 7, 4).map(Math.abs);
      const b = new GraphBuilder(opset);
      const out = graphOps(b).mean(b.tensor('x', shape), axes, keep);
      const ops = b.nodes.map((n) => n.opType);
      // ReduceMean only ever sees the pooled (N, C) channel means, never the map itself.
      expect(ops[0], `${shape} ${axes}`).toBe('GlobalAveragePool');
      for (const n of b.nodes.filter((n) => n.opType === 'ReduceMean')) expect(n.input?.[0]).not.toBe('x');
      const { data: got, shape: gotShape } = await onnxEvaluator(opset)((o, x) => o.mean(x!, axes, keep), [{ data: Array.from(data), shape }]);
      const want = referenceOps.mean(referenceOps.fromArray(data, shape), axes, keep);
      expect(gotShape).toEqual(want.shape);
      expect(out.shape).toEqual(want.shape);
      for (let i = 0; i < want.data.length; i++) expect(Math.abs(got[i]! - want.data[i]!), `${shape} ${axes} [${i}]`).toBeLessThan(1e-6 * Math.abs(want.data[i]!));
    }
  });
  it('TA on a map is BatchNormalization (no reorder in onnxruntime\'s NCHWc layout), bit-identical to Sub then Relu', async () => {
    // A conv in front makes the map NCHWc in onnxruntime, as a real stage is; C = 24 is a whole number of blocks.
    const shape = [3, 24, 6, 5];
    const data = Float32Array.from(seeded(3 * 24 * 30, 5, 2));
    const weight = Float32Array.from(seeded(24 * 24, 9, 1));
    const build = (useSub: boolean) => {
      const b = new GraphBuilder(13);
      const o = graphOps(b);
      const conv = b.tensor(b.node('Conv', ['x', b.floatConst(weight, [24, 24, 1, 1])], [])[0]!, shape);
      // k = 0.3 is not a float32: the constant is fround(k) either way.
      const ta = useSub ? o.relu(b.tensor(b.node('Sub', [conv.name, b.floatConst([0.3], [])])[0]!, shape)) : thresholdActivation(o, conv, 0.3);
      const out = b.node('Conv', [ta.name, b.floatConst(weight, [24, 24, 1, 1])], [])[0]!;
      const model = onnxModel({ name: 'ta', node: b.nodes, initializer: b.initializers, input: [vi('x', shape)], output: [vi(ta.name), vi(out)] }, {}, 13);
      return { model, ops: b.nodes.map((n) => n.opType), names: [ta.name, out] };
    };
    const bn = build(false), sub = build(true);
    expect(bn.ops).toEqual(['Conv', 'BatchNormalization', 'Relu', 'Conv']);
    expect(bn.model.graph!.node!.find((n) => n.opType === 'BatchNormalization')!.attribute).toEqual([{ name: 'epsilon', type: 1, f: 0 }]);
    // The threshold's scalar constant, folded into the bias, leaves no unused initializer behind.
    const read = new Set(bn.model.graph!.node!.flatMap((n) => n.input ?? []));
    expect(bn.model.graph!.initializer!.filter((i) => !read.has(i.name!))).toEqual([]);
    for (const level of ['disabled', 'all'] as const) {
      const run = async ({ model, names }: typeof bn) => {
        const s = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: level, intraOpNumThreads: 1 });
        const r = await s.run({ x: new ort.Tensor('float32', data, shape) });
        await s.release();
        return names.map((n) => r[n]!.data as Float32Array);
      };
      const [a, b] = [await run(bn), await run(sub)];
      for (let j = 0; j < 2; j++) expect(Buffer.from(a[j]!.buffer).equals(Buffer.from(b[j]!.buffer)), `${level} output ${j}`).toBe(true);
      expect(a[0]!.some((v) => v === 0) && a[0]!.some((v) => v > 0)).toBe(true);
    }
    // Not a map with known channels, or not a constant: Sub as before.
    for (const [s, useConst] of [[[3, -1, 6, 5], true], [[3, 24], true], [shape, false]] as const) {
      const b = new GraphBuilder(13);
      const o = graphOps(b);
      o.sub(b.tensor('x', s), useConst ? o.constant([0.3], []) : b.tensor('k', []));
      expect(b.nodes.map((n) => n.opType)).toEqual(['Sub']);
    }
  });
  it('means that skip a spatial axis or include the batch stay per-axis ReduceMean', () => {
    for (const axes of [[3], [1, 3], [0, 2, 3], [1]]) {
      const b = new GraphBuilder(13);
      graphOps(b).mean(b.tensor('x', [2, 8, 5, 7]), axes, false);
      expect(b.nodes.map((n) => n.opType)).toEqual(axes.map(() => 'ReduceMean'));
    }
  });
  it('refuses opsets before 13 and percentiles along a run-time axis', () => {
    expect(() => new GraphBuilder(11)).toThrow(/opset 11.*opset_version=13/);
    const b = new GraphBuilder(13);
    expect(() => graphOps(b).percentile(b.tensor('x', [-1, 4]), 50, 0)).toThrow(/only known at run time/);
  });
  it('names never collide with the model’s tensors', () => {
    const b = new GraphBuilder(13, 'fsta/', new Set(['fsta/Relu_0']));
    expect(b.node('Relu', ['x'])[0]).toBe('fsta/Relu_1');
  });
});
