import type { BackboneManifest } from '../manifest.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../manifest.js';
import { childModules, firstConvWeightShape, hasModule, sameDims } from '../select.js';
import { runChecks } from './checks.js';

/**
 * CIFAR ResNet-(6n+2) (He et al. 2016; Idelbayev's pytorch_resnet_cifar10 layout): 3x3
 * stem with 16 filters, layer1…layer3 with n basic blocks each at 32/16/8 px. Its three
 * stages are named C3, C4, C5 (counting back from the last), so FS = C5 and TA = C4 mean
 * "last stage" and "the one before" as in every other family.
 */
export function cifarResnet(depth: 20 | 32 | 44 | 56 | 110): BackboneManifest {
  const n = (depth - 2) / 6;
  return {
    name: `cifar_resnet${depth}`,
    family: 'cifar-resnet',
    description: `CIFAR ResNet-${depth} (3 stages of ${n} basic blocks, 16/32/64 channels at 32/16/8 px on a 32x32 input)`,
    preprocess: { size: [32, 32], crop: 'none', mean: IMAGENET_MEAN, std: IMAGENET_STD, layout: 'NCHW', range: [0, 1] },
    stages: {
      C3: { module: 'layer1', opTypes: ['Relu'] },
      C4: { module: 'layer2', opTypes: ['Relu'] },
      C5: { module: 'layer3', opTypes: ['Relu'] },
    },
    defaults: { fsStage: 'C5', taStage: 'C4', k: 0.5 },
    head: { node: { module: 'linear', opTypes: ['Gemm'] } },
    notes:
      'Three stages only: C3 = layer1 (stride 1), C4 = layer2 (stride 2), C5 = layer3 (stride 4). FS on C5, TA on C4; ' +
      'k = 0.5 was measured best near 0.5 on the shared CIFAR-10 checkpoints. The shared checkpoints were trained with ImageNet mean/std, hence the preprocessing.',
    match: (g) =>
      runChecks(g, [
        ['a 3x3 stem Conv with weight [16, 3, 3, 3] under "/conv1/"', (gg) => sameDims(firstConvWeightShape(gg, 'conv1'), [16, 3, 3, 3])],
        ...[1, 2, 3].map((i) => [`${n} blocks under "/layer${i}/"`, (gg: typeof g) => childModules(gg, `layer${i}`).length === n] as const),
        ['no "/layer4/" module (three stages)', (gg) => !hasModule(gg, 'layer4')],
      ]),
  };
}

export const cifarResnetManifests = ([20, 32, 44, 56, 110] as const).map(cifarResnet);
