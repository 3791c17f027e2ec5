import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FstaError } from '@fsta/core';
import { backboneNames, detectHead, detectStages, findBackbone, getManifest, isNonNegative, isUnder, requireStage, resolveStages, STAGE_NAMES } from '@fsta/backbones';
import type { GraphView } from '@fsta/backbones';
import { loadWithShapes } from './helpers/runtime.js';
import type { LoadedModel } from './helpers/runtime.js';
import { CACHE, SHARED } from './models.js';

beforeAll(() => {
  execFileSync('node', [fileURLToPath(new URL('../../../tools/ensure-models.mjs', import.meta.url))], { stdio: 'inherit' });
}, 600_000);

const resolveHeadByName = (g: GraphView, name: string) => findBackbone(g, name).head;

const strides = (g: GraphView) => {
  const st = detectStages(g);
  return Object.fromEntries(STAGE_NAMES.filter((s) => st[s]).map((s) => [s, [st[s]!.stride, st[s]!.shape[1]]]));
};

describe('automatic stage detection (no manifest)', () => {
  const models: Record<string, LoadedModel> = {};
  beforeAll(async () => {
    models.resnet18 = await loadWithShapes(`${CACHE}/resnet18.onnx`, [1, 3, 224, 224]);
    models.densenet = await loadWithShapes(`${CACHE}/densenet121.onnx`, [1, 3, 224, 224]);
    models.fcn = await loadWithShapes(`${CACHE}/fcn_resnet50.onnx`, [1, 3, 224, 224]);
    models.cifar = await loadWithShapes(`${SHARED}/cifar10-resnet20.onnx`, [1, 3, 32, 32]);
    models.mbv2 = await loadWithShapes(`${SHARED}/imagenet-mobilenetv2-int8w.onnx`, [1, 3, 224, 224]);
  });

  it('finds C2…C5 at strides 4/8/16/32 on ResNet-18, the same tensors as the manifest', () => {
    expect(strides(models.resnet18!.graph)).toEqual({ C2: [4, 64], C3: [8, 128], C4: [16, 256], C5: [32, 512] });
    const d = detectStages(models.resnet18!.graph);
    const m = resolveStages(models.resnet18!.graph, getManifest('resnet18'));
    for (const s of STAGE_NAMES) expect(d[s]!.tensor).toBe(m[s]!.tensor);
  });

  it('on DenseNet-121 picks the transition ReLUs (non-negative), as the manifest does', () => {
    expect(strides(models.densenet!.graph)).toEqual({ C2: [4, 256], C3: [8, 512], C4: [16, 1024], C5: [32, 1024] });
    const d = detectStages(models.densenet!.graph);
    const m = resolveStages(models.densenet!.graph, getManifest('densenet121'));
    for (const s of STAGE_NAMES) expect(d[s]!.tensor).toBe(m[s]!.tensor);
  });

  it('splits the dilated FCN trunk by channels: C5 at stride 8', () => {
    expect(strides(models.fcn!.graph)).toEqual({ C2: [4, 256], C3: [8, 512], C4: [8, 1024], C5: [8, 2048] });
  });

  it('names a CIFAR ResNet\'s three stages C3, C4, C5 and finds MobileNetV2\'s activation stages', () => {
    expect(strides(models.cifar!.graph)).toEqual({ C3: [1, 16], C4: [2, 32], C5: [4, 64] });
    const d = detectStages(models.mbv2!.graph);
    const m = resolveStages(models.mbv2!.graph, getManifest('mobilenet_v2'));
    for (const s of ['C3', 'C4', 'C5'] as const) expect(d[s]!.tensor).toBe(m[s]!.tensor);
  });

  it('finds the classifier head of a model no manifest matches: the one Gemm that is a graph output', () => {
    const g = models.cifar!.graph;
    const head = detectHead(g);
    expect(head).toEqual(resolveHeadByName(g, 'cifar_resnet20'));
    expect(head!.weightShape).toEqual([10, 64]);
    // Without the Gemm as a graph output there is no head to find.
    expect(detectHead({ ...g, outputs: [] })).toBeNull();
  });

  it('MobileNetV2 block outputs are linear (signed); the manifest\'s TA stage is an activation', () => {
    const g = models.mbv2!.graph;
    const blockOut = g.nodes.find((n) => n.name === '/features/features.13/Add')!;
    expect(isNonNegative(g, blockOut.outputs[0]!)).toBe(false);
    expect(findBackbone(g).stages.C4!.nonNegative).toBe(true);
  });

  describe('errors', () => {
    const catchErr = (fn: () => unknown): FstaError => {
      try {
        fn();
      } catch (e) {
        return e as FstaError;
      }
      throw new Error('expected an FstaError');
    };

    it('unknown backbone name lists the known ones', () => {
      const e = catchErr(() => findBackbone(models.resnet18!.graph, 'resnet19'));
      expect(e).toBeInstanceOf(FstaError);
      expect(e.code).toBe('UNKNOWN_BACKBONE');
      expect(e.message).toContain('unknown backbone "resnet19"');
      for (const n of backboneNames()) expect(e.message).toContain(n);
    });

    it('a manifest that does not match says which check or selector failed', () => {
      const e = catchErr(() => findBackbone(models.resnet18!.graph, 'resnet50'));
      expect(e.code).toBe('BACKBONE_MISMATCH');
      expect(e.message).toContain('3 blocks under "/layer1/"');
      const e2 = catchErr(() => resolveStages(models.cifar!.graph, getManifest('resnet18')));
      expect(e2.code).toBe('BACKBONE_MISMATCH');
      expect(e2.message).toContain('stage C5 (last node under module "/layer4/" with op Relu) failed: no node under module "/layer4/"');
    });

    it('a Wide ResNet or ResNeXt (ResNet block counts, a wider or grouped 3x3 conv) is not named ResNet', () => {
      const g = models.resnet18!.graph;
      const conv = g.nodes.find((n) => n.opType === 'Conv' && n.name.startsWith('/layer1/layer1.0/conv1/'))!;
      const shapes = new Map(g.shapes);
      shapes.set(conv.inputs[1]!, [128, 64, 3, 3]);
      const wide: GraphView = { ...g, shapes };
      const e = catchErr(() => findBackbone(wide, 'resnet18'));
      expect(e.code).toBe('BACKBONE_MISMATCH');
      expect(e.message).toContain('(not a Wide ResNet or ResNeXt)');
      expect(findBackbone(wide).manifest).toBeNull();
    });

    it('a requested stage that does not exist lists the available ones', () => {
      const e = catchErr(() => requireStage(findBackbone(models.cifar!.graph), 'C2'));
      expect(e.code).toBe('UNKNOWN_STAGE');
      expect(e.message).toContain('stage "C2" does not exist');
      expect(e.message).toContain('use one of C3, C4, C5');
    });

    it('a model with no convolutional stages', () => {
      const mlp: GraphView = {
        nodes: [
          { name: '/fc1/Gemm', opType: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'] },
          { name: '/relu/Relu', opType: 'Relu', inputs: ['h'], outputs: ['y'] },
        ],
        inputs: ['x'],
        outputs: ['y'],
        initializerNames: new Set(['w1', 'b1']),
        shapes: new Map([['x', [-1, 3, 32, 32]], ['w1', [10, 3072]], ['b1', [10]], ['h', [-1, 10]], ['y', [-1, 10]]]),
      };
      const e = catchErr(() => findBackbone(mlp));
      expect(e.code).toBe('NO_CONV_STAGES');
      expect(e.message).toContain('it has no Conv node');
      const e2 = catchErr(() => detectStages({ ...mlp, inputs: [], shapes: new Map() }));
      expect(e2.message).toContain('no image input');
    });
  });
});

describe('module paths', () => {
  it('match on the module path prefix, not the full node name', () => {
    expect(isUnder('/backbone/body/layer3/layer3.5/relu_2/Relu', 'backbone/body/layer3')).toBe(true);
    expect(isUnder('/backbone/body/layer3/layer3.5/relu_2/Relu', 'layer3')).toBe(false);
    expect(isUnder('/layer3/layer3.5/Relu_2', 'layer3')).toBe(true);
    expect(isUnder('/layer30/Relu', 'layer3')).toBe(false);
    expect(isUnder('/layer3', 'layer3')).toBe(false);
  });
});
