import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { FstaError, featureSim, referenceOps } from '@fsta/core';
import { findBackbone, parseUserManifest, requireStage, type BackboneResolution } from '@fsta/backbones';
import { decodeModel, encodeModel, patch, patchForConfig, readPatchMetadata, toGraphView, withOutputs, type OnnxModel } from '../src/index.js';

/**
 * Token models (issue 11, item 2) on small torchvision exports with random weights
 * (tools/export_torchvision.py → .cache/models): a ViT (tokens (N, L, C) behind a class
 * token) and a Swin (channels-last (N, H, W, C) stages). The sidecar holds PyTorch's FS and
 * FS+TA on the probe input, taken with forward hooks on the same blocks (class token left
 * out, before the final norm); fsta/fs and fsta/fs_ta must equal them within 1e-4, and
 * patching must keep the model's outputs bit-identical.
 */
const CACHE = fileURLToPath(new URL('../../../.cache/models/', import.meta.url));

interface Tokens { layout: 'nlc' | 'nhwc'; prefix_tokens: number; k: number; fs: number; fs_ta: number; c5: { shape: number[]; sum: number }; c4: { shape: number[]; sum: number } }
interface Case { name: string; layout: 'nlc' | 'nhwc'; prefix: number; stages: Record<string, number[]>; fsMap: number[]; c5Node: RegExp; c4Node: RegExp }

const CASES: Case[] = [
  { name: 'vit_tiny', layout: 'nlc', prefix: 1, stages: { C4: [-1, 197, 192], C5: [-1, 197, 192] }, fsMap: [1, 192, 196], c5Node: /^\/encoder\/layers\/encoder_layer_3\//, c4Node: /^\/encoder\/layers\/encoder_layer_1\// },
  { name: 'swin_tiny', layout: 'nhwc', prefix: 0, stages: { C2: [-1, 56, 56, 32], C3: [-1, 28, 28, 64], C4: [-1, 14, 14, 128], C5: [-1, 7, 7, 256] }, fsMap: [1, 256, 7, 7], c5Node: /^\/features\/features\.7\/features\.7\.1\//, c4Node: /^\/features\/features\.5\/features\.5\.1\// },
];

function probe(shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return x;
}
const SESSION: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 };
async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const s = await ort.InferenceSession.create(bytes, SESSION);
  try { return await s.run(feeds); } finally { await s.release(); }
}
const bytesOf = (t: ort.Tensor) => { const d = t.data as ArrayBufferView; return Buffer.from(d.buffer, d.byteOffset, d.byteLength); };
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
const sum = (t: ort.Tensor) => (t.data as Float32Array).reduce((s, v) => s + v, 0);

function thrown(f: () => unknown): FstaError {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(FstaError); return e as FstaError; }
  throw new Error('expected an FstaError');
}

beforeAll(() => {
  execFileSync('node', [fileURLToPath(new URL('../../../tools/ensure-models.mjs', import.meta.url))], { stdio: 'inherit' });
}, 900_000);

describe.each(CASES)('token model $name', (c) => {
  let model: OnnxModel;
  let tokens: Tokens;
  let found: BackboneResolution;
  let feeds: Record<string, ort.Tensor>;
  let plain: Record<string, ort.Tensor>;

  beforeAll(async () => {
    const bytes = new Uint8Array(readFileSync(`${CACHE}${c.name}.onnx`));
    model = decodeModel(bytes);
    const meta = JSON.parse(readFileSync(`${CACHE}${c.name}.json`, 'utf8'));
    tokens = meta.tokens;
    found = findBackbone(toGraphView(model), 'auto');
    feeds = { input: new ort.Tensor('float32', probe(meta.probe.input_shape), meta.probe.input_shape) };
    plain = await run(bytes, feeds);
  }, 300_000);

  it('stage discovery: the block outputs of its token trunk, in their layout; C5 = the last block, TA at C4 with the signed-tensor warning', () => {
    expect(found.source).toBe('detected automatically');
    expect(Object.fromEntries(Object.entries(found.stages).map(([k, s]) => [k, [...s!.shape]]))).toEqual(c.stages);
    for (const s of Object.values(found.stages)) expect([s!.layout, s!.prefixTokens, s!.nonNegative]).toEqual([c.layout, c.prefix, false]);
    expect(found.stages.C5!.node).toMatch(c.c5Node);
    expect(found.stages.C4!.node).toMatch(c.c4Node);
    expect([found.defaults.fsStage, found.defaults.taStage, found.defaults.k]).toEqual(['C5', 'C4', tokens.k]);
    // No ReLU in a transformer block (GELU and LayerNorm outputs are signed; Softmax gates): TA stays, with the warning.
    expect(found.ta!.tensor).toBe(found.stages.C4!.tensor);
    expect(found.warnings.join('\n')).toMatch(/is signed and has no non-negative tensor/);
    expect(found.head?.logits).toBe('logits');
    if (c.layout === 'nhwc') expect(Object.values(found.stages).map((s) => s!.stride)).toEqual([4, 8, 16, 32]);
  });

  it('the stage tensors are the ones PyTorch\'s hooks saw (shape and sum)', async () => {
    const out = await run(encodeModel(withOutputs(model, [found.stages.C5!.tensor, found.stages.C4!.tensor])), feeds);
    for (const [stage, ref] of [['C5', tokens.c5], ['C4', tokens.c4]] as const) {
      const t = out[found.stages[stage]!.tensor]!;
      expect([...t.dims]).toEqual(ref.shape);
      expect(close(sum(t), ref.sum), `${stage} sum ${sum(t)} vs ${ref.sum}`).toBe(true);
    }
  });

  it.each(['branch', 'double-batch'] as const)('%s: fsta/fs and fsta/fs_ta equal PyTorch\'s FS on the same tokens within 1e-4; the model\'s outputs are bit-identical', async (mode) => {
    const res = patch(model, { mode, exposeStages: true, classifier: 'energy' });
    expect([res.fsStage, res.taStage, res.k]).toEqual(['C5', 'C4', tokens.k]);
    const out = await run(encodeModel(res.model), feeds);
    expect(bytesOf(out.logits!).equals(bytesOf(plain.logits!))).toBe(true);
    const fs = (out['fsta/fs']!.data as Float32Array)[0]!, fsTa = (out['fsta/fs_ta']!.data as Float32Array)[0]!;
    expect(close(fs, tokens.fs), `fs ${fs} vs PyTorch ${tokens.fs}`).toBe(true);
    expect(close(fsTa, tokens.fs_ta), `fs_ta ${fsTa} vs PyTorch ${tokens.fs_ta}`).toBe(true);
    expect(Math.abs(fsTa - fs)).toBeGreaterThan(1e-3);
    // The exposed maps are channels first (class token left out): core's FS on them is fsta/fs.
    const map = out['fsta/stage/fs']!;
    expect([...map.dims]).toEqual(c.fsMap);
    expect(close(featureSim(referenceOps, referenceOps.fromArray(map.data as Float32Array, map.dims)).data[0]!, fs)).toBe(true);
    expect([...out['fsta/stage/fs_ta']!.dims]).toEqual(c.fsMap);
  }, 300_000);

  it('names the layout in the patch metadata; a patched model reads its stages back with it', () => {
    const p = patchForConfig(model, { config: undefined });
    const meta = readPatchMetadata(p.model)!;
    expect(meta.fsStage.layout).toEqual({ layout: c.layout, prefixTokens: c.prefix });
    expect(meta.taStage!.layout).toEqual({ layout: c.layout, prefixTokens: c.prefix });
  });

  it('a tensor named as a stage: any block output of the trunk is taken in its layout; a permuted tensor fsta knows no layout of is refused', () => {
    const g = toGraphView(model);
    const other = c.layout === 'nlc' ? '/encoder/layers/encoder_layer_2/Add_1_output_0' : '/features/features.3/features.3.0/Add_1_output_0';
    expect(requireStage(found, other)).toMatchObject({ layout: c.layout, prefixTokens: c.prefix });
    // After the final norm: ViT tokens (N, L, C) and Swin's NHWC map are no block output, so their layout is not known.
    const postNorm = c.layout === 'nlc' ? '/encoder/ln/Add_1_output_0' : '/norm/Add_1_output_0';
    expect(g.shapes.get(postNorm)).toHaveLength(c.layout === 'nlc' ? 3 : 4);
    const e = thrown(() => requireStage(found, postNorm));
    expect(e.code).toBe('IMPLAUSIBLE_STAGE');
    expect(e.message).toMatch(/layout is unknown/);
    if (c.layout === 'nhwc') expect(requireStage(found, '/permute/Transpose_output_0')).toMatchObject({ layout: 'nchw', shape: [-1, 256, 7, 7] });
  });

  it('a manifest may declare the layout; one that contradicts the trunk, or a permuted stage without one, is refused', () => {
    const base = { preprocess: { size: [224, 224], crop: 'none', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } };
    const c5 = found.stages.C5!.tensor;
    const ok = findBackbone(toGraphView(model), parseUserManifest({ ...base, stages: { C5: { tensor: c5, layout: c.layout, prefixTokens: c.prefix } } }));
    expect(ok.stages.C5).toMatchObject({ layout: c.layout, prefixTokens: c.prefix });
    const wrong = thrown(() => findBackbone(toGraphView(model), parseUserManifest({ ...base, stages: { C5: { tensor: c5, layout: c.layout === 'nlc' ? 'ncl' : 'nchw' } } })));
    expect(wrong.code).toBe('BACKBONE_MISMATCH');
    const postNorm = c.layout === 'nlc' ? '/encoder/ln/Add_1_output_0' : '/norm/Add_1_output_0';
    const unknown = thrown(() => findBackbone(toGraphView(model), parseUserManifest({ ...base, stages: { C5: postNorm } })));
    expect(unknown.message).toMatch(/gives no layout/);
    // Declared, it is taken as declared (the user says what the tensor holds).
    const declared = findBackbone(toGraphView(model), parseUserManifest({ ...base, stages: { C5: { tensor: postNorm, layout: c.layout, prefixTokens: c.prefix } } }));
    expect(declared.stages.C5!.layout).toBe(c.layout);
    expect(declared.stages.C5!.stride).toBe(c.layout === 'nhwc' ? 32 : 16);
  });
});

describe('a token model whose blocks fsta does not recognise', () => {
  it('is refused, not scored on the patch embedding: attention follows the stage auto-detection would take as C5', () => {
    const model = decodeModel(new Uint8Array(readFileSync(`${CACHE}vit_tiny.onnx`)));
    // timm and DeiT exports name their modules differently (blocks.N, patch_embed): torchvision's names are what tokens.ts knows.
    const rename = (s: string) => s.replace(/\/encoder\/layers\/encoder_layer_/g, '/blocks/block_').replace(/\/conv_proj\//g, '/patch_embed/');
    for (const n of model.graph!.node!) n.name = rename(n.name ?? '');
    const e = thrown(() => findBackbone(toGraphView(model), 'auto'));
    expect(e.message).toMatch(/attention|token model/);
    expect(e.fix).toMatch(/manifest/);
  });
});
