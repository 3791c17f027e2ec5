import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { defaultConfig } from '@fsta/core';
import { decodeModel, patchForConfig } from '@fsta/onnx';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs tools script without type declarations
import { checkModel, FAMILY_DIR, MATRIX_JSON } from '../../../tools/family-matrix.mjs';

/**
 * A representative subset of the family matrix (docs/backbones.md, tools/family-matrix.mjs):
 * a conv-classifier head at stride 16 (SqueezeNet), hardswish and SiLU stages where TA has
 * no non-negative tensor (MobileNetV3, EfficientNet), channel shuffles (ShuffleNetV2), a
 * dilated segmenter (LR-ASPP) and a detector whose static shapes stop at its resize
 * (Faster R-CNN MobileNetV3-FPN). Each must be right: C5 is PyTorch's C5, fsta/fs equals
 * PyTorch's FS within 1e-4, the outputs are bit-identical after patching, and the stages are
 * those the committed matrix documents.
 */
const SUBSET = ['squeezenet1_1', 'mobilenet_v3_small', 'efficientnet_b0', 'shufflenet_v2_x0_5', 'lraspp_mobilenet_v3_large', 'fasterrcnn_mobilenet_v3_large_fpn'];

beforeAll(() => {
  const python = process.env['FSTA_PYTHON'] ?? '/usr/bin/python3';
  const script = fileURLToPath(new URL('../../../tools/family_matrix.py', import.meta.url));
  execFileSync(python, [script, '--only', ...SUBSET], { stdio: ['ignore', 'inherit', 'ignore'] });
}, 600_000);

interface Row {
  model: string;
  status: string;
  stages?: { name: string; shape: number[]; stride: number; nonNegative: boolean }[];
  ta?: { stage: string; warning: string | null } | null;
  problems?: string[];
}
const documented: Row[] = JSON.parse(readFileSync(MATRIX_JSON, 'utf8')).rows;

describe('family matrix subset (tools/family_matrix.py → tools/family-matrix.mjs)', () => {
  for (const name of SUBSET) {
    it(`${name}: right, and as docs/backbones.md documents it`, async () => {
      const row: Row = await checkModel(FAMILY_DIR, name);
      expect(row.problems ?? []).toEqual([]);
      expect(row.status).toBe('right');
      const doc = documented.find((r) => r.model === name)!;
      const strip = (r: Row) => r.stages!.map(({ name: n, shape, stride, nonNegative }) => ({ n, shape, stride, nonNegative }));
      expect(strip(row)).toEqual(strip(doc));
      expect(row.ta?.stage).toBe(doc.ta?.stage);
      expect(Boolean(row.ta?.warning)).toBe(Boolean(doc.ta?.warning));
    }, 180_000);
  }
});

describe('stages of the subset, as the detector path uses them', () => {
  const load = (name: string) => decodeModel(readFileSync(`${FAMILY_DIR}/${name}.onnx`));

  it('TA on a signed stage (MobileNetV3 hardswish) comes back as a warning to print', () => {
    const p = patchForConfig(load('mobilenet_v3_small'), {});
    expect(p.backbone.ta?.stage).toBe('C4');
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toMatch(/^the TA stage C4 \(".+"\) is signed and has no non-negative tensor at its resolution: TA there is ReLU\(f − k\)/);
    // ReLU stages (ShuffleNetV2) carry none.
    expect(patchForConfig(load('shufflenet_v2_x0_5'), {}).warnings).toEqual([]);
  });

  it('SqueezeNet\'s conv classifier is a head: msp/energy are computed from its logits, linear-head scores are not offered', () => {
    const p = patchForConfig(load('squeezenet1_1'), { classifier: 'energy' });
    expect(p.model.graph!.output!.map((o) => o.name)).toEqual(['logits', 'fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/score']);
    expect(p.backbone.head).toMatchObject({ logits: 'logits', weightShape: [1000, 512, 1, 1], weightInitializer: null });
  });

  it('a config names its stages by tensor; a misspelt one gets the nearest names', () => {
    const model = load('squeezenet1_1');
    const auto = patchForConfig(model, {});
    const c4 = auto.backbone.stages.C4!.tensor;
    const byName = patchForConfig(load('squeezenet1_1'), { config: defaultConfig({ fsStage: auto.backbone.stages.C5!.tensor, taStage: c4, k: 1, featureScore: 'fs_ta' }) });
    expect(byName.config.fsStage).toBe(auto.backbone.stages.C5!.tensor);
    expect(byName.model.graph!.output!.map((o) => o.name)).toContain('fsta/fs_ta');
    expect(() => patchForConfig(load('squeezenet1_1'), { config: defaultConfig({ fsStage: `${c4}x`, taStage: null, featureScore: 'fs' }) })).toThrow(new RegExp(`nearest: "${c4.replace(/[/.]/g, '\\$&')}"`));
    // The input image is not a stage.
    expect(() => patchForConfig(load('squeezenet1_1'), { config: defaultConfig({ fsStage: 'input', taStage: null, featureScore: 'fs' }) })).toThrow(/the stage tensor "input" is a model input/);
  });
});
