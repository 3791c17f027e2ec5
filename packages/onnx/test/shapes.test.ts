import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { UNKNOWN_DIM, decodeModel, encodeModel, inferShapes, float32Initializer, int64Initializer, attr, GraphIndex, withOutputs, type OnnxModel, type OnnxNode, type Shape } from '../src/index.js';
import { modelFiles, readModel, seeded, inputSize } from './helpers.js';

/** Runs the model with every node output exposed; returns each tensor's real dims. */
async function realShapes(model: OnnxModel, feeds: Record<string, number[]>): Promise<Map<string, number[]>> {
  const names = (model.graph!.node ?? []).flatMap((n) => n.output ?? []).filter(Boolean);
  const bytes = encodeModel(withOutputs(model, names));
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, dims] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', seeded(dims.reduce((a, b) => a * b, 1), 3), dims);
  const out = await session.run(inputs);
  await session.release();
  return new Map(Object.entries(out).map(([k, v]) => [k, [...v.dims]]));
}

function compare(inferred: Map<string, Shape | undefined>, real: Map<string, number[]>, bind: Record<string, number>) {
  const wrong: string[] = [];
  let checked = 0;
  for (const [name, dims] of real) {
    const s = inferred.get(name);
    const concrete = s?.map((d) => (typeof d === 'string' ? bind[d] ?? d : d));
    if (JSON.stringify(concrete) !== JSON.stringify(dims)) wrong.push(`${name}: inferred ${JSON.stringify(s)} real ${JSON.stringify(dims)}`);
    checked++;
  }
  return { wrong, checked };
}

describe('inferShapes agrees with onnxruntime on every shared model', () => {
  for (const f of modelFiles) {
    it(`${f}: every node output, batch kept symbolic`, async () => {
      const m = decodeModel(readModel(f));
      const inferred = inferShapes(m);
      const s = inputSize(f);
      const batch = inferred.get('input')![0];
      expect(typeof batch).toBe('string');
      expect(inferred.get('input')).toEqual([batch, 3, s, s]);
      expect(inferred.get('logits')).toEqual([batch, f.startsWith('cifar') ? 10 : 1000]);
      const { wrong, checked } = compare(inferred, await realShapes(m, { input: [2, 3, s, s] }), { batch: 2, N: 2 });
      expect(wrong).toEqual([]);
      expect(checked).toBe((m.graph!.node ?? []).reduce((a, n) => a + (n.output ?? []).length, 0));
    });
  }
  it('a fixed input shape overrides the declared one', () => {
    const m = decodeModel(readModel('cifar10-resnet20.onnx'));
    const s = inferShapes(m, [5, 3, 64, 64]);
    expect(s.get('logits')).toEqual([5, 10]);
    const g = new GraphIndex(m.graph!);
    const lastConv = g.order.map((i) => g.nodes[i]!).filter((n) => n.opType === 'Conv').at(-1)!;
    expect(s.get(lastConv.output![0]!)).toEqual([5, 64, 16, 16]);
  });
});

describe('inferShapes on ops the shared models do not use', () => {
  // One graph exercising dilated/grouped/auto_pad convs, ConvTranspose, pools with
  // ceil_mode, Resize, Split, Transpose, Flatten, Gemm, MatMul, Squeeze/Unsqueeze, Pad.
  const n = (opType: string, input: string[], output: string[], attribute = [] as ReturnType<typeof attr.int>[]): OnnxNode => ({ opType, input, output, name: output[0], attribute });
  const w = (name: string, dims: number[]) => float32Initializer(name, seeded(dims.reduce((a, b) => a * b, 1), 9, 0.1), dims);
  const model: OnnxModel = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'ops',
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 4 }, { dimValue: 17 }, { dimValue: 15 }] } } } }],
      output: [{ name: 'out' }],
      initializer: [w('w1', [8, 2, 3, 3]), w('w2', [8, 1, 3, 3]), w('wt', [8, 4, 3, 3]), w('gw', [6, 16]), w('gb', [6]), w('mm', [6, 5]),
        float32Initializer('scales', [1, 1, 2, 1.5], [4]), float32Initializer('roi', [], [0]), int64Initializer('split', [1, 3]), int64Initializer('pads', [0, 0, 1, 2, 0, 0, 3, 0]), int64Initializer('ax0', [0]), int64Initializer('ax1', [1])],
      node: [
        n('Conv', ['x', 'w1'], ['c1'], [attr.ints('dilations', [2, 2]), attr.int('group', 2), attr.ints('pads', [1, 0, 2, 1]), attr.ints('strides', [2, 1])]),
        n('Conv', ['c1', 'w2'], ['c2'], [attr.int('group', 8), attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2])]),
        n('ConvTranspose', ['c2', 'wt'], ['ct'], [attr.ints('strides', [2, 2]), attr.ints('output_padding', [1, 0]), attr.ints('pads', [1, 1, 1, 1])]),
        n('MaxPool', ['ct'], ['mp'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)]),
        n('AveragePool', ['mp'], ['ap'], [attr.ints('kernel_shape', [2, 3]), attr.ints('pads', [1, 1, 0, 1])]),
        n('Resize', ['ap', 'roi', 'scales'], ['rs'], [attr.string('mode', 'nearest')]),
        n('Pad', ['rs', 'pads'], ['pd']),
        n('Split', ['pd', 'split'], ['s1', 's2'], [attr.int('axis', 1)]),
        n('Transpose', ['s2'], ['tr'], [attr.ints('perm', [0, 2, 3, 1])]),
        n('GlobalAveragePool', ['s1'], ['gap']),
        n('Flatten', ['gap'], ['fl'], [attr.int('axis', 1)]),
        n('Squeeze', ['fl', 'ax1'], ['sq']),
        n('Unsqueeze', ['sq', 'ax1'], ['us']),
        n('Concat', ['us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'us'], ['cc'], [attr.int('axis', 1)]),
        n('Gemm', ['cc', 'gw', 'gb'], ['gm'], [attr.int('transB', 1)]),
        n('MatMul', ['gm', 'mm'], ['mmo']),
        n('ReduceMean', ['tr'], ['rm'], [attr.ints('axes', [1, 2]), attr.int('keepdims', 0)]),
        n('Softmax', ['mmo'], ['out'], [attr.int('axis', 1)]),
      ],
    },
  };
  it('matches onnxruntime for each node output', async () => {
    const inferred = inferShapes(model);
    const { wrong, checked } = compare(inferred, await realShapes(model, { x: [3, 4, 17, 15] }), { N: 3 });
    expect(wrong).toEqual([]);
    expect(checked).toBe(19);
    expect(inferred.get('out')).toEqual(['N', 5]);
  });
  it('gives undefined, never a throw, for unknown ops and their consumers', () => {
    const m: OnnxModel = { ...model, graph: { ...model.graph!, node: [n('MyCustomOp', ['x'], ['u']), n('Relu', ['u'], ['r']), n('Shape', ['r'], ['sh'])] } };
    const s = inferShapes(m);
    expect(s.get('u')).toBeUndefined();
    expect(s.get('r')).toBeUndefined();
    expect(s.get('sh')).toBeUndefined();
    expect(s.get('x')).toEqual(['N', 4, 17, 15]);
  });
});

describe('inferShapes through a vision transformer\'s shape arithmetic (tools/export_torchvision.py exports)', () => {
  // torch writes expand(n, -1, -1) as Where(Equal(shape, -1), 1, shape) and attention's
  // view(L, n * heads, d) as Mul of a symbolic batch; Swin pads to its windows with Mod.
  // Every shape inferred (batch symbolic, 'batch*3' a symbol of its own) is the one onnxruntime gives.
  // (Before Equal/Where/Mod values and symbolic products, the ViT's token shapes were all unknown.)
  const CACHE = new URL('../../../.cache/models/', import.meta.url);
  const bind = (d: string | number): number | string => {
    if (typeof d === 'number') return d;
    const m = /^(\w+)((?:\*\d+)*)$/.exec(d);
    return m ? m[2]!.split('*').filter(Boolean).reduce((p, f) => p * Number(f), 2) : d;
  };
  it.each(['vit_tiny', 'swin_tiny'])('%s: every shape inferred is the one onnxruntime runs with batch 2', async (name) => {
    const path = new URL(`${name}.onnx`, CACHE);
    if (!existsSync(path)) execFileSync('node', [fileURLToPath(new URL('../../../tools/ensure-models.mjs', import.meta.url))], { stdio: 'inherit' });
    const m = decodeModel(new Uint8Array(readFileSync(path)));
    const inferred = inferShapes(m);
    const real = await realShapes(m, { input: [2, 3, 224, 224] });
    const wrong: string[] = [];
    let unknown = 0;
    for (const [t, dims] of real) {
      const s = inferred.get(t);
      if (s === undefined) { unknown++; continue; }
      // '?' is a dimension the inference could not work out (Swin's shifted-window mask arithmetic): unknown, not wrong.
      if (s.includes(UNKNOWN_DIM)) unknown++;
      if (s.length !== dims.length || s.some((d, i) => d !== UNKNOWN_DIM && bind(d) !== dims[i])) wrong.push(`${t}: inferred ${JSON.stringify(s)} real ${JSON.stringify(dims)}`);
    }
    expect(wrong).toEqual([]);
    // ViT: every shape known; Swin: all but a few window-attention reshapes (view(-1, nW, …) of a symbolic batch).
    expect(unknown).toBeLessThanOrEqual(name === 'vit_tiny' ? 0 : real.size / 100);
  }, 600_000);
});
