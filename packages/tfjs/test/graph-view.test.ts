import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { findBackbone } from '@fsta/backbones';
import { discoverStages, tfjsGraphView } from '../src/index.js';
import type { GraphModelLike, TfNodeDef } from '../src/index.js';

/** Hand-written model.json graphs: what the conversion keeps, drops and refuses. */

const b64 = (s: string) => btoa(s);
const conv = (name: string, input: string, strides: number, fmt = 'NHWC', fused?: string[]): TfNodeDef => ({
  name, op: fused ? '_FusedConv2D' : 'Conv2D', input: [input, `${name}/w`],
  attr: { strides: { list: { i: fmt === 'NHWC' ? [1, strides, strides, 1] : [1, 1, strides, strides] } }, data_format: { s: b64(fmt) }, ...(fused ? { fused_ops: { list: { s: fused.map(b64) } } } : {}) },
});
const op = (name: string, opName: string, input: string[]): TfNodeDef => ({ name, op: opName, input });
const weights = (nodes: TfNodeDef[]): TfNodeDef[] => nodes.flatMap((n) => (n.input ?? []).filter((i) => i.endsWith('/w') || i.endsWith('/perm') || i.endsWith('/size') || i.endsWith('/pads'))).map((name) => ({ name, op: 'Const' }));

/**
 * A small NHWC detector: stem and two stride-2 stages ending in a residual Add (+ Relu),
 * a lateral 1x1 conv on the deepest map, upsampling, and a merge with the stride-2 stage.
 */
function nhwcDetector() {
  const nodes: TfNodeDef[] = [
    { name: 'x', op: 'Placeholder' },
    conv('s1', 'x', 2, 'NHWC', ['BiasAdd', 'Relu']), // 16x16x8
    conv('s2a', 's1', 2, 'NHWC', ['BiasAdd', 'Relu']), // 8x8x16
    conv('s2b', 's2a', 1, 'NHWC', ['BiasAdd']),
    op('s2/add', 'AddV2', ['s2b', 's2a']),
    op('s2/relu', 'Relu', ['s2/add']),
    conv('lat', 's2/relu', 1), // lateral, 8x8x8
    op('up', 'ResizeBilinear', ['lat', 'up/size']),
    op('p', 'AddV2', ['up', 's1']),
    op('out', 'Identity', ['p']),
  ];
  const shapes = new Map<string, number[]>([
    ['x', [1, 32, 32, 3]], ['s1', [1, 16, 16, 8]], ['s2a', [1, 8, 8, 16]], ['s2b', [1, 8, 8, 16]], ['s2/add', [1, 8, 8, 16]], ['s2/relu', [1, 8, 8, 16]],
    ['lat', [1, 8, 8, 8]], ['up', [1, 16, 16, 8]], ['p', [1, 16, 16, 8]], ['out', [1, 16, 16, 8]],
  ]);
  return { nodes: [...nodes, ...weights(nodes)], shapes };
}

describe('tfjsGraphView', () => {
  it('turns an NHWC graph into NCHW shapes, splits fused activations, and its stages are found: C5 the last residual merge (and its Relu) before the neck', () => {
    const { nodes, shapes } = nhwcDetector();
    const v = tfjsGraphView(nodes, { input: 'x', outputs: ['out'], shapes, constants: new Map([['up/size', [16, 16]]]) });
    expect(v.graph.shapes.get('x')).toEqual([1, 3, 32, 32]);
    expect(v.graph.shapes.get('s2/relu')).toEqual([1, 16, 8, 8]);
    expect(v.layouts.get('s2/relu')).toBe('NHWC');
    const s1 = v.graph.nodes.filter((n) => n.name.startsWith('s1'));
    expect(s1.map((n) => [n.opType, n.outputs[0]])).toEqual([['Conv', 's1/fsta:pre-activation'], ['Relu', 's1']]);
    expect(s1[0]!.attributes).toMatchObject({ strides: [2, 2] });
    expect(v.synthetic.has('s1/fsta:pre-activation')).toBe(true);
    const found = findBackbone(v.graph, 'auto');
    expect(found.stages.C5).toMatchObject({ tensor: 's2/relu', stride: 4, nonNegative: true });
    expect(found.stages.C4).toMatchObject({ tensor: 's1', stride: 2, nonNegative: true });
  });

  it('looks through onnx-tf\'s layout transposes and explicit pads: the conv reads the NCHW tensor itself', () => {
    const nodes: TfNodeDef[] = [
      { name: 'x', op: 'Placeholder' },
      op('pad', 'Pad', ['x', 'pad/pads']),
      op('t1', 'Transpose', ['pad', 't1/perm']),
      conv('c', 't1', 2),
      op('t2', 'Transpose', ['c', 't2/perm']),
      op('act', 'LeakyRelu', ['t2']),
    ];
    const shapes = new Map<string, number[]>([['x', [1, 3, 32, 32]], ['pad', [1, 3, 34, 34]], ['t1', [1, 34, 34, 3]], ['c', [1, 16, 16, 8]], ['t2', [1, 8, 16, 16]], ['act', [1, 8, 16, 16]]]);
    const constants = new Map([['t1/perm', [0, 2, 3, 1]], ['t2/perm', [0, 3, 1, 2]]]);
    const v = tfjsGraphView([...nodes, ...weights(nodes)], { input: 'x', outputs: ['act'], shapes, constants });
    expect(v.graph.nodes.map((n) => [n.name, n.opType, n.inputs[0]])).toEqual([['c', 'Conv', 'x'], ['act', 'LeakyRelu', 'c']]);
    expect([v.layouts.get('x'), v.layouts.get('c'), v.layouts.get('act')]).toEqual(['NCHW', 'NHWC', 'NCHW']);
    expect(v.graph.shapes.get('c')).toEqual([1, 8, 16, 16]);
    expect(v.graph.shapes.get('act')).toEqual([1, 8, 16, 16]);
  });

  it('gives a 4-D tensor of unknown layout no shape (a transpose that is not a layout switch), so it is never a feature map', () => {
    const nodes: TfNodeDef[] = [{ name: 'x', op: 'Placeholder' }, conv('c', 'x', 1), op('t', 'Transpose', ['c', 't/perm']), op('r', 'Relu', ['t'])];
    const shapes = new Map<string, number[]>([['x', [1, 8, 8, 3]], ['c', [1, 8, 8, 4]], ['t', [1, 8, 4, 8]], ['r', [1, 8, 4, 8]]]);
    const v = tfjsGraphView([...nodes, ...weights(nodes)], { input: 'x', outputs: ['r'], shapes, constants: new Map([['t/perm', [0, 1, 3, 2]]]) });
    expect(v.graph.shapes.has('t')).toBe(false);
    expect(v.graph.shapes.has('r')).toBe(false);
    expect(v.layouts.has('r')).toBe(false);
  });

  it('refuses an input whose shape does not say its layout, unless told', () => {
    const nodes: TfNodeDef[] = [{ name: 'x', op: 'Placeholder' }, conv('c', 'x', 1)];
    const shapes = new Map<string, number[]>([['x', [1, 3, 8, 3]], ['c', [1, 3, 8, 4]]]);
    expect(() => tfjsGraphView([...nodes, ...weights(nodes)], { input: 'x', outputs: ['c'], shapes, constants: new Map() })).toThrow(expect.objectContaining({ code: 'LAYOUT_UNKNOWN' }));
    expect(tfjsGraphView([...nodes, ...weights(nodes)], { input: 'x', outputs: ['c'], shapes, constants: new Map(), inputLayout: 'NHWC' }).layouts.get('c')).toBe('NHWC');
  });

  it('refuses to guess C5 when the neck upsamples a map that no block merge ends (AMBIGUOUS_STAGE)', () => {
    const nodes: TfNodeDef[] = [
      { name: 'x', op: 'Placeholder' },
      conv('a', 'x', 2, 'NHWC', ['BiasAdd', 'Relu']),
      conv('b', 'a', 2, 'NHWC', ['BiasAdd', 'Relu']),
      op('up', 'ResizeBilinear', ['b', 'up/size']),
      op('p', 'ConcatV2', ['up', 'a', 'p/axis']),
    ];
    const shapes = new Map<string, number[]>([['x', [1, 32, 32, 3]], ['a', [1, 16, 16, 8]], ['b', [1, 8, 8, 16]], ['up', [1, 16, 16, 16]], ['p', [1, 16, 16, 24]]]);
    const v = tfjsGraphView([...nodes, ...weights(nodes), { name: 'p/axis', op: 'Const' }], { input: 'x', outputs: ['p'], shapes, constants: new Map([['p/axis', [3]]]) });
    expect(() => findBackbone(v.graph, 'auto')).toThrow(expect.objectContaining({ code: 'AMBIGUOUS_STAGE' }));
  });
});

describe('discoverStages refusals', () => {
  const fake = (over: Partial<GraphModelLike> & { artifacts?: unknown }): GraphModelLike => ({
    execute: () => { throw new Error('not run'); }, inputs: [{ name: 'x', shape: [1, 32, 32, 3] }], outputs: [{ name: 'y' }], modelVersion: '', dispose: () => undefined, ...over,
  }) as GraphModelLike;

  it('names the missing topology', () => {
    expect(() => discoverStages(tf, fake({}))).toThrow(expect.objectContaining({ code: 'NO_TOPOLOGY' }));
  });

  it('names a dynamic input size', () => {
    expect(() => discoverStages(tf, fake({ artifacts: { modelTopology: { node: [] } }, inputs: [{ name: 'x', shape: [-1, -1, -1, 3] }] }))).toThrow(expect.objectContaining({ code: 'DYNAMIC_SHAPE' }));
  });
});
