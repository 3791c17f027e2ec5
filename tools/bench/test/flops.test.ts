import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeModel, inferShapes } from '@fsta/onnx';
import { flopBound, nodeMacs } from '../flops.mjs';
import { runtimeShapes } from './runtime-shapes.js';

const root = new URL('../../../', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('tools/bench/flops-fixture.json', root), 'utf8')) as {
  models: Record<string, { model: string; taTensor: string; fsTensor: string; totalMacs: number; taTailMacs: number; macsByOp: Record<string, number> }>;
};
const chw: Record<string, number[]> = { resnet50: [3, 224, 224], 'cifar10-resnet56': [3, 32, 32], 'imagenet-mobilenetv2': [3, 224, 224] };

describe('nodeMacs, hand-derived', () => {
  const shapes = new Map<string, number[]>([['x', [-1, 8, 10, 10]], ['w', [16, 4, 3, 3]], ['y', [-1, 16, 5, 5]], ['a', [-1, 64]], ['b', [10, 64]], ['z', [-1, 10]], ['m', [-1, 7, 32]], ['mw', [32, 5]], ['mo', [-1, 7, 5]]]);
  const get = (t: string) => shapes.get(t);
  it('Conv: out elements · Cin/group · kh · kw, per sample', () => {
    // groups = 2: each of the 16 outputs reads 4 channels · 3 · 3 at 5·5 positions.
    expect(nodeMacs({ opType: 'Conv', input: ['x', 'w'], output: ['y'] }, get)).toBe(16 * 5 * 5 * 4 * 3 * 3);
  });
  it('Gemm and MatMul: out elements · K', () => {
    expect(nodeMacs({ opType: 'Gemm', input: ['a', 'b'], output: ['z'] }, get)).toBe(10 * 64);
    expect(nodeMacs({ opType: 'MatMul', input: ['m', 'mw'], output: ['mo'] }, get)).toBe(7 * 5 * 32);
  });
  it('other ops cost no MACs; unknown shapes are an error, not a zero', () => {
    expect(nodeMacs({ opType: 'Relu', input: ['y'], output: ['r'] }, get)).toBe(0);
    expect(() => nodeMacs({ opType: 'Conv', input: ['x', 'w'], output: ['nope'] }, get)).toThrow(/shapes unknown/);
  });
});

describe.each(Object.keys(fixture.models))('flopBound on %s', (name) => {
  const f = fixture.models[name]!;
  it('matches onnx shape inference + Python counting (tools/bench/flops_fixture.py)', async () => {
    const model = decodeModel(readFileSync(new URL(f.model, root)));
    const r = flopBound(model, await runtimeShapes(model, chw[name]!), { taTensor: f.taTensor, fsTensor: f.fsTensor });
    expect(r.totalMacs).toBe(f.totalMacs);
    expect(r.taTailMacs).toBe(f.taTailMacs);
    expect(r.byOp).toEqual(f.macsByOp);
    expect(r.bound).toBeCloseTo(1 + f.taTailMacs / f.totalMacs, 12);
  });
  it('gives the same counts from @fsta/onnx inferShapes (what the bench uses) with a symbolic batch', () => {
    const model = decodeModel(readFileSync(new URL(f.model, root)));
    const r = flopBound(model, inferShapes(model), { taTensor: f.taTensor, fsTensor: f.fsTensor });
    expect([r.totalMacs, r.taTailMacs]).toEqual([f.totalMacs, f.taTailMacs]);
  });
});

it('published totals: ResNet-50 4.09 GMACs, MobileNetV2 0.30 GMACs, CIFAR ResNet-56 0.125 GMACs', () => {
  expect(fixture.models.resnet50!.totalMacs / 1e9).toBeCloseTo(4.09, 2);
  expect(fixture.models['imagenet-mobilenetv2']!.totalMacs / 1e9).toBeCloseTo(0.30, 2);
  expect(fixture.models['cifar10-resnet56']!.totalMacs / 1e9).toBeCloseTo(0.125, 3);
});
