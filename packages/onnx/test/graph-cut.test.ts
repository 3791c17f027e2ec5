import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { decodeModel, encodeModel, float32Initializer, tailModel, withOutputs, type OnnxModel } from '../src/index.js';
import { onnxModel, valueInfo as vi } from './build-model.js';

const root = new URL('../../../', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('tools/bench/flops-fixture.json', root), 'utf8')) as { models: Record<string, { model: string; taTensor: string; fsTensor: string }> };
const cases = [['cifar10-resnet56', [2, 3, 32, 32]], ['imagenet-mobilenetv2', [1, 3, 224, 224]]] as const;

describe.each(cases)('tailModel on %s', (name, shape) => {
  it('fed the TA stage unchanged, it reproduces the FS stage of the full model', async () => {
    const f = fixture.models[name]!;
    const model = decodeModel(readFileSync(new URL(f.model, root)));
    const full = await ort.InferenceSession.create(encodeModel(withOutputs(model, [f.taTensor, f.fsTensor])));
    const cut = tailModel(model, f.taTensor, f.fsTensor);
    // CIFAR option-A shortcuts pad with Constant-node pads: those come along, no extra input.
    expect(cut.extraInputs).toEqual([]);
    const tail = await ort.InferenceSession.create(encodeModel(cut.model));
    const n = shape.reduce<number>((p, d) => p * d, 1);
    const x = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const a = await full.run({ [full.inputNames[0]!]: new ort.Tensor('float32', x, [...shape]) });
    expect(tail.inputNames).toEqual([f.taTensor]);
    const b = await tail.run({ [f.taTensor]: a[f.taTensor]! });
    expect(b[f.fsTensor]!.dims).toEqual(a[f.fsTensor]!.dims);
    const want = a[f.fsTensor]!.data as Float32Array;
    const got = b[f.fsTensor]!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThan(1e-4);
    expect(want.some((v) => v > 0)).toBe(true);
    await full.release();
    await tail.release();
  });
});

/**
 * x → a = Relu(x) → ta = a·w → c = Relu(ta) → d = c + 0.25 (a Constant node) → fs = d + a.
 * `a` is a long skip around the TA stage; `out` = fs·w is the model's own output.
 */
function skipModel(): OnnxModel {
  return onnxModel({
    name: 'skip',
    node: [
      { opType: 'Relu', input: ['x'], output: ['a'], name: 'relu_a' },
      { opType: 'Mul', input: ['a', 'w'], output: ['ta'], name: 'mul' },
      { opType: 'Relu', input: ['ta'], output: ['c'], name: 'relu_c' },
      { opType: 'Constant', input: [], output: ['quarter'], name: 'const', attribute: [{ name: 'value', type: 4, t: float32Initializer('q', [0.25], [1]) }] },
      { opType: 'Add', input: ['c', 'quarter'], output: ['d'], name: 'add_d' },
      { opType: 'Add', input: ['d', 'a'], output: ['fs'], name: 'add_fs' },
      { opType: 'Mul', input: ['fs', 'w'], output: ['out'], name: 'mul_out' },
    ],
    initializer: [float32Initializer('w', [2, -1, 0.5, 3], [4])],
    input: [vi('x', [1, 4])],
    output: [vi('out', [1, 4])],
  });
}

const fstaCode = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FstaError);
    return `${(e as FstaError).code}: ${(e as Error).message}`;
  }
  throw new Error('expected an FstaError');
};

describe('withOutputs', () => {
  it('appends the tensors after the original outputs, once each, without touching its input', () => {
    const model = skipModel();
    const before = JSON.stringify(model);
    const m = withOutputs(model, ['a', 'out', 'fs', 'a']);
    expect(m.graph!.output!.map((o) => o.name)).toEqual(['out', 'a', 'fs']);
    expect(m.graph!.output![0]).toEqual(model.graph!.output![0]);
    expect(JSON.stringify(model)).toBe(before);
    expect(m.graph!.node!.length).toBe(model.graph!.node!.length);
  });

  it('refuses an unknown tensor, naming it and the fix', () => {
    expect(fstaCode(() => withOutputs(skipModel(), ['a', 'nope']))).toMatch(/^UNKNOWN_TENSOR: .*"nope"/);
    try {
      withOutputs(skipModel(), ['nope']);
    } catch (e) {
      expect((e as FstaError).fix).toMatch(/fsta inspect/);
    }
  });

  it('the exposed tensors equal the values computed by hand', async () => {
    const s = await ort.InferenceSession.create(encodeModel(withOutputs(skipModel(), ['a', 'ta', 'fs'])));
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2, 4, 0.5]), [1, 4]) });
    expect(Array.from(r.a!.data as Float32Array)).toEqual([1, 0, 4, 0.5]);
    expect(Array.from(r.ta!.data as Float32Array)).toEqual([2, -0, 2, 1.5]);
    // fs = ReLU(ta) + 0.25 + a
    expect(Array.from(r.fs!.data as Float32Array)).toEqual([3.25, 0.25, 6.25, 2.25]);
    expect(Array.from(r.out!.data as Float32Array)).toEqual([6.5, -0.25, 3.125, 6.75]);
    await s.release();
  });
});

describe('tailModel on a graph with a long skip and a Constant node', () => {
  it('keeps the Constant node, makes the skip an extra input and only reads the weights it needs', () => {
    const model = skipModel();
    const before = JSON.stringify(model);
    const { model: cut, extraInputs } = tailModel(model, 'ta', 'fs');
    expect(extraInputs).toEqual(['a']);
    expect(cut.graph!.node!.map((n) => n.name).sort()).toEqual(['add_d', 'add_fs', 'const', 'relu_c']);
    expect(cut.graph!.input!.map((v) => v.name)).toEqual(['ta', 'a']);
    expect(cut.graph!.output!.map((v) => v.name)).toEqual(['fs']);
    expect(cut.graph!.initializer ?? []).toEqual([]);
    expect(JSON.stringify(model)).toBe(before);
  });

  it('run on host-computed TA and the skip, it gives ReLU(TA) + 0.25 + skip', async () => {
    const { model: cut } = tailModel(skipModel(), 'ta', 'fs');
    const s = await ort.InferenceSession.create(encodeModel(cut));
    const r = await s.run({ ta: new ort.Tensor('float32', Float32Array.from([-1, 0.5, 2, 0]), [1, 4]), a: new ort.Tensor('float32', Float32Array.from([10, 20, 30, 40]), [1, 4]) });
    expect(Array.from(r.fs!.data as Float32Array)).toEqual([10.25, 20.75, 32.25, 40.25]);
    await s.release();
  });

  it('from the model input, it needs the weights and no extra input', () => {
    const { model: cut, extraInputs } = tailModel(skipModel(), 'x', 'out');
    expect(extraInputs).toEqual([]);
    expect(cut.graph!.initializer!.map((t) => t.name)).toEqual(['w']);
    expect(cut.graph!.node!.length).toBe(7);
  });

  it('refuses unknown tensors and a pair where the end does not depend on the start', () => {
    expect(fstaCode(() => tailModel(skipModel(), 'nope', 'fs'))).toMatch(/^UNKNOWN_TENSOR: .*"nope"/);
    expect(fstaCode(() => tailModel(skipModel(), 'ta', 'nope'))).toMatch(/^UNKNOWN_TENSOR: .*"nope"/);
    expect(fstaCode(() => tailModel(skipModel(), 'fs', 'ta'))).toMatch(/^BAD_STAGES: "ta" does not depend on "fs"/);
    expect(fstaCode(() => tailModel(skipModel(), 'ta', 'ta'))).toMatch(/^BAD_STAGES/);
    expect(fstaCode(() => tailModel(skipModel(), 'ta', 'quarter'))).toMatch(/^BAD_STAGES/);
  });
});
