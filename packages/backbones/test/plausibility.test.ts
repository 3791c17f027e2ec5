import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { detectStages, editDistance, findBackbone, implausibility, nearest, requireStage, strideOf, taFor } from '@fsta/backbones';
import type { GraphNode, GraphView } from '@fsta/backbones';

/** A GraphView from nodes and shapes: every name not produced by a node and not an input is an initializer. */
function view(inputs: string[], nodes: GraphNode[], shapes: Record<string, number[]>, outputs: string[]): GraphView {
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  const inits = new Set(nodes.flatMap((n) => n.inputs).filter((i) => i !== '' && !produced.has(i) && !inputs.includes(i)));
  return { nodes, inputs, outputs, initializerNames: inits, shapes: new Map(Object.entries(shapes)) };
}

const conv = (name: string, x: string, out: string, extra: Partial<GraphNode> = {}): GraphNode => ({ name, opType: 'Conv', inputs: [x, `${name}.w`], outputs: [out], ...extra });
const op = (name: string, opType: string, inputs: string[], out: string, attributes?: GraphNode['attributes']): GraphNode => ({ name, opType, inputs, outputs: [out], ...(attributes ? { attributes } : {}) });

function error(fn: () => unknown): FstaError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FstaError) return e;
    throw e;
  }
  throw new Error('expected an FstaError');
}

/**
 * A tiny classifier: normalize → conv s2 + relu (16x16) → conv s2 + relu (8x8, C4) →
 * conv (8x8, linear: signed) → conv s2 (4x4, linear: signed C5) → GAP → Flatten → Gemm.
 */
function classifier(): GraphView {
  const nodes = [
    op('/Sub', 'Sub', ['x', 'mean'], 'xn'),
    conv('/c1/Conv', 'xn', 'a1'), op('/r1/Relu', 'Relu', ['a1'], 'r1'),
    conv('/c2/Conv', 'r1', 'a2'), op('/r2/Relu', 'Relu', ['a2'], 'r2'),
    conv('/c3/Conv', 'r2', 'lin8'),
    conv('/c4/Conv', 'lin8', 'lin4'),
    op('/pool/GlobalAveragePool', 'GlobalAveragePool', ['lin4'], 'p'),
    op('/Flatten', 'Flatten', ['p'], 'f'),
    op('/fc/Gemm', 'Gemm', ['f', 'w', 'b'], 'logits', { transB: 1 }),
  ];
  return view(['x'], nodes, {
    x: [1, 3, 32, 32], xn: [1, 3, 32, 32], a1: [1, 8, 16, 16], r1: [1, 8, 16, 16], a2: [1, 16, 8, 8], r2: [1, 16, 8, 8],
    lin8: [1, 16, 8, 8], lin4: [1, 32, 4, 4], p: [1, 32, 1, 1], f: [1, 32], logits: [1, 10], w: [10, 32], b: [10],
  }, ['logits']);
}

describe('stage plausibility', () => {
  it('C5 is the map the head pools; C4 is the stage\'s last activation; strides are whole numbers', () => {
    const st = detectStages(classifier());
    expect(st.C5!.tensor).toBe('lin4');
    expect(st.C4!.tensor).toBe('r2');
    expect([st.C3!.stride, st.C4!.stride, st.C5!.stride]).toEqual([2, 4, 8]);
    expect([strideOf(224, 13), strideOf(32, 32), strideOf(299, 8), strideOf(224, 7)]).toEqual([16, 1, 32, 32]);
  });

  it('refuses a C5 at the input\'s resolution, naming the tensor and the fix', () => {
    const g = view(['x'], [conv('/c/Conv', 'x', 'y'), op('/r/Relu', 'Relu', ['y'], 'z')], { x: [1, 3, 8, 8], y: [1, 4, 8, 8], z: [1, 4, 8, 8] }, ['z']);
    const e = error(() => detectStages(g));
    expect(e.code).toBe('IMPLAUSIBLE_STAGE');
    expect(e.message).toContain('"z"');
    expect(e.message).toContain("is at the input's resolution");
    expect(e.message).toContain('--fs-stage');
  });

  it('says why a tensor cannot be a stage: input, preprocessing, channels-last, head, after the backbone', () => {
    const g = classifier();
    expect(implausibility(g, 'x')).toBe('is a model input');
    expect(implausibility(g, 'xn')).toMatch(/only a preprocessing of it \(no convolution/);
    expect(implausibility(g, 'r2')).toBeNull();
    const cl = view(['x'], [conv('/c/Conv', 'x', 'y'), op('/t/Transpose', 'Transpose', ['y'], 'nhwc', { perm: [0, 2, 3, 1] }), op('/ln/Add', 'Add', ['nhwc', 'bias'], 'z'),
      op('/t2/Transpose', 'Transpose', ['z'], 'back', { perm: [0, 3, 1, 2] })], { x: [1, 3, 8, 8], y: [1, 4, 4, 4], nhwc: [1, 4, 4, 4], z: [1, 4, 4, 4], back: [1, 4, 4, 4] }, ['back']);
    expect(implausibility(cl, 'z')).toMatch(/channels-last/);
    expect(implausibility(cl, 'back')).toBeNull();
    const det = view(['x'], [conv('/backbone/body/c/Conv', 'x', 'y'), conv('/roi_heads/c/Conv', 'y', 'h'), conv('/backbone/fpn/c/Conv', 'y', 'p')],
      { x: [3, 16, 16], y: [1, 8, 4, 4], h: [1, 8, 4, 4], p: [1, 8, 4, 4] }, ['h', 'p']);
    expect(implausibility(det, 'h')).toBe("lies inside the model's head (module /roi_heads/)");
    expect(implausibility(det, 'p')).toBe('lies after the backbone (this model\'s backbone is under /backbone/body/)');
    expect(detectStages(det).C5!.tensor).toBe('y');
  });
});

describe('tensor names as stages', () => {
  const g = classifier();
  const r = findBackbone(g);

  it('requireStage takes a tensor name and describes it like a stage', () => {
    expect(requireStage(r, 'r1')).toMatchObject({ tensor: 'r1', node: '/r1/Relu', shape: [1, 8, 16, 16], stride: 2, nonNegative: true });
    expect(requireStage(r, 'C5').tensor).toBe('lin4');
  });

  it('refuses an implausible tensor and answers a wrong name with the nearest valid ones', () => {
    expect(error(() => requireStage(r, 'x')).code).toBe('IMPLAUSIBLE_STAGE');
    expect(error(() => requireStage(r, 'xn')).message).toContain('the stage tensor "xn" (node /Sub) is the input or only a preprocessing');
    expect(error(() => requireStage(r, 'logits')).message).toMatch(/has shape \[1, 10\]/);
    const e = error(() => requireStage(r, 'lin5'));
    expect(e.code).toBe('UNKNOWN_STAGE');
    expect(e.message).toMatch(/nearest: "lin[48]", "lin[48]"/);
    expect(error(() => requireStage(r, 'C2')).message).toContain('stage "C2" does not exist');
    expect(nearest('layer4', ['C5', 'layer3', '/layer4/Relu', 'layer4x'], 2)).toEqual(['layer3', 'layer4x']);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('TA on signed stages', () => {
  it('a signed TA stage with an activation in it: TA goes there, with a note', () => {
    const g = classifier();
    const r = findBackbone(g);
    // Automatic defaults: FS at C5, TA at C4 (r2, a ReLU: no note).
    expect(r.ta).toMatchObject({ stage: 'C4', tensor: 'r2', note: null, warning: null });
    // The linear 8x8 conv output as TA stage: its stage's activation is r2.
    const t = taFor(r, 'lin8');
    expect(t.tensor).toBe('lin8');
    expect(t.warning).toMatch(/is signed: TA there is ReLU\(f − k\) on a signed tensor/);
    // C5 is signed; its stage (after C4 = r2) has no activation at 4x4.
    const c5 = taFor(r, 'C5');
    expect(c5.tensor).toBe('lin4');
    expect(c5.warning).toMatch(/has no non-negative tensor at its resolution/);
  });

  it('picks the nearest non-negative tensor of a signed named stage and says so', () => {
    // C4 = a linear conv after a ReLU at the same resolution (MobileNetV2's projection after its expansion).
    const nodes = [
      conv('/c1/Conv', 'x', 'a1'), op('/r1/Relu', 'Relu', ['a1'], 'r1'),
      conv('/c2/Conv', 'r1', 'a2'), op('/r2/Relu', 'Relu', ['a2'], 'r2'), conv('/proj/Conv', 'r2', 'lin'),
      conv('/c3/Conv', 'lin', 'a3'), op('/r3/Relu', 'Relu', ['a3'], 'r3'),
      op('/pool/GlobalAveragePool', 'GlobalAveragePool', ['r3'], 'p'), op('/Flatten', 'Flatten', ['p'], 'f'), op('/fc/Gemm', 'Gemm', ['f', 'w', 'b'], 'logits'),
    ];
    const g = view(['x'], nodes, { x: [1, 3, 32, 32], a1: [1, 8, 16, 16], r1: [1, 8, 16, 16], a2: [1, 16, 8, 8], r2: [1, 16, 8, 8], lin: [1, 8, 8, 8], a3: [1, 32, 4, 4], r3: [1, 32, 4, 4], p: [1, 32, 1, 1], f: [1, 32], logits: [1, 10] }, ['logits']);
    const manual = { manifest: null, graph: g, stages: { C3: { tensor: 'r1', node: '/r1/Relu', shape: [1, 8, 16, 16], stride: 2, nonNegative: true, layout: 'nchw' as const, prefixTokens: 0 }, C4: { tensor: 'lin', node: '/proj/Conv', shape: [1, 8, 8, 8], stride: 4, nonNegative: false, layout: 'nchw' as const, prefixTokens: 0 } } };
    const t = taFor(manual, 'C4');
    expect(t.tensor).toBe('r2');
    expect(t.note).toBe('C4 ("lin") is signed; TA goes on the nearest non-negative tensor of that stage, "r2" (node /r2/Relu)');
    expect(t.warning).toBeNull();
  });
});
