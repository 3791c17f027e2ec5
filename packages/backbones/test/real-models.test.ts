import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { decodeModel } from '@fsta/onnx';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findBackbone, getManifest, resolveStages, STAGE_NAMES } from '@fsta/backbones';
import type { BackboneResolution } from '@fsta/backbones';
import { loadWithShapes, runWithOutputs } from './helpers/runtime.js';
import type { LoadedModel } from './helpers/runtime.js';
import { EXPORTED_MODELS, SHARED_MODELS, sidecar } from './models.js';
import type { ModelCase } from './models.js';

beforeAll(() => {
  // The torchvision exports live in a git-ignored cache; make them if missing.
  execFileSync('node', [fileURLToPath(new URL('../../../tools/ensure-models.mjs', import.meta.url))], { stdio: 'inherit' });
}, 600_000);

const shortName = (f: string) => f.split('/').pop()!;

function suite(c: ModelCase) {
  describe(shortName(c.file), () => {
    let m: LoadedModel;
    let r: BackboneResolution;
    beforeAll(async () => {
      m = await loadWithShapes(c.file, c.inputShape, c.dynamicBatch);
      r = findBackbone(m.graph, 'auto');
    });

    it(`is recognized as ${c.manifest} and resolves its stages to tensors of the architecture's shapes`, () => {
      expect(r.manifest?.name).toBe(c.manifest);
      const got = Object.fromEntries(STAGE_NAMES.filter((s) => r.stages[s]).map((s) => [s, [...r.stages[s]!.shape]]));
      expect(got).toEqual(c.stages);
      for (const s of Object.values(r.stages)) expect(s.nonNegative).toBe(true);
      expect(r.stages[r.defaults.fsStage]).toBeDefined();
      expect(r.stages[r.defaults.taStage!]).toBeDefined();
      // By name gives the same as 'auto'.
      expect(findBackbone(m.graph, c.manifest).stages).toEqual(r.stages);
    });

    it('stage tensors, exposed as outputs, run in onnxruntime-node with those shapes and are ≥ 0', async () => {
      const tensors = Object.values(r.stages).map((s) => s.tensor);
      const outs = await runWithOutputs(m.model, tensors, c.inputShape);
      for (const [name, shape] of Object.entries(c.stages)) {
        const o = outs[r.stages[name as 'C5']!.tensor]!;
        expect([...o.dims]).toEqual(shape.map((d) => (d === -1 ? 1 : d)));
        let min = Infinity;
        for (let i = 0; i < o.data.length; i++) min = Math.min(min, Number(o.data[i]));
        expect(min).toBeGreaterThanOrEqual(0);
      }
    });

    it(c.head ? 'resolves the classifier head (Gemm weight [classes, D], logits = graph output)' : 'has no classifier head', () => {
      if (!c.head) return expect(r.head).toBeNull();
      expect(r.head).not.toBeNull();
      expect([...r.head!.weightShape]).toEqual(c.head);
      expect(m.graph.outputs).toContain(r.head!.logits);
      expect(m.graph.shapes.get(r.head!.penultimate)?.[1]).toBe(c.head[1]);
    });
  });
}

describe.skipIf(!existsSync(SHARED_MODELS[0]!.file))('models in ../shared/models', () => SHARED_MODELS.forEach(suite));
describe('torchvision exports (tools/export_torchvision.py)', () => {
  EXPORTED_MODELS.forEach(suite);

  it('onnxruntime-node reproduces torch\'s outputs on the probe input (sidecar JSON)', async () => {
    for (const c of EXPORTED_MODELS.filter((x) => x.dynamicBatch)) {
      const model = decodeModel(readFileSync(c.file));
      const meta = sidecar(c.file);
      const name = meta.outputs[0].name as string;
      const outs = await runWithOutputs(model, [], c.inputShape);
      const first = Array.from(outs[name]!.data as Float32Array).slice(0, 8);
      const want = meta.probe.outputs[name].first as number[];
      first.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i]!))));
    }
  });

  it('the FCN trunk is dilated: C3, C4 and C5 share stride 8; Faster R-CNN C4/C5 sit inside the full detector', async () => {
    const fcn = await loadWithShapes(EXPORTED_MODELS[3]!.file, [1, 3, 224, 224]);
    const st = resolveStages(fcn.graph, getManifest('fcn_resnet50'));
    expect([st.C2!.stride, st.C3!.stride, st.C4!.stride, st.C5!.stride]).toEqual([4, 8, 8, 8]);
    const frcnn = await loadWithShapes(EXPORTED_MODELS[4]!.file, [3, 320, 320], false);
    const fr = resolveStages(frcnn.graph, getManifest('fasterrcnn_resnet50_fpn'));
    expect(fr.C4!.node).toMatch(/^\/backbone\/body\/layer3\//);
    expect(fr.C5!.node).toMatch(/^\/backbone\/body\/layer4\//);
    expect(frcnn.graph.outputs).toEqual(['boxes', 'labels', 'scores']);
  });
});
