import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { verdictOf, type FstaConfig } from '@fsta/core';
import { createDetector } from '@fsta/onnxruntime-node';
import { decodeModel } from '@fsta/onnx';
import { runCli } from './helpers.js';

/**
 * Issue 13, end to end: `fsta patch --config` writes a model that carries its decision;
 * createDetector runs it with no config and agrees with createDetector(original, config);
 * every patched model passes onnx.checker (full_check) and gives the same outputs in Python
 * onnxruntime as in onnxruntime-node; docs/examples/deploy.py gives the same verdicts.
 * Python comes from .cache/venv (made by .ci/run); without it the Python part is skipped
 * here and fails in CI.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHARED = join(ROOT, '..', 'shared');
const MODELS = join(SHARED, 'models');
const CACHE = join(ROOT, '.cache', 'models');
const PYTHON = join(ROOT, '.cache', 'venv', 'bin', 'python');
const haveShared = existsSync(MODELS);
const havePython = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import onnx, onnxruntime, PIL, numpy']).status === 0;
if (!havePython) {
  const why = `${PYTHON} with onnx, onnxruntime, PIL and numpy is missing (.ci/run makes it: python3 -m venv --system-site-packages .cache/venv && .cache/venv/bin/pip install onnx onnxruntime)`;
  if (process.env.CI === 'true') throw new Error(`CI: ${why}`);
  console.warn(`skipping the Python checks of patched models: ${why}`);
}

const tmp = mkdtempSync(join(tmpdir(), 'fsta-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const config = (over: Partial<FstaConfig>): FstaConfig => ({
  version: 1, backbone: 'auto', fsStage: 'C5', taStage: 'C4', k: 0.5, featureScore: 'fs_ta', classifier: 'energy', lambda: 0.1, temperature: 1,
  threshold: 0, targetTpr: 0.95, provenance: { by: 'apps/cli/test/deploy.test.ts', idImages: 'none: a test threshold' }, ...over,
});
const writeConfig = (name: string, c: FstaConfig) => { const p = join(tmp, `${name}.config.json`); writeFileSync(p, JSON.stringify(c)); return p; };

/** Deterministic noise in [-2, 2) (mulberry32). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 4;
  }
  return out;
}

const DTYPES: Record<string, string> = { float32: 'float32', bool: 'bool', int64: 'int64', int32: 'int32', uint8: 'uint8' };

/** One Python case: the patched file, the input and what onnxruntime-node returned, as raw arrays. */
async function nodeCase(model: string, input: { name: string; dims: number[] }, seed: number) {
  const data = noise(input.dims.reduce((a, b) => a * b, 1), seed);
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  const out = await session.run({ [input.name]: new ort.Tensor('float32', data, input.dims) });
  await session.release();
  const dir = mkdtempSync(join(tmp, 'case-'));
  writeFileSync(join(dir, 'input.bin'), data);
  const outputs: Record<string, { file: string; dims: number[]; dtype: string }> = {};
  Object.entries(out).forEach(([name, t], i) => {
    const d = t.data as ArrayBufferView;
    const dtype = DTYPES[t.type];
    if (!dtype) throw new Error(`output ${name} has type ${t.type}`);
    writeFileSync(join(dir, `${i}.bin`), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    outputs[name] = { file: join(dir, `${i}.bin`), dims: [...t.dims], dtype };
  });
  return { model, inputs: { [input.name]: { file: join(dir, 'input.bin'), dims: input.dims } }, outputs, nodeOutputs: out };
}

function python(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface ModelCase { name: string; path: string; input: number[]; head: boolean }
const shared: ModelCase[] = haveShared ? readdirSync(MODELS).filter((f) => f.endsWith('.onnx')).sort().map((f) => ({ name: f.replace(/\.onnx$/, ''), path: join(MODELS, f), input: f.startsWith('cifar') ? [2, 3, 32, 32] : [2, 3, 224, 224], head: true })) : [];
const exports: ModelCase[] = [
  { name: 'resnet18', path: join(CACHE, 'resnet18.onnx'), input: [2, 3, 224, 224], head: true },
  { name: 'resnet50', path: join(CACHE, 'resnet50.onnx'), input: [1, 3, 224, 224], head: true },
  { name: 'densenet121', path: join(CACHE, 'densenet121.onnx'), input: [1, 3, 224, 224], head: true },
  { name: 'fcn_resnet50', path: join(CACHE, 'fcn_resnet50.onnx'), input: [1, 3, 224, 224], head: false },
  { name: 'fasterrcnn_resnet50_fpn', path: join(CACHE, 'fasterrcnn_resnet50_fpn.onnx'), input: [3, 320, 320], head: false },
];

describe.skipIf(!haveShared)('fsta patch --config: the file carries its decision', () => {
  const images = haveShared ? readdirSync(join(SHARED, 'data', 'cifar10-test', 'airplane')).sort().slice(0, 12).map((f) => join(SHARED, 'data', 'cifar10-test', 'airplane', f)) : [];
  const ood = haveShared ? readdirSync(join(SHARED, 'data', 'imagenet-val-1k')).sort().slice(0, 12).map((f) => join(SHARED, 'data', 'imagenet-val-1k', f)) : [];
  const model = join(MODELS, 'cifar10-resnet20.onnx');
  let c: FstaConfig;
  let patched: string;

  beforeAll(async () => {
    // A threshold at the median score of ID and OOD images, so both verdicts occur.
    const probe = await createDetector({ model, config: config({ threshold: null }), executionProviders: ['cpu'] });
    const scores = (await probe.score([...images, ...ood])).map((s) => s.score).sort((a, b) => a - b);
    await probe.dispose();
    c = config({ threshold: scores[scores.length / 2]! + 1e-4, provenance: { by: 'deploy.test', idImages: 'cifar10-test/airplane[0:12]', oodImages: 'imagenet-val-1k[0:12]' } });
    patched = join(tmp, 'r20.patched.onnx');
    const r = await runCli(['patch', model, '--config', writeConfig('r20', c), '-o', patched]);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/fsta\/verdict at threshold/);
  }, 120_000);

  it('createDetector(patched bytes) with no config gives the scores and verdicts of createDetector(original, config), and fsta/verdict is verdictOf', async () => {
    const bytes = new Uint8Array(readFileSync(patched));
    const a = await createDetector({ model: bytes, executionProviders: ['cpu'] });
    const b = await createDetector({ model, config: c, executionProviders: ['cpu'] });
    expect(a.config).toEqual(c);
    const all = [...images, ...ood];
    const [sa, sb] = [await a.score(all), await b.score(all)];
    await a.dispose(); await b.dispose();
    for (let i = 0; i < all.length; i++) {
      expect(sa[i]!.score).toBe(sb[i]!.score);
      expect(sa[i]!.fsTa).toBe(sb[i]!.fsTa);
      expect(sa[i]!.verdict).toBe(sb[i]!.verdict);
    }
    const verdicts = sa.map((s) => s.verdict);
    expect(verdicts).toContain('ID');
    expect(verdicts).toContain('OOD');
    // The in-graph verdict, read straight from the session, on the same images.
    const probe = await createDetector({ model: bytes, executionProviders: ['cpu'] });
    const batch = await Promise.all(all.map((x, i) => probe.prepare(x, i)));
    await probe.dispose();
    const data = new Float32Array(batch.length * 3 * 32 * 32);
    batch.forEach((x, i) => data.set(x, i * 3 * 32 * 32));
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ input: new ort.Tensor('float32', data, [batch.length, 3, 32, 32]) });
    await s.release();
    for (let i = 0; i < all.length; i++) {
      expect((out['fsta/score']!.data as Float32Array)[i]).toBe(sa[i]!.score);
      expect(Boolean(out['fsta/verdict']!.data[i])).toBe(verdictOf(sa[i]!.score, c.threshold) === 'ID');
    }
  }, 120_000);

  it('fsta inspect prints the metadata; patching the patched file is refused', async () => {
    const r = await runCli(['inspect', patched]);
    expect(r.code).toBe(0);
    for (const line of [/^patched by fsta \d+\.\d+\.\d+: outputs fsta\/fs, .*fsta\/verdict$/m, /fsta\.fs_tensor: \/layer3\//, /fsta\.ta_tensor: \/layer2\//, /fsta\.k: 0\.5$/m, /fsta\.classifier: energy$/m, /fsta\.lambda: 0\.1$/m,
      new RegExp(`fsta\\.threshold: ${String(c.threshold).replace('.', '\\.')}$`, 'm'), /fsta\.target_tpr: 0\.95$/m, /fsta\.preprocess: \{"size":\[32,32\],"crop":"none","mean":\[0\.485,0\.456,0\.406\],"std":\[0\.229,0\.224,0\.225\],"layout":"NCHW","range":\[0,1\]\}$/m,
      /fsta\.provenance: \{"by":"deploy\.test"/m]) expect(r.out).toMatch(line);
    const again = await runCli(['patch', patched, '--config', writeConfig('again', c), '-o', join(tmp, 'twice.onnx')]);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/ALREADY_PATCHED|already has an output "fsta\/fs"/);
  }, 60_000);

  it('--triton writes DIR/NAME/1/model.onnx and config.pbtxt, and refuses to overwrite them', async () => {
    const repo = join(tmp, 'triton');
    mkdirSync(repo);
    let r = await runCli(['patch', model, '--config', writeConfig('t', c), '--triton', repo, '--name', 'r20']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/Triton: max_batch_size 32 with dynamic batching/);
    const written = readFileSync(join(repo, 'r20', '1', 'model.onnx'));
    expect(written.equals(readFileSync(patched))).toBe(true);
    const pbtxt = readFileSync(join(repo, 'r20', 'config.pbtxt'), 'utf8');
    expect(pbtxt).toMatch(/^name: "r20"$/m);
    const outputs = (decodeModel(new Uint8Array(written)).graph!.output ?? []).map((o) => o.name);
    const declared = [...pbtxt.matchAll(/^ {4}name: "([^"]+)"$/gm)].map((m) => m[1]);
    expect(declared).toEqual(['input', ...outputs]);
    r = await runCli(['patch', model, '--config', writeConfig('t', c), '--triton', repo, '--name', 'r20']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/config\.pbtxt already exists|model\.onnx already exists/);
    expect(readFileSync(join(repo, 'r20', 'config.pbtxt'), 'utf8')).toBe(pbtxt);
  }, 60_000);

  it.skipIf(!havePython)('docs/examples/deploy.py gives the verdicts createDetector gives, from the image files', async () => {
    const all = [...images, ...ood];
    const r = python([join(ROOT, 'docs', 'examples', 'deploy.py'), patched, ...all]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const py = r.out.trim().split('\n').map((l) => JSON.parse(l) as { image: string; score: number; verdict: string });
    const d = await createDetector({ model: new Uint8Array(readFileSync(patched)), executionProviders: ['cpu'] });
    const js = await d.score(all);
    await d.dispose();
    expect(py.map((p) => p.image)).toEqual(all);
    let worst = 0;
    for (let i = 0; i < all.length; i++) {
      worst = Math.max(worst, Math.abs(py[i]!.score - js[i]!.score) / Math.abs(js[i]!.score));
      expect(py[i]!.verdict, all[i]).toBe(js[i]!.verdict);
    }
    console.log(`deploy.py vs createDetector, ResNet-20, ${all.length} images: verdicts equal, scores within ${worst.toExponential(2)} relative`);
    expect(worst).toBeLessThan(1e-6);
  }, 120_000);
});

describe.skipIf(!haveShared || !havePython)('docs/examples/deploy.py on MobileNetV2 (resize shorter side, center crop, zero padding)', () => {
  it('gives the verdicts and scores createDetector gives', async () => {
    const model = join(MODELS, 'imagenet-mobilenetv2.onnx');
    const imagenet = readdirSync(join(SHARED, 'data', 'imagenet-val-1k')).sort().filter((_, i) => i % 125 === 0).map((f) => join(SHARED, 'data', 'imagenet-val-1k', f));
    // CIFAR images are 32 px: upscaled to 256, then cropped (a PNG and a JPEG).
    const small = [join(SHARED, 'data', 'cifar10-test-png-1k', 'cat', '0000.png'), join(SHARED, 'data', 'cifar10-test', 'ship', readdirSync(join(SHARED, 'data', 'cifar10-test', 'ship')).sort()[0]!)];
    const all = [...imagenet, ...small];
    const probe = await createDetector({ model, config: config({ classifier: 'msp', lambda: 1, threshold: null }), executionProviders: ['cpu'] });
    const scores = (await probe.score(all)).map((s) => s.score).sort((a, b) => a - b);
    await probe.dispose();
    const c = config({ classifier: 'msp', lambda: 1, threshold: (scores[4]! + scores[5]!) / 2 });
    const patched = join(tmp, 'mbv2.patched.onnx');
    expect((await runCli(['patch', model, '--config', writeConfig('mbv2', c), '-o', patched])).err).toBe('');
    const r = python([join(ROOT, 'docs', 'examples', 'deploy.py'), patched, ...all]);
    expect(r.err).toBe('');
    const py = r.out.trim().split('\n').map((l) => JSON.parse(l) as { score: number; verdict: string });
    const d = await createDetector({ model: patched, executionProviders: ['cpu'] });
    const js = await d.score(all);
    await d.dispose();
    let worst = 0;
    for (let i = 0; i < all.length; i++) {
      worst = Math.max(worst, Math.abs(py[i]!.score - js[i]!.score) / Math.abs(js[i]!.score));
      expect(py[i]!.verdict, all[i]).toBe(js[i]!.verdict);
    }
    expect(new Set(js.map((s) => s.verdict))).toEqual(new Set(['ID', 'OOD']));
    console.log(`deploy.py vs createDetector, MobileNetV2, ${all.length} images: verdicts equal, scores within ${worst.toExponential(2)} relative`);
    expect(worst).toBeLessThan(1e-6);
  }, 180_000);
});

describe.skipIf(!haveShared || !havePython)('every patched model in Python: onnx.checker (full_check) and onnxruntime = onnxruntime-node', () => {
  beforeAll(() => {
    execFileSync('node', [join(ROOT, 'tools', 'ensure-models.mjs')], { stdio: 'inherit' });
  }, 900_000);

  it.each([...shared, ...exports])('$name', async (m) => {
    const out = join(tmp, `${m.name}.patched.onnx`);
    const r = await runCli(['patch', m.path, '--config', writeConfig(m.name, config(m.head ? {} : { classifier: null, lambda: 0 })), '-o', out]);
    expect(r.err).toBe('');
    const c = await nodeCase(out, { name: 'input', dims: m.input }, 7);
    expect(Object.keys(c.nodeOutputs)).toContain('fsta/verdict');
    const casesFile = join(tmp, `${m.name}.cases.json`);
    writeFileSync(casesFile, JSON.stringify([{ model: c.model, inputs: c.inputs, outputs: c.outputs }]));
    const py = python([join(ROOT, 'tools', 'check_patched.py'), casesFile]);
    const result = JSON.parse(py.out.trim().split('\n')[0] ?? '{}');
    console.log(`${m.name}: ${JSON.stringify(result)}`);
    expect(py.err).toBe('');
    expect(result.checker).toBe('ok');
    expect(Object.keys(result.outputs)).toEqual(Object.keys(c.outputs));
    for (const [name, o] of Object.entries(result.outputs as Record<string, { error?: string }>)) expect(o.error, name).toBeUndefined();
    expect(py.code).toBe(0);
  }, 600_000);
});
