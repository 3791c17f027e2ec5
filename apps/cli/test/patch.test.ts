import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { preprocessPixels, stackBatch } from '@fsta/core';
import { decodeImage } from '@fsta/onnxruntime-node';
import { DEMO, runCli } from './helpers.js';
import { readManifestFile } from '../src/engine/model.js';

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

describe('fsta patch: the patched model', () => {
  it('adds fsta/fs and fsta/fs_ta equal to PyTorch\'s FS and FS+TA on the same PNGs, logits unchanged', async () => {
    const out = join(tmp, 'patched.onnx');
    const ref = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'demo-reference-scores.json'), 'utf8')) as { k: number; images: { file: string; fs: number; fsTa: number }[] };
    const r = await runCli(['patch', model, '-o', out, '--manifest', manifest, '--fs-stage', 'C5', '--ta-stage', 'C4', '--k', String(ref.k)]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`manifest ${manifest}`);
    expect(statSync(out).size).toBeGreaterThan(statSync(model).size);
    const pre = readManifestFile(manifest).preprocess;
    const picked = ref.images.filter((_, i) => i % 97 === 0);
    const batch = stackBatch(await Promise.all(picked.map(async (p, i) => preprocessPixels(await decodeImage(join(DEMO, p.file), i), pre, i))), [3, 32, 32]);
    const run = async (path: string) => {
      const session = await ort.InferenceSession.create(path);
      try { return await session.run({ input: new ort.Tensor('float32', batch.data, batch.shape) }); } finally { await session.release(); }
    };
    const got = await run(out);
    const original = await run(model);
    picked.forEach((p, i) => {
      expect((got['fsta/fs']!.data as Float32Array)[i]).toBeCloseTo(p.fs, 5);
      expect((got['fsta/fs_ta']!.data as Float32Array)[i]).toBeCloseTo(p.fsTa, 5);
    });
    expect(Array.from(got.logits!.data as Float32Array)).toEqual(Array.from(original.logits!.data as Float32Array));
  });
});
