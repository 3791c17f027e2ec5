import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { preprocessPixels, stackBatch } from '@fsta/core';
import { DEMO, runCli } from './helpers.js';
import { specFromManifest } from '../src/engine/spec.js';
import { FeatureRunner } from '../src/engine/runner.js';
import { decodeImage } from '../src/decode.js';

const tmp = mkdtempSync(join(tmpdir(), 'fsta-patch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'model.onnx');
copyFileSync(join(DEMO, 'model.onnx'), model);
const manifest = join(DEMO, 'demo.json');

describe('fsta patch: safe writes', () => {
  it('refuses to overwrite its input, even with --force', async () => {
    const before = readFileSync(model);
    const r = await runCli(['patch', model, '-o', model, '--force', '--manifest', manifest]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is the input file itself/);
    expect(readFileSync(model).equals(before)).toBe(true);
  });

  it('refuses an existing output without --force and leaves it untouched', async () => {
    const out = join(tmp, 'exists.onnx');
    writeFileSync(out, 'keep me');
    const r = await runCli(['patch', model, '-o', out, '--manifest', manifest]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/already exists\. Fix: pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
  });

  it('rejects k < 0 and a missing input with one line', async () => {
    let r = await runCli(['patch', model, '-o', join(tmp, 'x.onnx'), '--k=-0.5']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--k must be a number ≥ 0/);
    r = await runCli(['patch', join(tmp, 'nope.onnx'), '-o', join(tmp, 'x.onnx')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read model .*nope\.onnx/);
  });
});

// Needs @fsta/onnx's prepareDetectorModel (patchModel) exported; fails until then.
describe('fsta patch: the patched model', () => {
  it('adds fsta/fs and fsta/fs_ta that equal the CLI runner\'s FS and FS+TA, logits unchanged', async () => {
    const out = join(tmp, 'patched.onnx');
    const r = await runCli(['patch', model, '-o', out, '--manifest', manifest, '--fs-stage', 'C5', '--ta-stage', 'C4', '--k', '0.5']);
    expect(r.code, r.err).toBe(0);
    expect(statSync(out).size).toBeGreaterThan(statSync(model).size);
    const spec = specFromManifest(model, manifest);
    const files = ['images/id/0-t-shirt/000.png', 'images/id/7-sneaker/003.png', 'images/ood/mnist/3-01.png', 'images/ood/uniform/004.png'].map((f) => join(DEMO, f));
    const batch = stackBatch(await Promise.all(files.map(async (f, i) => preprocessPixels(await decodeImage(f), spec.preprocess, i))), [3, 32, 32]);
    const session = await ort.InferenceSession.create(out);
    const got = await session.run({ input: new ort.Tensor('float32', batch.data, batch.shape) });
    await session.release();
    const runner = await FeatureRunner.open(spec, { fsStage: 'C5', taStage: 'C4' });
    const b = await runner.run(batch.data, files.length);
    const fs = FeatureRunner.fs(b.fsMap), fsTa = await runner.fsTa(b, 0.5);
    await runner.dispose();
    for (let i = 0; i < files.length; i++) {
      expect((got['fsta/fs']!.data as Float32Array)[i]).toBeCloseTo(fs[i]!, 5);
      expect((got['fsta/fs_ta']!.data as Float32Array)[i]).toBeCloseTo(fsTa[i]!, 5);
    }
    expect(Array.from(got.logits!.data as Float32Array)).toEqual(Array.from(b.logits));
  });
});
