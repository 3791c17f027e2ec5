import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FstaError, featureSim, referenceOps, tensor, thresholdActivation, type Detector, type ImageScore } from '@fsta/core';
import { decodeModel, decodedModel, encodeModel, prepareDetectorModel, tailModel, toGraphView, withOutputs } from '@fsta/onnx';
import { findBackbone } from '@fsta/backbones';
import { createDetector } from '../src/index.js';
import { cifarImages, cifarTensor, maxRelErr, modelPath, pixels, textureImages } from './images.js';

const resnet = modelPath('cifar10-resnet20.onnx');
const resnetBytes = readFileSync(resnet);
const cifar = cifarImages(64);
const textures = textureImages(64);
const paths = [...cifar.map((c) => c.path), ...textures];
const BATCH = 16;

/** The original model plus the given tensors as extra outputs (nothing else changed). */
const exposing = (bytes: Uint8Array, names: string[]): Uint8Array => encodeModel(withOutputs(decodeModel(bytes), names));

async function runBatched(session: ort.InferenceSession, samples: Float32Array[], names: string[]): Promise<Record<string, Float32Array[]>> {
  const out: Record<string, Float32Array[]> = Object.fromEntries(names.map((n) => [n, []]));
  const per = samples[0]!.length;
  for (let s = 0; s < samples.length; s += BATCH) {
    const chunk = samples.slice(s, s + BATCH);
    const data = new Float32Array(chunk.length * per);
    chunk.forEach((x, i) => data.set(x, i * per));
    const r = await session.run({ input: new ort.Tensor('float32', data, [chunk.length, 3, 32, 32]) });
    for (const n of names) {
      const t = r[n]!, rowLen = (t.data as Float32Array).length / chunk.length;
      for (let i = 0; i < chunk.length; i++) out[n]!.push((t.data as Float32Array).slice(i * rowLen, (i + 1) * rowLen));
    }
  }
  return out;
}

describe('onnxruntime-node detector on CIFAR ResNet-20 (64 CIFAR-10 + 64 textures)', () => {
  let det: Detector;
  let scores: ImageScore[];
  const logs: string[] = [];
  let samples: Float32Array[];

  beforeAll(async () => {
    det = await createDetector({ model: resnet, backbone: 'auto', classifier: 'energy', logger: (l) => logs.push(l) });
    scores = await det.score(paths);
    samples = await Promise.all(paths.map(async (p) => cifarTensor(await pixels(p))));
  });
  afterAll(() => det?.dispose());

  it('reports the provider actually used, with one log line when CUDA is missing', () => {
    expect(det.runtime).toMatch(/^onnxruntime-node\/(cpu|cuda)$/);
    if (det.runtime.endsWith('cpu')) {
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/running on cpu\. CUDA unavailable: /);
    } else expect(logs).toHaveLength(0);
    expect(det.config).toMatchObject({ backbone: 'auto', fsStage: 'C5', taStage: 'C4', k: 0.5, classifier: 'energy', lambda: 0.016 });
  });

  it("returns the model's own logits bit-identical to running the original model directly", async () => {
    const session = await ort.InferenceSession.create(resnetBytes, { executionProviders: ['cpu'] });
    const direct = await runBatched(session, samples, ['logits']);
    await session.release();
    expect(scores).toHaveLength(128);
    scores.forEach((s, i) => {
      expect(s.outputs.logits!.shape).toEqual([1, 10]);
      expect(Array.from(s.outputs.logits!.data)).toEqual(Array.from(direct.logits![i]!));
    });
    // The checkpoint's accuracy shows up: these JPEG-damaged test images score ~81% top-1.
    const correct = cifar.filter((c, i) => { const l = scores[i]!.outputs.logits!.data; return l.indexOf(Math.max(...l)) === c.label; }).length;
    expect(correct).toBeGreaterThanOrEqual(44);
  });

  it("fs equals core's reference featureSim on the FS stage exposed from the original model (rel 1e-5)", async () => {
    const found = findBackbone(toGraphView(decodeModel(resnetBytes)), 'auto');
    const fsTensor = found.stages.C5!.tensor;
    const session = await ort.InferenceSession.create(exposing(resnetBytes, [fsTensor]), { executionProviders: ['cpu'] });
    const stage = (await runBatched(session, samples, [fsTensor]))[fsTensor]!;
    await session.release();
    const ref = await Promise.all(stage.map(async (f) => (await referenceOps.read(featureSim(referenceOps, tensor(f, [1, 64, 8, 8]))))[0]!));
    expect(maxRelErr(scores.map((s) => s.fs), ref)).toBeLessThan(1e-5);
  });

  it("fsTa equals core's reference: host TA = ReLU(C4 − k) fed into the network cut at C4, featureSim on C5 (rel 1e-5)", async () => {
    const found = findBackbone(toGraphView(decodeModel(resnetBytes)), 'auto');
    const [c4, c5] = [found.stages.C4!.tensor, found.stages.C5!.tensor];
    const exposed = await ort.InferenceSession.create(exposing(resnetBytes, [c4]), { executionProviders: ['cpu'] });
    const stage4 = (await runBatched(exposed, samples, [c4]))[c4]!;
    await exposed.release();
    // The cut: C4 becomes the input of the C4→C5 part, so everything after it runs on the fed tensor.
    const cut = tailModel(decodeModel(resnetBytes), c4, c5);
    expect(cut.extraInputs).toEqual([]);
    const tail = await ort.InferenceSession.create(encodeModel(cut.model), { executionProviders: ['cpu'] });
    const ref: number[] = [];
    for (let i = 0; i < samples.length; i++) {
      const ta = await referenceOps.read(thresholdActivation(referenceOps, tensor(stage4[i]!, [1, 32, 16, 16]), 0.5));
      const r = await tail.run({ [c4]: new ort.Tensor('float32', ta, [1, 32, 16, 16]) });
      ref.push((await referenceOps.read(featureSim(referenceOps, tensor(r[c5]!.data as Float32Array, [1, 64, 8, 8]))))[0]!);
    }
    await tail.release();
    expect(maxRelErr(scores.map((s) => s.fsTa!), ref)).toBeLessThan(1e-5);
  });

  it('fs, fsTa, energy and the fused score equal a direct run of the patched model', async () => {
    const prepared = prepareDetectorModel(resnetBytes, { backbone: 'auto', classifier: 'energy' });
    const session = await ort.InferenceSession.create(prepared.bytes, { executionProviders: ['cpu'] });
    const names = ['fsta/fs', 'fsta/fs_ta', 'fsta/energy', 'fsta/score'];
    const direct = await runBatched(session, samples, names);
    await session.release();
    expect(maxRelErr(scores.map((s) => s.fs), direct['fsta/fs']!.map((x) => x[0]!))).toBeLessThan(1e-5);
    expect(maxRelErr(scores.map((s) => s.fsTa!), direct['fsta/fs_ta']!.map((x) => x[0]!))).toBeLessThan(1e-5);
    expect(maxRelErr(scores.map((s) => s.classifier.energy!), direct['fsta/energy']!.map((x) => x[0]!))).toBeLessThan(1e-5);
    // S = fsTa + 0.016·energy, checked on the host as well.
    expect(maxRelErr(scores.map((s) => s.score), scores.map((s) => s.fsTa! + 0.016 * s.classifier.energy!))).toBeLessThan(1e-5);
    // TA changes the scores (k = 0.5 is not a no-op) and stays finite.
    expect(scores.some((s) => s.fsTa !== s.fs)).toBe(true);
    expect(scores.every((s) => s.verdict === null)).toBe(true);
  });

  it('takes raw tensors and pixels, giving the same numbers as file paths', async () => {
    const px = await pixels(paths[3]!);
    const [a, b] = await det.score([{ data: samples[3]!, shape: [3, 32, 32] }, px]);
    for (const r of [a!, b!]) {
      expect(r.fs).toBe(scores[3]!.fs);
      expect(Array.from(r.outputs.logits!.data)).toEqual(Array.from(scores[3]!.outputs.logits!.data));
    }
  });

  it('8 concurrent score() calls equal the sequential results', async () => {
    const chunks = Array.from({ length: 8 }, (_, i) => paths.slice(i * 16, i * 16 + 16));
    const concurrent = await Promise.all(chunks.map((c) => det.score(c)));
    concurrent.flat().forEach((s, i) => {
      expect(s.fs).toBe(scores[i]!.fs);
      expect(s.score).toBe(scores[i]!.score);
    });
  });

  it('takes a model decoded already (decodedModel) and scores exactly as from its path; refuses other objects', async () => {
    const d2 = await createDetector({ model: decodedModel(resnetBytes), backbone: 'auto', classifier: 'energy', logger: () => {} });
    const r = await d2.score(paths.slice(0, 16));
    r.forEach((s, i) => {
      expect(s.fs).toBe(scores[i]!.fs);
      expect(s.fsTa).toBe(scores[i]!.fsTa);
      expect(s.score).toBe(scores[i]!.score);
    });
    await d2.dispose();
    await expect(createDetector({ model: { bytes: resnetBytes } as never })).rejects.toThrow(/not a path, bytes or a decoded model/);
  });

  it('refuses bad raw tensors with the input index and the fix', async () => {
    await expect(det.score([paths[0]!, { data: new Float32Array(3 * 32 * 31), shape: [3, 32, 31] }])).rejects.toThrow(/raw tensor input 1: shape \[3, 32, 31\].*\[3, 32, 32\]/);
    const nan = samples[0]!.slice(); nan[100] = NaN;
    await expect(det.score([{ data: nan, shape: [1, 3, 32, 32] }])).rejects.toThrow(/sample 0 has NaN at flat index 100/);
    await expect(det.score([{ a: 1 } as never])).rejects.toThrow(FstaError);
  });

  it('applies a calibrated threshold from a config file path', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const median = [...scores.map((s) => s.score)].sort((x, y) => x - y)[64]!;
    const file = join(mkdtempSync(join(tmpdir(), 'fsta-cfg-')), 'fsta.json');
    writeFileSync(file, JSON.stringify({ ...det.config, threshold: median }));
    const d2 = await createDetector({ model: resnetBytes, config: file, executionProviders: ['cpu'], batchSize: 64 });
    const r = await d2.score(paths);
    expect(r.map((s) => s.verdict)).toEqual(scores.map((s) => (s.score >= median ? 'ID' : 'OOD')));
    await d2.dispose();
    await expect(d2.score(paths[0]!)).rejects.toThrow(/after dispose/);
  });
});
