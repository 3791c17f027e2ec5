import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { FstaError } from '@fsta/core';
import { decodeModel, encodeModel, float32Initializer, int64Initializer, tensorToFloat32, tensorToNumbers, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from '../src/index.js';
import { onnxModel, valueInfo as vi } from './build-model.js';

/**
 * Issue #12 items 1 and 5: models that onnxruntime would read files for, reject with
 * its own exception (a CLI "internal error"), or try to allocate tens of GB for are
 * refused by decodeModel with an FstaError naming the problem and the fix.
 */

/** Conv → Relu → GlobalAveragePool → Flatten → Gemm on a float32 [N, 3, 8, 8] input. */
function base(extra: { nodes?: OnnxNode[]; initializers?: OnnxTensor[]; graph?: Partial<OnnxGraph>; model?: Partial<OnnxModel> } = {}): OnnxModel {
  return onnxModel({
    name: 'tiny',
    node: [
      { opType: 'Conv', name: 'conv', input: ['input', 'w'], output: ['c'], attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }] },
      { opType: 'Relu', name: 'relu', input: ['c'], output: ['r'] },
      { opType: 'GlobalAveragePool', name: 'gap', input: ['r'], output: ['g'] },
      { opType: 'Flatten', name: 'flat', input: ['g'], output: ['f'] },
      { opType: 'Gemm', name: 'fc', input: ['f', 'fc'], output: ['logits'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
      ...(extra.nodes ?? []),
    ],
    initializer: [
      float32Initializer('w', Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => (i % 7) / 7 - 0.5), [4, 3, 3, 3]),
      float32Initializer('fc', Array.from({ length: 8 }, (_, i) => i / 8), [2, 4]),
      ...(extra.initializers ?? []),
    ],
    input: [vi('input', ['batch', 3, 8, 8])],
    output: [vi('logits', ['batch', 2])],
    ...extra.graph,
  }, extra.model);
}

/** A tensor whose bytes onnxruntime would read from "secret.bin" in the working directory. */
const external = (name = 'ext'): OnnxTensor => ({
  name, dataType: 1, dims: [4], dataLocation: 1,
  externalData: [{ key: 'location', value: 'secret.bin' }, { key: 'offset', value: '0' }, { key: 'length', value: '16' }],
});

const refusal = (m: OnnxModel, limits = {}): FstaError => {
  const bytes = encodeModel(m);
  try {
    decodeModel(bytes, limits);
  } catch (e) {
    if (e instanceof FstaError) return e;
    throw e;
  }
  throw new Error('decodeModel accepted the model');
};

const branch = (name: string, g: Partial<OnnxGraph>): OnnxGraph => ({ name, node: [{ opType: 'Identity', input: ['fc'], output: [`${name}_out`] }], output: [vi(`${name}_out`, [2, 4])], ...g });
const ifNode = (thenG: OnnxGraph, elseG: OnnxGraph = branch('else', {})): OnnxNode => ({
  opType: 'If', name: 'if', input: ['cond'], output: ['if_out'],
  attribute: [{ name: 'then_branch', type: 5, g: thenG }, { name: 'else_branch', type: 5, g: elseG }],
});
const cond: OnnxTensor = { name: 'cond', dataType: 9, dims: [], int32Data: [1] };
const sparse = (values: OnnxTensor) => ({ values, indices: { name: `${values.name}_idx`, dataType: 7, dims: [1], int64Data: [0] }, dims: [4] });

describe('external data is refused in every TensorProto, not only graph initializers', () => {
  it('the base model decodes (so each refusal below is the external tensor\'s)', () => {
    expect(() => decodeModel(encodeModel(base()))).not.toThrow();
    expect(() => decodeModel(encodeModel(base({ nodes: [ifNode(branch('then', {}))], initializers: [cond] })))).not.toThrow();
  });

  const cases: [string, OnnxModel, RegExp][] = [
    ['a graph initializer (refused before too)', base({ initializers: [external()] }), /the tensor in initializer "ext" stores/],
    ['a Constant node\'s value attribute', base({ nodes: [{ opType: 'Constant', name: 'k', output: ['kv'], attribute: [{ name: 'value', type: 4, t: external() }] }] }), /attribute "value" of node "k" \(Constant\)/],
    ['a tensors (TENSORS) attribute', base({ nodes: [{ opType: 'Identity', name: 'id', input: ['fc'], output: ['idv'], attribute: [{ name: 'extra', type: 9, tensors: [float32Initializer('ok', [1], [1]), external()] }] }] }), /attribute "extra" of node "id" \(Identity\)/],
    ['an If branch\'s initializer', base({ nodes: [ifNode(branch('then', { initializer: [external()], node: [{ opType: 'Identity', input: ['ext'], output: ['then_out'] }] }))], initializers: [cond] }), /initializer "ext" in subgraph "then_branch" of node "if" \(If\)/],
    ['a Constant inside an If branch', base({ nodes: [ifNode(branch('then', { node: [{ opType: 'Constant', name: 'inner', output: ['then_out'], attribute: [{ name: 'value', type: 4, t: external() }] }] }))], initializers: [cond] }), /attribute "value" of node "inner" \(Constant\) in subgraph "then_branch" of node "if"/],
    ['an If nested in an If branch', base({ nodes: [ifNode(branch('then', { node: [{ ...ifNode(branch('deep', { initializer: [external()], node: [{ opType: 'Identity', input: ['ext'], output: ['deep_out'] }] })), name: 'inner_if', output: ['then_out'] }] }))], initializers: [cond] }), /initializer "ext" in subgraph "then_branch" of node "inner_if" \(If\) in subgraph "then_branch" of node "if"/],
    ['a Loop body (GRAPHS attribute list too)', base({ nodes: [{ opType: 'Identity', name: 'gs', input: ['fc'], output: ['gsv'], attribute: [{ name: 'bodies', type: 10, graphs: [branch('b0', {}), branch('b1', { initializer: [external()] })] }] }] }), /initializer "ext" in subgraph "bodies" of node "gs"/],
    ['a sparse initializer', base({ graph: { sparseInitializer: [sparse(external('sp'))] } }), /sparse initializer "sp" \(values\)/],
    ['a sparse initializer\'s indices', base({ graph: { sparseInitializer: [{ ...sparse(float32Initializer('sp', [1], [1])), indices: { ...external('sp_idx'), dataType: 7 } }] } }), /sparse initializer "sp" \(indices\)/],
    ['a Constant\'s sparse_value attribute', base({ nodes: [{ opType: 'Constant', name: 'sc', output: ['scv'], attribute: [{ name: 'sparse_value', type: 11, sparseTensor: sparse(external()) }] }] }), /sparse attribute "sparse_value" of node "sc" \(Constant\)/],
    ['a local function\'s Constant', base({ model: { functions: [{ name: 'f', domain: 'local', node: [{ opType: 'Constant', name: 'fk', output: ['o'], attribute: [{ name: 'value', type: 4, t: external() }] }], output: ['o'] }] } }), /node "fk" \(Constant\) in function "f"/],
    ['a training-info initialization graph', base({ model: { trainingInfo: [{ initialization: { name: 'init', initializer: [external()], node: [{ opType: 'Identity', input: ['ext'], output: ['io'] }], output: [vi('io', [4])] } }] } }), /in training info 0 \(initialization\)/],
  ];
  for (const [where, model, re] of cases) {
    it(`in ${where}`, () => {
      const e = refusal(model);
      expect(e.code).toBe('EXTERNAL_DATA');
      expect(e.message).toMatch(re);
      expect(e.message).toMatch(/\("secret\.bin"\), which fsta does not read.*Fix: .*save_as_external_data=False/);
    });
  }
});

describe('models onnxruntime rejects are refused with the problem and the fix', () => {
  /** onnxruntime's own verdict on the same bytes, so the refusals are not fsta's invention. */
  const ortFails = async (m: OnnxModel, feed?: { type: 'float32'; dims: number[] }): Promise<string> => {
    try {
      const s = await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'disabled' });
      if (feed) await s.run({ [s.inputNames[0]!]: new ort.Tensor(feed.type, new Float32Array(feed.dims.reduce((a, b) => a * b, 1)), feed.dims) });
      await s.release();
    } catch (e) {
      return (e as Error).message;
    }
    return 'ok';
  };

  it('a node that reads a tensor nothing produces: MISSING_TENSOR naming node and tensor', async () => {
    const m = base();
    m.graph!.node![1]!.input = ['c_typo'];
    const e = refusal(m);
    expect(e.code).toBe('MISSING_TENSOR');
    expect(e.message).toMatch(/node "relu" \(Relu\) in the graph reads "c_typo", which no node, initializer or graph input produces.*Fix: re-export the model/);
    expect(await ortFails(m)).not.toBe('ok');
  });

  it('a graph output nothing produces, and a subgraph reading a missing outer tensor', async () => {
    const out = base({ graph: { output: [vi('logits', ['batch', 2]), vi('ghost', [1])] } });
    expect(refusal(out).message).toMatch(/output "ghost" of the graph is not produced/);
    expect(await ortFails(out)).not.toBe('ok');
    const sub = base({ nodes: [ifNode(branch('then', { node: [{ opType: 'Identity', name: 'reads_outer', input: ['nowhere'], output: ['then_out'] }] }))], initializers: [cond] });
    expect(refusal(sub).message).toMatch(/node "reads_outer" \(Identity\) in subgraph "then_branch" of node "if" \(If\) reads "nowhere"/);
    expect(await ortFails(sub)).not.toBe('ok');
    // Reading an outer tensor that exists is fine (If branches do it all the time).
    const ok = base({ nodes: [ifNode(branch('then', { node: [{ opType: 'Identity', input: ['w'], output: ['then_out'] }] }))], initializers: [cond] });
    expect(() => decodeModel(encodeModel(ok))).not.toThrow();
  });

  for (const [elemType, name] of [[7, 'int64'], [2, 'uint8'], [10, 'float16']] as const) {
    it(`a ${name} image input: BAD_INPUT_TYPE (fsta feeds float32)`, async () => {
      const m = base();
      m.graph!.input = [vi('input', ['batch', 3, 8, 8], elemType)];
      const e = refusal(m);
      expect(e.code).toBe('BAD_INPUT_TYPE');
      expect(e.message).toMatch(new RegExp(`the model input "input" is ${name}; fsta feeds float32 images.*Fix: export the model with a float32 NCHW image input`));
      expect(await ortFails(m, { type: 'float32', dims: [1, 3, 8, 8] })).not.toBe('ok');
    });
  }

  for (const opset of [3, 6, 26, 99]) {
    it(`ai.onnx opset ${opset}: UNSUPPORTED_OPSET`, async () => {
      const m = base({ model: { opsetImport: [{ domain: '', version: opset }] } });
      const e = refusal(m);
      expect(e.code).toBe('UNSUPPORTED_OPSET');
      expect(e.message).toMatch(new RegExp(`imports ai.onnx opset ${opset}; onnxruntime runs opsets 7 to 25.*Fix: re-export the model with an opset between 13 and 25`));
      if (opset !== 6 && opset !== 26) expect(await ortFails(m, { type: 'float32', dims: [1, 3, 8, 8] })).not.toBe('ok');
    });
  }

  it('no default-domain opset (NO_OPSET, as before) and an IR version onnxruntime cannot read', async () => {
    expect(refusal(base({ model: { opsetImport: [{ domain: 'com.microsoft', version: 1 }] } })).code).toBe('NO_OPSET');
    const ir = base({ model: { irVersion: 14 } });
    expect(refusal(ir).message).toMatch(/ONNX IR version 14; onnxruntime reads up to 13/);
    expect(await ortFails(ir)).not.toBe('ok');
  });

  it('a node in a domain the model does not import (also inside a subgraph)', async () => {
    const m = base({ nodes: [{ opType: 'FusedThing', name: 'custom', domain: 'com.example', input: ['fc'], output: ['cz'] }] });
    expect(refusal(m).message).toMatch(/node "custom" \(FusedThing\) is in domain "com\.example", which the model does not import.*Fix: re-export the model/);
    expect(await ortFails(m)).not.toBe('ok');
    const sub = base({ nodes: [ifNode(branch('then', { node: [{ opType: 'Odd', name: 'deep_custom', domain: 'org.x', input: ['fc'], output: ['then_out'] }] }))], initializers: [cond] });
    expect(refusal(sub).message).toMatch(/node "deep_custom" \(Odd\) is in domain "org\.x"/);
    // Imported custom domains are the runtime's business, not refused here.
    expect(() => decodeModel(encodeModel({ ...m, opsetImport: [...m.opsetImport!, { domain: 'com.example', version: 1 }] }))).not.toThrow();
  });

  it('dims that disagree with the stored data: CORRUPT_MODEL before any reader or onnxruntime sees them', async () => {
    const m = base();
    m.graph!.initializer![1] = { ...m.graph!.initializer![1]!, dims: [2, 5] };
    expect(refusal(m).message).toMatch(/the tensor in initializer "fc" has dims \[2, 5\] \(10 values\) but stores 8/);
    expect(await ortFails(m)).not.toBe('ok');
  });
});

describe('statically known tensors over the size cap are refused before onnxruntime allocates them', () => {
  const shapeOf = (name: string, dims: number[]) => int64Initializer(name, dims);
  const cases: [string, OnnxNode, OnnxTensor[], RegExp][] = [
    ['ConstantOfShape of 64 GB', { opType: 'ConstantOfShape', name: 'huge', input: ['shp'], output: ['z'] }, [shapeOf('shp', [16, 2 ** 30])], /node "huge" \(ConstantOfShape\) makes tensor "z" of shape \[16, 1073741824\]: 64\.0 GiB, over the 4\.0 GiB a tensor may take/],
    ['ConstantOfShape of int8 (its value\'s type)', { opType: 'ConstantOfShape', name: 'huge8', input: ['shp'], output: ['z'], attribute: [{ name: 'value', type: 4, t: { dataType: 3, dims: [1], int32Data: [1] } }] }, [shapeOf('shp', [8, 2 ** 30])], /shape \[8, 1073741824\]: 8\.0 GiB/],
    ['Expand', { opType: 'Expand', name: 'ex', input: ['one', 'shp'], output: ['z'] }, [float32Initializer('one', [1], [1]), shapeOf('shp', [100000, 100000])], /node "ex" \(Expand\) makes tensor "z" of shape \[100000, 100000\]: 37\.3 GiB/],
    ['Tile', { opType: 'Tile', name: 'tile', input: ['fc', 'reps'], output: ['z'] }, [shapeOf('reps', [2 ** 20, 2 ** 10])], /node "tile" \(Tile\) makes tensor "z" of shape \[2097152, 4096\]: 32\.0 GiB/],
    ['Range', { opType: 'Range', name: 'rng', input: ['a', 'b', 'd'], output: ['z'] }, [shapeOf('a', [0]), shapeOf('b', [2 ** 34]), shapeOf('d', [1])], /node "rng" \(Range\) makes tensor "z" of shape \[17179869184\]: 128\.0 GiB/],
  ];
  // Range's scalar inputs: 0-d int64 tensors.
  for (const t of cases[4]![2]) t.dims = [];
  for (const [what, node, inits, re] of cases) {
    it(`${what}: TENSOR_TOO_LARGE naming the node`, () => {
      const m = base({ nodes: [node], initializers: inits });
      const e = refusal(m);
      expect(e.code).toBe('TENSOR_TOO_LARGE');
      expect(e.message).toMatch(re);
      expect(e.message).toMatch(/Fix: this is not a model to run.*maxTensorBytes/);
      // The cap is the caller's to raise.
      expect(() => decodeModel(encodeModel(m), { maxTensorBytes: Infinity })).not.toThrow();
    });
  }
  it('inside an If branch (shape inference runs on subgraphs too)', () => {
    const thenG = branch('then', { initializer: [shapeOf('shp', [16, 2 ** 30])], node: [{ opType: 'ConstantOfShape', name: 'deep', input: ['shp'], output: ['then_out'] }] });
    const e = refusal(base({ nodes: [ifNode(thenG)], initializers: [cond] }));
    expect(e.code).toBe('TENSOR_TOO_LARGE');
    expect(e.message).toMatch(/node "deep" \(ConstantOfShape\) in subgraph "then_branch" of node "if" \(If\) makes tensor "then_out" of shape \[16, 1073741824\]: 64\.0 GiB/);
  });
  it('a lower cap is honoured, and tensors under it pass', () => {
    const m = base({ nodes: [{ opType: 'ConstantOfShape', name: 'mid', input: ['shp'], output: ['z'] }], initializers: [shapeOf('shp', [1024, 1024, 64])] });
    expect(() => decodeModel(encodeModel(m))).not.toThrow();
    expect(refusal(m, { maxTensorBytes: 2 ** 27 }).message).toMatch(/"mid" \(ConstantOfShape\) makes tensor "z" of shape \[1024, 1024, 64\]: 0\.3 GiB, over the 0\.1 GiB/);
  });
});

describe('the tensor reader caps what it materializes', () => {
  it('a tensor of more than MAX_READ_ELEMENTS values is refused before its data is read or an array allocated', () => {
    for (const dataType of [1, 10, 7]) {
      // 2^27 values claimed; the reader must refuse on the count, not build a 1 GB array first.
      const t: OnnxTensor = { name: 'big', dataType, dims: [2 ** 14, 2 ** 13], rawData: new Uint8Array(8) };
      const heap0 = process.memoryUsage().heapUsed;
      for (const read of [tensorToNumbers, tensorToFloat32]) {
        let err: unknown;
        try { read(t); } catch (e) { err = e; }
        expect(err).toBeInstanceOf(FstaError);
        expect((err as FstaError).code).toBe('TENSOR_TOO_LARGE');
        expect((err as Error).message).toMatch(/tensor "big" has 134217728 values \(dims \[16384, 8192\]\); fsta reads at most 67108864 values of one tensor as numbers\. Fix: check that the manifest points at the right tensor/);
      }
      expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 * 2 ** 20);
    }
    // Under the cap, a raw-size mismatch is found before the output array is allocated.
    const small: OnnxTensor = { name: 'short', dataType: 10, dims: [2 ** 25], rawData: new Uint8Array(8) };
    const heap0 = process.memoryUsage().heapUsed;
    expect(() => tensorToNumbers(small)).toThrow(/has 8 raw bytes but dims \[33554432\] of type 10 need 67108864/);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 * 2 ** 20);
  });
});
