import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { FstaError, featureSim, preprocessPixels, referenceOps, thresholdActivation, type PreprocessSpec } from '@fsta/core';
import { getManifest } from '@fsta/backbones';
import { decodeModel, encodeModel, GraphIndex, patch, patchModel, tailModel, type OnnxModel, type PatchByStageResult } from '../src/index.js';
import { SHARED } from './helpers.js';

/**
 * Issue 3 on every torchvision export (tools/export_torchvision.py → .cache/models):
 * patch(model, { backbone: 'auto' | name }) run in onnxruntime-node on a real ImageNet
 * image. fs equals core's reference on the exposed FS stage; fs_ta equals core's
 * reference on the original network cut at the TA stage and fed host TA; the model's
 * own outputs are bit-identical, in both TA modes.
 */
const CACHE = fileURLToPath(new URL('../../../.cache/models/', import.meta.url));
const IMAGE = `${SHARED}data/imagenet-val-1k/n01443537_goldfish.JPEG`;

interface Case {
  name: string;
  /** Input as the export takes it: [N, 3, H, W], or one [3, H, W] image (the detector). */
  input: number[];
  /** The manifest's preprocessing, with the size the model was exported at where the manifest says to replace it. */
  size?: [number, number];
  head: boolean;
  /** Stage shapes for this input (the tensors are in the full model, so these prove which ones). */
  fs: number[];
  ta: number[];
  /** Names of the nodes that make the stage tensors: the backbone's, inside the full model. */
  body: RegExp;
}

const CASES: Case[] = [
  { name: 'resnet18', input: [1, 3, 224, 224], head: true, fs: [1, 512, 7, 7], ta: [1, 256, 14, 14], body: /^\/layer[34]\// },
  { name: 'resnet50', input: [1, 3, 224, 224], head: true, fs: [1, 2048, 7, 7], ta: [1, 1024, 14, 14], body: /^\/layer[34]\// },
  { name: 'densenet121', input: [1, 3, 224, 224], head: true, fs: [1, 1024, 7, 7], ta: [1, 1024, 14, 14], body: /^\/(features\/denseblock3\/|features\/transition3\/|Relu$)/ },
  // Dilated layer3/layer4: C4 and C5 both at stride 8.
  { name: 'fcn_resnet50', input: [1, 3, 224, 224], size: [224, 224], head: false, fs: [1, 2048, 28, 28], ta: [1, 1024, 28, 28], body: /^\/backbone\/layer[34]\// },
  // The full detector (transform, body, FPN, RPN, RoI heads, NMS inside If nodes) on one 3x320x320 image.
  { name: 'fasterrcnn_resnet50_fpn', input: [3, 320, 320], size: [320, 320], head: false, fs: [1, 2048, 10, 10], ta: [1, 1024, 20, 20], body: /^\/backbone\/body\/layer[34]\// },
];

const SESSION: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 };
type Outputs = Record<string, ort.Tensor>;
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-12));
  return worst;
}
const bytesOf = (t: ort.Tensor) => { const d = t.data as ArrayBufferView; return Buffer.from(d.buffer, d.byteOffset, d.byteLength); };
const floats = (t: ort.Tensor) => t.data as Float32Array;

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Outputs> {
  const s = await ort.InferenceSession.create(bytes, SESSION);
  try { return await s.run(feeds); } finally { await s.release(); }
}

/** The test image through core's preprocessing with the manifest's spec. */
async function preprocess(c: Case): Promise<ort.Tensor> {
  const manifest = getManifest(c.name);
  const spec: PreprocessSpec = { ...manifest.preprocess, ...(c.size ? { size: c.size } : {}) };
  expect(spec.size).toEqual(c.input.slice(-2));
  const { data, info } = await sharp(IMAGE).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const chw = preprocessPixels({ data, width: info.width, height: info.height, channels: 3 }, spec);
  return new ort.Tensor('float32', chw, c.input);
}

beforeAll(() => {
  // The exports live in a git-ignored cache; make them if missing (CI's .ci/run does it first).
  execFileSync('node', [fileURLToPath(new URL('../../../tools/ensure-models.mjs', import.meta.url))], { stdio: 'inherit' });
}, 900_000);

describe.each(CASES)('patch() on the torchvision export $name', (c) => {
  let bytes: Uint8Array;
  let original: OnnxModel;
  let feeds: Record<string, ort.Tensor>;
  let plain: Outputs;
  const patched: Partial<Record<'branch' | 'double-batch', { res: PatchByStageResult; out: Outputs }>> = {};
  let fsTaRef: Float32Array;

  beforeAll(async () => {
    bytes = new Uint8Array(readFileSync(`${CACHE}${c.name}.onnx`));
    original = decodeModel(bytes);
    feeds = { input: await preprocess(c) };
    plain = await run(bytes, feeds);
  }, 300_000);
  afterAll(() => { for (const k of Object.keys(patched)) delete patched[k as 'branch']; });

  it.each(['branch', 'double-batch'] as const)('%s: original outputs bit-identical, fs = core reference on the FS stage, fs_ta = reference through the network cut at the TA stage', async (mode) => {
    // 'auto' in one mode, the manifest by name in the other: both must find the same stages.
    const res = patch(original, { backbone: mode === 'branch' ? 'auto' : c.name, mode, exposeStages: true, ...(c.head ? { classifier: 'energy' as const } : {}) });
    expect(res.backbone).toBe(c.name);
    expect([res.fsStage, res.taStage]).toEqual(['C5', 'C4']);
    expect(res.outputs).toEqual([...(c.head ? ['fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/score'] : ['fsta/fs', 'fsta/fs_ta']), 'fsta/stage/fs', 'fsta/stage/ta', 'fsta/stage/fs_ta']);
    const out = await run(encodeModel(res.model), feeds);
    patched[mode] = { res, out };

    // The model's own outputs, bit for bit (the detector's boxes, int64 labels and scores included).
    const own = (original.graph!.output ?? []).map((o) => o.name!);
    expect(own.length).toBeGreaterThan(0);
    for (const name of own) {
      expect(out[name]!.dims).toEqual(plain[name]!.dims);
      expect(out[name]!.type).toBe(plain[name]!.type);
      expect(bytesOf(out[name]!).equals(bytesOf(plain[name]!)), `${name} differs`).toBe(true);
    }

    // The stages are the backbone's, inside the full model, at the shapes the architecture gives this input.
    const index = new GraphIndex(original.graph!);
    const [fsNode, taNode] = ['fsta/stage/fs', 'fsta/stage/ta'].map((o) => index.producerOf(res.model.graph!.node!.find((n) => n.output?.[0] === o)!.input![0]!)!);
    expect(fsNode!.name).toMatch(c.body);
    expect(taNode!.name).toMatch(c.body);
    expect(out['fsta/stage/fs']!.dims).toEqual(c.fs);
    expect(out['fsta/stage/ta']!.dims).toEqual(c.ta);
    for (const k of ['fsta/fs', 'fsta/fs_ta']) expect(out[k]!.dims).toEqual([1]);

    const fsRef = featureSim(referenceOps, referenceOps.fromArray(floats(out['fsta/stage/fs']!), out['fsta/stage/fs']!.dims)).data;
    expect(relErr(floats(out['fsta/fs']!), fsRef)).toBeLessThan(1e-5);

    // FS+TA: TA on the host, fed to the original nodes between the stages (no patch node involved).
    if (!fsTaRef) {
      const ta = out['fsta/stage/ta']!;
      const host = thresholdActivation(referenceOps, referenceOps.fromArray(floats(ta), ta.dims), res.k);
      const fsTensor = fsNode!.output![0]!, taTensor = taNode!.output![0]!;
      const cut = tailModel(original, taTensor, fsTensor);
      expect(cut.extraInputs).toEqual([]);
      const fed = await run(encodeModel(cut.model), { [taTensor]: new ort.Tensor('float32', host.data, [...host.shape]) });
      fsTaRef = featureSim(referenceOps, referenceOps.fromArray(floats(fed[fsTensor]!), fed[fsTensor]!.dims)).data;
    }
    expect(relErr(floats(out['fsta/fs_ta']!), fsTaRef)).toBeLessThan(1e-5);
    // TA (k from the manifest) changed the map, so the test would see a wrong TA pass.
    expect(relErr(floats(out['fsta/fs_ta']!), fsRef)).toBeGreaterThan(1e-3);
    for (const k of res.outputs.filter((o) => !o.startsWith('fsta/stage/'))) expect(Number.isFinite(floats(out[k]!)[0])).toBe(true);
  }, 300_000);

  it('branch and double-batch agree; auto and by-name patch the same nodes', () => {
    const [b, d] = [patched.branch, patched['double-batch']];
    expect(b && d, 'both mode tests ran').toBeTruthy();
    for (const k of b!.res.outputs) expect(relErr(floats(d!.out[k]!), floats(b!.out[k]!)), k).toBeLessThan(1e-5);
    const byName = patch(original, { backbone: c.name, mode: 'branch', exposeStages: true, ...(c.head ? { classifier: 'energy' as const } : {}) });
    const added = (m: OnnxModel) => m.graph!.node!.slice(original.graph!.node!.length);
    expect(added(byName.model)).toEqual(added(b!.res.model));
    expect(byName.taNodes).toBe(b!.res.taNodes);
  });

  it('branch mode: the model\'s own outputs stay bit-identical under the adapters\' optimization level "all" too', async () => {
    const b = patched.branch;
    expect(b, 'the branch test ran').toBeTruthy();
    const all = async (m: Uint8Array) => {
      const s = await ort.InferenceSession.create(m, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
      try { return await s.run(feeds); } finally { await s.release(); }
    };
    const [mine, theirs] = [await all(encodeModel(b!.res.model)), await all(bytes)];
    for (const o of original.graph!.output ?? []) expect(bytesOf(mine[o.name!]!).equals(bytesOf(theirs[o.name!]!)), `${o.name} differs`).toBe(true);
  }, 300_000);
});

describe('double-batch and FPN skips', () => {
  it('refuses, naming the node and the fix, when the FS stage lies past an FPN merge that reads a stage before TA', () => {
    const m = decodeModel(new Uint8Array(readFileSync(`${CACHE}fasterrcnn_resnet50_fpn.onnx`)));
    const g = new GraphIndex(m.graph!);
    const byName = (name: string) => g.nodes.find((n) => n.name === name)?.output?.[0];
    // P3 = conv over (inner(C3) + upsampled P4 path): the Add reads inner(C3), computed from before TA at C4.
    const p3 = byName('/backbone/fpn/layer_blocks.1/layer_blocks.1.0/Conv');
    const c4 = g.nodes.filter((n) => n.name?.startsWith('/backbone/body/layer3/') && n.opType === 'Relu').at(-1)!.output![0]!;
    expect(p3).toBeDefined();
    let err: unknown;
    try { patchModel(m, { fsStageTensor: p3!, taStageTensor: c4, k: 0.2, mode: 'double-batch' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FstaError);
    expect((err as FstaError).code).toBe('NOT_SUPPORTED_IN_GRAPH');
    expect((err as Error).message).toMatch(/double-batch mode cannot batch node "\/backbone\/fpn\/.*": it also reads ".*", which comes from before the TA point\. Fix: use mode: "branch"/);
    // Branch mode handles the same stages: the duplicated nodes read the original pass's C3 path.
    const ok = patchModel(m, { fsStageTensor: p3!, taStageTensor: c4, k: 0.2, mode: 'branch' });
    expect(ok.outputs).toEqual(['fsta/fs', 'fsta/fs_ta']);
    expect(ok.taNodes).toBeGreaterThan(30);
  }, 120_000);
});
