import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '@fsta/onnx';
import { tailModel, withOutputs } from '../graph-cut.mjs';

const root = new URL('../../../', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('tools/bench/flops-fixture.json', root), 'utf8')) as { models: Record<string, { model: string; taTensor: string; fsTensor: string }> };
const cases = [['cifar10-resnet56', [2, 3, 32, 32]], ['imagenet-mobilenetv2', [1, 3, 224, 224]]] as const;

describe.each(cases)('tailModel on %s', (name, shape) => {
  it('fed the TA stage unchanged, it reproduces the FS stage of the full model', async () => {
    const f = fixture.models[name]!;
    const model = decodeModel(readFileSync(new URL(f.model, root)));
    const full = await ort.InferenceSession.create(encodeModel(withOutputs(model, [f.taTensor, f.fsTensor])));
    const tail = await ort.InferenceSession.create(encodeModel(tailModel(model, f.taTensor, f.fsTensor)));
    const n = shape.reduce((p, d) => p * d, 1);
    const x = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const a = await full.run({ [full.inputNames[0]!]: new ort.Tensor('float32', x, shape) });
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
