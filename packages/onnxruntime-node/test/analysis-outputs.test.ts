import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { featureSim, referenceOps } from '@fsta/core';
import { decodeModel, encodeModel } from '@fsta/onnx';
import { createDetector } from '../src/index.js';
import { cifarImages, modelPath } from './images.js';

const resnet = modelPath('cifar10-resnet20.onnx');
const files = cifarImages(10).map((c) => c.path);

describe('what analysis needs, from the same detector', () => {
  it('scores several k from one trunk pass, each equal to a detector opened at that k alone', async () => {
    const ks = [0.5, 0.2, 1.0];
    const multi = await createDetector({ model: resnet, k: ks[0], ks: ks.slice(1), executionProviders: ['cpu'] });
    try {
      expect(multi.ks).toEqual(ks);
      const s = await multi.score(files);
      for (const [j, k] of ks.entries()) {
        const single = await createDetector({ model: resnet, k, executionProviders: ['cpu'] });
        const t = await single.score(files);
        await single.dispose();
        t.forEach((x, i) => expect(s[i]!.fsTaByK![j]).toBeCloseTo(x.fsTa!, 6));
      }
    } finally {
      await multi.dispose();
    }
  });

  it('returns stage maps and penultimate features only when a call asks, and FS of the map is the fs output', async () => {
    const det = await createDetector({ model: resnet, expose: { stages: true, penultimate: true }, executionProviders: ['cpu'] });
    try {
      const [plain] = await det.score(files[0]!);
      expect(plain!.features).toBeUndefined();
      const [full] = await det.score(files[0]!, { include: ['stages', 'penultimate'] });
      const st = full!.features!.stages!;
      expect(st.fs.shape).toEqual([1, 64, 8, 8]);
      expect(st.ta!.shape).toEqual([1, 32, 16, 16]);
      expect(full!.features!.penultimate).toHaveLength(64);
      // Independent check: core's reference FS (float64) on the exposed map equals the in-graph fsta/fs.
      expect(featureSim(referenceOps, referenceOps.fromArray(st.fs.data, st.fs.shape)).data[0]).toBeCloseTo(full!.fs, 5);
      expect(featureSim(referenceOps, referenceOps.fromArray(st.fsTa[0]!.data, st.fsTa[0]!.shape)).data[0]).toBeCloseTo(full!.fsTa!, 5);
      const undeclared = await createDetector({ model: resnet, executionProviders: ['cpu'] });
      await expect(undeclared.score(files[0]!, { include: ['stages'] })).rejects.toThrow(/created without them.*expose: \{ stages: true \}/);
      await undeclared.dispose();
    } finally {
      await det.dispose();
    }
  });

  it('follows a model exported with a fixed batch: pads the last run, scores equal the dynamic export', async () => {
    const model = decodeModel(readFileSync(resnet));
    for (const v of [...(model.graph!.input ?? []), ...(model.graph!.output ?? [])]) {
      const d = v.type?.tensorType?.shape?.dim?.[0];
      if (d) { delete (d as { dimParam?: string }).dimParam; (d as { dimValue?: number }).dimValue = 4; }
    }
    const fixed = await createDetector({ model: encodeModel(model), executionProviders: ['cpu'] });
    const dynamic = await createDetector({ model: resnet, executionProviders: ['cpu'] });
    try {
      const a = await fixed.score(files);
      const b = await dynamic.score(files);
      expect(a).toHaveLength(10);
      a.forEach((x, i) => { expect(x.fs).toBeCloseTo(b[i]!.fs, 6); expect(x.fsTa).toBeCloseTo(b[i]!.fsTa!, 6); });
      expect(a[9]!.outputs.logits!.shape).toEqual([1, 10]);
    } finally {
      await fixed.dispose();
      await dynamic.dispose();
    }
  });

  it('prepare() decodes and preprocesses as score() does', async () => {
    const det = await createDetector({ model: resnet, executionProviders: ['cpu'] });
    try {
      const x = await det.prepare(files[3]!);
      expect(x).toHaveLength(3 * 32 * 32);
      const [viaTensor] = await det.score({ data: x, shape: [1, 3, 32, 32] });
      const [viaFile] = await det.score(files[3]!);
      expect(viaTensor!.fs).toBe(viaFile!.fs);
    } finally {
      await det.dispose();
    }
  });
});
