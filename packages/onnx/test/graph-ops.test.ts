import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { featureSim, thresholdActivation, referenceOps } from '@fsta/core';
import { runConformance, type ConformanceEvaluate } from '@fsta/core/conformance';
import { encodeModel, GraphBuilder, graphOps, type OnnxModel, type OnnxValueInfo } from '../src/index.js';
import { seeded } from './helpers.js';

const vi = (name: string, shape?: readonly number[]): OnnxValueInfo => ({ name, type: { tensorType: { elemType: 1, ...(shape ? { shape: { dim: shape.map((d) => ({ dimValue: d })) } } : {}) } } });

/** Traces `build` into a one-output model at `opset` and runs it in onnxruntime-node. */
function onnxEvaluator(opset: number): ConformanceEvaluate {
  return async (build, inputs) => {
    const b = new GraphBuilder(opset);
    const xs = inputs.map((inp, i) => b.tensor(`x${i}`, inp.shape));
    let out = build(graphOps(b), ...xs);
    if (xs.includes(out)) out = b.tensor(b.node('Identity', [out.name])[0]!, out.shape);
    const model: OnnxModel = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: opset }],
      graph: { name: 'conformance', node: b.nodes, initializer: b.initializers, input: inputs.map((inp, i) => vi(`x${i}`, inp.shape)), output: [vi(out.name)] },
    };
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
