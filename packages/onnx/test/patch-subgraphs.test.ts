import { describe, expect, it } from 'vitest';
import { encodeModel, float32Initializer, GraphIndex, patchModel, type OnnxGraph, type OnnxModel, type OnnxNode } from '../src/index.js';
import { runOrt, seeded } from './helpers.js';
import { onnxModel, valueInfo as vi } from './build-model.js';

/**
 * Detectors (Faster R-CNN) hold If nodes whose branches read tensors of the main
 * graph without listing them as inputs. A tiny CNN with such an If between the TA
 * and FS stages: x → Conv → Relu (ta) → Conv (c2) → Relu (fs) and If(cond){c2}{ta}
 * → Relu (fs2). With cond = true, fs2 = Relu(c2) = fs, so FS at fs2 must equal FS
 * at fs in both passes: if the If's copy read the original pass's c2, fs_ta at fs2
 * would equal plain fs instead.
 */
function ifModel(): OnnxModel {
  const branch = (name: string, src: string): OnnxGraph => ({ name, node: [{ opType: 'Identity', input: [src], output: [`${name}_out`], name: `${name}/Identity` }], output: [vi(`${name}_out`)] });
  const node: OnnxNode[] = [
    { opType: 'Constant', input: [], output: ['cond'], name: 'cond', attribute: [{ name: 'value', type: 4, t: { dims: [], dataType: 9, rawData: new Uint8Array([1]) } }] },
    // Listed before the nodes its branches read: only their implicit inputs order it.
    { opType: 'If', input: ['cond'], output: ['z'], name: 'if', attribute: [{ name: 'then_branch', type: 5, g: branch('then', 'c2') }, { name: 'else_branch', type: 5, g: branch('else', 'ta') }] },
    { opType: 'Conv', input: ['x', 'w1'], output: ['c1'], name: 'conv1' },
    { opType: 'Relu', input: ['c1'], output: ['ta'], name: 'relu1' },
    { opType: 'Conv', input: ['ta', 'w2'], output: ['c2'], name: 'conv2' },
    { opType: 'Relu', input: ['c2'], output: ['fs'], name: 'relu2' },
    { opType: 'Relu', input: ['z'], output: ['fs2'], name: 'relu3' },
  ];
  const fm = (name: string, c: number) => vi(name, ['N', c, 4, 4]);
  return onnxModel({
    name: 'if-cnn', node,
    initializer: [float32Initializer('w1', [...seeded(4, 3)], [4, 1, 1, 1]), float32Initializer('w2', [...seeded(16, 4)], [4, 4, 1, 1])],
    input: [fm('x', 1)], output: [fm('fs2', 4), fm('z', 4)],
  });
}

describe('patching around If nodes that read outer tensors', () => {
  it('GraphIndex orders and links nodes by the tensors their branches read', () => {
    const g = new GraphIndex(ifModel().graph!);
    const pos = (name: string) => g.order.indexOf(g.nodes.findIndex((n) => n.name === name));
    expect(pos('if')).toBeGreaterThan(pos('conv2'));
    expect(pos('if')).toBeGreaterThan(pos('relu1'));
    expect(g.consumersOf('c2').map((n) => n.name).sort()).toEqual(['if', 'relu2']);
    expect(g.descendants('ta').map((i) => g.nodes[i]!.name)).toEqual(expect.arrayContaining(['if', 'relu3']));
  });

  it.each(['branch', 'double-batch'] as const)('%s: the TA pass reaches inside the If; outputs bit-identical', async (mode) => {
    const x = { data: seeded(2 * 16, 7), dims: [2, 1, 4, 4] };
    const plain = await runOrt(encodeModel(ifModel()), { x });
    const k = 0.3;
    const viaIf = patchModel(ifModel(), { fsStageTensor: 'fs2', taStageTensor: 'ta', k, mode });
    expect(viaIf.taNodes).toBe(3); // conv2, if, relu3
    const direct = patchModel(ifModel(), { fsStageTensor: 'fs', taStageTensor: 'ta', k, mode });
    const a = await runOrt(encodeModel(viaIf.model), { x });
    const b = await runOrt(encodeModel(direct.model), { x });
    for (const o of ['fs2', 'z']) {
      expect(Buffer.from(a[o]!.data.buffer).equals(Buffer.from(plain[o]!.data.buffer))).toBe(true);
      expect(Buffer.from(b[o]!.data.buffer).equals(Buffer.from(plain[o]!.data.buffer))).toBe(true);
    }
    expect(Array.from(a['fsta/fs']!.data)).toEqual(Array.from(b['fsta/fs']!.data));
    expect(Array.from(a['fsta/fs_ta']!.data)).toEqual(Array.from(b['fsta/fs_ta']!.data));
    // TA changed the pass, so reading the original c2 inside the If would have been caught.
    expect(Math.abs(a['fsta/fs_ta']!.data[0]! - a['fsta/fs']!.data[0]!)).toBeGreaterThan(1e-4);
  });
});
