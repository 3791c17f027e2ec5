import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDetector } from '@fsta/onnxruntime-node';
import { runCli } from './helpers.js';

const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const model = join(SHARED, 'models', 'cifar10-resnet20.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'fsta-manifest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const images = ['airplane/0010.png', 'cat/0000.png', 'truck/0020.png'].map((f) => join(SHARED, 'data', 'cifar10-test-png-1k', f));
const lines = (out: string) => out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { fs: number; fsTa: number });

describe('a manifest written by fsta inspect', () => {
  const out = join(tmp, 'r20.json');
  it('is taken unchanged by score, patch and createDetector, with the same scores as the built-in backbone', async () => {
    const w = await runCli(['inspect', model, '--write-manifest', out]);
    expect(w.code, w.err).toBe(0);
    const m = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(m.stages)).toEqual(['C3', 'C4', 'C5']);
    expect(m.guessed).toEqual([]);
    const viaManifest = await runCli(['score', '--model', model, '--manifest', out, ...images]);
    const viaBackbone = await runCli(['score', '--model', model, ...images]);
    expect(viaManifest.code, viaManifest.err).toBe(0);
    expect(lines(viaManifest.out)).toEqual(lines(viaBackbone.out));
    const det = await createDetector({ model, manifest: out, executionProviders: ['cpu'] });
    try {
      const s = await det.score(images);
      s.forEach((x, i) => expect(x.fs).toBeCloseTo(lines(viaManifest.out)[i]!.fs, 6));
      expect(det.model.backbone.source).toBe(`manifest ${out}`);
    } finally {
      await det.dispose();
    }
    const p = await runCli(['patch', model, '--manifest', out, '-o', join(tmp, 'p.onnx')]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toContain(`manifest ${out}`);
  });

  it('is refused, naming the tensor, when it does not fit the model', async () => {
    const m = JSON.parse(readFileSync(out, 'utf8'));
    m.stages.C5.tensor = '/layer9/Relu_output_0';
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify(m));
    const r = await runCli(['score', '--model', model, '--manifest', bad, images[0]!]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/names "\/layer9\/Relu_output_0" as stage C5, but no node of this model produces it/);
  });

  it('refuses manifests with bad preprocessing before any image is read', async () => {
    const m = JSON.parse(readFileSync(out, 'utf8'));
    for (const [field, value, msg] of [['size', [16000, 16000], /preprocess\.size/], ['std', [0.2, 0, 0.2], /preprocess\.std/], ['crop', 'middle', /preprocess\.crop/]] as const) {
      const bad = join(tmp, `bad-${field}.json`);
      writeFileSync(bad, JSON.stringify({ ...m, preprocess: { ...m.preprocess, [field]: value } }));
      const r = await runCli(['score', '--model', model, '--manifest', bad, ...images]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
  });
});
