import type { BackboneManifest, StageName, StageSelector } from '../manifest.js';
import { imagenetPreprocess } from '../manifest.js';
import { childModules, firstConvWeightShape, hasModule, sameDims } from '../select.js';
import type { Check } from './checks.js';
import { runChecks, under } from './checks.js';

const BLOCKS: Record<number, readonly [number, number, number, number]> = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
};

/** C2…C5 = outputs of layer1…layer4 (the final ReLU of each stage's last block). */
export const resnetStages = (root: string): Record<StageName, StageSelector> => ({
  C2: { module: under(root, 'layer1'), opTypes: ['Relu'] },
  C3: { module: under(root, 'layer2'), opTypes: ['Relu'] },
  C4: { module: under(root, 'layer3'), opTypes: ['Relu'] },
  C5: { module: under(root, 'layer4'), opTypes: ['Relu'] },
});

/**
 * Structural checks for a torchvision ResNet trunk under module `root`: 7x7 stride-2 stem
 * conv1 with 64 filters, layer1…layer4 with the variant's block counts, and bottleneck
 * blocks (conv3) exactly for depth ≥ 50.
 */
export const resnetTrunkChecks = (root: string, depth: number): Check[] => {
  const blocks = BLOCKS[depth]!;
  const bottleneck = depth >= 50;
  return [
    [`a 7x7 stem Conv with weight [64, 3, 7, 7] under "/${under(root, 'conv1')}/"`, (g) => sameDims(firstConvWeightShape(g, under(root, 'conv1')), [64, 3, 7, 7])],
    ...[1, 2, 3, 4].map((i): Check => [`${blocks[i - 1]} blocks under "/${under(root, `layer${i}`)}/"`, (g) => childModules(g, under(root, `layer${i}`)).length === blocks[i - 1]]),
    [`no "/${under(root, 'layer5')}/" module`, (g) => !hasModule(g, under(root, 'layer5'))],
    [bottleneck ? 'bottleneck blocks (a conv3 in layer1.0)' : 'basic blocks (no conv3 in layer1.0)', (g) => hasModule(g, under(root, 'layer1/layer1.0/conv3')) === bottleneck],
    // Wide ResNet (width 128) and ResNeXt (width 128 in 32 groups: [128, 4, 3, 3]) share the block counts: tell them apart by the 3x3 conv.
    [`a plain ResNet's 3x3 conv in layer1.0 with weight [64, 64, 3, 3] (not a Wide ResNet or ResNeXt)`, (g) => sameDims(firstConvWeightShape(g, under(root, `layer1/layer1.0/${bottleneck ? 'conv2' : 'conv1'}`)), [64, 64, 3, 3])],
  ];
};

export function torchvisionResnet(depth: keyof typeof BLOCKS): BackboneManifest {
  return {
    name: `resnet${depth}`,
    family: 'torchvision-resnet',
    description: `torchvision ResNet-${depth} classifier (ImageNet layout: 7x7 stem, layer1…layer4 at strides 4/8/16/32, avgpool, fc)`,
    preprocess: imagenetPreprocess(),
    stages: resnetStages(''),
    defaults: { fsStage: 'C5', taStage: 'C4', k: 0.2 },
    head: { node: { module: 'fc', opTypes: ['Gemm'] } },
    notes:
      depth === 50
        ? 'k = 0.2 at layer3 (C4) is the paper\'s ImageNet ResNet-50 setting.'
        : `k = 0.2 is carried over from the paper's ResNet-50 setting (same stage layout and BN+ReLU activation scale); not measured for ResNet-${depth}: calibrate k on ID data.`,
    match: (g) => runChecks(g, [...resnetTrunkChecks('', depth), ['a classifier Gemm under "/fc/"', (gg) => gg.nodes.some((n) => n.opType === 'Gemm' && n.name.startsWith('/fc/'))]]),
  };
}

export const resnetManifests = ([18, 34, 50, 101, 152] as const).map(torchvisionResnet);
