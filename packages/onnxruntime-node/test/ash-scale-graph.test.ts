import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ashScore, referenceOps as ops, scaleScore, type AshVariant, type FstaConfig } from '@fsta/core';
import { decodeModel, encodeModel, patchForConfig } from '@fsta/onnx';
import { createDetector } from '../src/index.js';
import { imagenetImages, modelPath, shared } from './images.js';

// ASH and SCALE computed inside the patched graph (core's ashScore / scaleScore emitted through
// the ONNX graph ops, on the head tensors the model's own Gemm reads), checked against the
// authors' code in PyTorch on the same images (tools/fixtures/graph_ash_scale_resnet20.py)
// and against core's float64 reference on the penultimate features the same run exposes.
const fx = JSON.parse(readFileSync(new URL('./fixtures/ash-scale-resnet20.json', import.meta.url), 'utf8')) as { files: string[]; scores: Record<string, number[]> };
const files = fx.files.map((f) => join(shared, f));
const resnet = modelPath('cifar10-resnet20.onnx');

const config = (over: Partial<FstaConfig>): FstaConfig => ({ version: 1, backbone: 'auto', fsStage: 'C5', taStage: 'C4', k: 0.5, featureScore: 'fs_ta', classifier: null, lambda: 0.25, temperature: 1, threshold: null, targetTpr: null, ...over });

/** |a − b| ≤ tol·max(1, |b|): relative for the large ASH-S energies, absolute near 0. */
const close = (a: number, b: number, tol: number, what: string) => expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

async function check(cfg: FstaConfig, expected: number[], model = resnet, inputs = files) {
  const det = await createDetector({ model, config: cfg, expose: { penultimate: true }, executionProviders: ['cpu'] });
  try {
    const which = cfg.classifier as 'ash' | 'scale';
    const s = await det.score(inputs, { include: ['penultimate'] });
    const d = s[0]!.features!.penultimate!.length;
    const pen = ops.fromArray(Float32Array.from(s.flatMap((x) => Array.from(x.features!.penultimate!))), [s.length, d]);
    const head = det.model.head!;
    const o = det.config[which]!;
    const ref = Array.from(await ops.read(which === 'ash' ? ashScore(ops, pen, head, o as { variant: AshVariant; percentile: number }) : scaleScore(ops, pen, head, o)));
    s.forEach((x, i) => {
      close(x.classifier[which]!, ref[i]!, 1e-5, `${which} ${JSON.stringify(o)} image ${i} vs core reference`);
      if (expected.length) close(x.classifier[which]!, expected[i]!, 1e-5, `${which} ${JSON.stringify(o)} image ${i} vs PyTorch`);
      close(x.score, x.fsTa! + cfg.lambda * x.classifier[which]!, 1e-6, 'fused score');
    });
    return { det: det.config, scores: s };
  } finally {
    await det.dispose();
  }
}

describe('ASH and SCALE inside the patched graph, CIFAR ResNet-20 (20 CIFAR-10 + 4 Textures images)', () => {
  for (const pct of [65, 90]) for (const variant of ['p', 'b', 's'] as const) {
    it(`ASH-${variant.toUpperCase()} at p${pct} equals PyTorch (authors' code) and core's reference to 1e-5`, async () => {
      const { det } = await check(config({ classifier: 'ash', ash: { variant, percentile: pct } }), fx.scores[`ash-${variant}${pct}`]!);
      expect(det.ash).toEqual({ variant, percentile: pct });
    });
  }
  for (const pct of [70, 85]) {
    it(`SCALE at p${pct} equals PyTorch (authors' code) and core's reference to 1e-5`, async () => {
      await check(config({ classifier: 'scale', scale: { percentile: pct } }), fx.scores[`scale${pct}`]!);
    });
  }

  it('a config without ash/scale settings runs the defaults fsta eval scores (ASH-S p90, SCALE p85), and records them', async () => {
    const a = await check(config({ classifier: 'ash' }), fx.scores['ash-s90']!);
    expect(a.det.ash).toEqual({ variant: 's', percentile: 90 });
    const s = await check(config({ classifier: 'scale' }), fx.scores.scale85!);
    expect(s.det.scale).toEqual({ percentile: 85 });
  });

  it('refuses bad ASH/SCALE settings, and fDBD, with what to do', async () => {
    const open = (over: Partial<FstaConfig> | Record<string, unknown>) => createDetector({ model: resnet, config: config(over as Partial<FstaConfig>), executionProviders: ['cpu'] });
    await expect(open({ classifier: 'ash', ash: { variant: 'x', percentile: 90 } })).rejects.toThrow(/"ash.variant" must be one of "p", "b", "s"/);
    await expect(open({ classifier: 'ash', ash: { variant: 's', percentile: 100 } })).rejects.toThrow(/"ash.percentile" must be a percentile in \[0, 100\)/);
    await expect(open({ classifier: 'ash', ash: { variant: 's' } })).rejects.toThrow(/"ash.percentile" must be a percentile/);
    await expect(open({ classifier: 'ash', ash: { variant: 's', percentile: 90, k: 3 } })).rejects.toThrow(/"ash" has unknown key "k"/);
    await expect(open({ classifier: 'scale', scale: 85 })).rejects.toThrow(/"scale" must be an object with "percentile"/);
    // 64 features: p99.5 keeps 64 − round(63.68) = 0 of them.
    await expect(open({ classifier: 'scale', scale: { percentile: 99.5 } })).rejects.toThrow(/SCALE at percentile 99.5 keeps no activation out of 64.*lower the percentile/);
    await expect(open({ classifier: 'fdbd' })).rejects.toThrow(/"fdbd" cannot be computed inside the ONNX graph.*fsta eval/);
  });
});

describe('ASH and SCALE on int8-weight MobileNetV2 (head weights behind DequantizeLinear)', () => {
  const images = imagenetImages(4).map((i) => i.path);
  it('the host head is the dequantized weight (equal to the float model’s), and the graph scores equal core’s reference and the float model', async () => {
    const int8 = modelPath('imagenet-mobilenetv2-int8w.onnx');
    const float = modelPath('imagenet-mobilenetv2.onnx');
    for (const classifier of ['ash', 'scale'] as const) {
      const cfg = config({ backbone: 'auto', fsStage: 'C5', taStage: 'C4', classifier });
      const q = await check(cfg, [], int8, images);
      const f = await check(cfg, [], float, images);
      // "same logits within 3e-5" (shared/README.md); ASH-S multiplies the logits by exp(Σh / Σkept h).
      q.scores.forEach((x, i) => close(x.classifier[classifier]!, f.scores[i]!.classifier[classifier]!, 1e-4, `${classifier} int8 vs float image ${i}`));
    }
    const [dq, df] = [await createDetector({ model: int8, executionProviders: ['cpu'] }), await createDetector({ model: float, executionProviders: ['cpu'] })];
    const [wq, wf] = [dq.model.head!.weight.data, df.model.head!.weight.data];
    await dq.dispose(); await df.dispose();
    let worst = 0;
    for (let i = 0; i < wf.length; i++) worst = Math.max(worst, Math.abs(wq[i]! - wf[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  it('a file fsta patch wrote runs with its in-graph SCALE as it was patched (its head found again from the metadata)', async () => {
    const bytes = readFileSync(modelPath('imagenet-mobilenetv2-int8w.onnx'));
    const p = patchForConfig(decodeModel(bytes), { backbone: 'auto', classifier: 'scale', lambda: 0.1, scale: { percentile: 80 } });
    const fromFile = await createDetector({ model: encodeModel(p.model), executionProviders: ['cpu'] });
    const direct = await createDetector({ model: bytes, backbone: 'auto', classifier: 'scale', lambda: 0.1, scale: { percentile: 80 }, executionProviders: ['cpu'] });
    try {
      expect(fromFile.config.scale).toEqual({ percentile: 80 });
      const [a, b] = [await fromFile.score(images), await direct.score(images)];
      a.forEach((x, i) => { expect(x.classifier.scale).toBe(b[i]!.classifier.scale); expect(x.score).toBe(b[i]!.score); });
      expect(Array.from(fromFile.model.head!.weight.data).slice(0, 100)).toEqual(Array.from(direct.model.head!.weight.data).slice(0, 100));
    } finally {
      await fromFile.dispose();
      await direct.dispose();
    }
  });
});
