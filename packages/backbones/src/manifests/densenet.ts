import type { BackboneManifest } from '../manifest.js';
import { imagenetPreprocess } from '../manifest.js';
import { childModules, firstConvWeightShape, hasModule, sameDims } from '../select.js';
import type { Check } from './checks.js';
import { runChecks } from './checks.js';

const LAYERS = [6, 12, 24, 16];

/**
 * torchvision DenseNet-121. A dense block's output (a Concat) is signed; the transition
 * that follows applies BN + ReLU first, so the transition's ReLU is the block's output in
 * non-negative form, at the same resolution: C2…C4 are those ReLUs, C5 the ReLU torch
 * applies after norm5 (a functional F.relu, exported as a root-level `/Relu` node).
 */
export const densenet121: BackboneManifest = {
  name: 'densenet121',
  family: 'torchvision-densenet',
  description: 'torchvision DenseNet-121 (denseblock1…4 of 6/12/24/16 layers, transitions, norm5, classifier)',
  preprocess: imagenetPreprocess(),
  stages: {
    C2: { module: 'features/transition1', opTypes: ['Relu'] },
    C3: { module: 'features/transition2', opTypes: ['Relu'] },
    C4: { module: 'features/transition3', opTypes: ['Relu'] },
    C5: { module: 'features/norm5', then: ['Relu'] },
  },
  defaults: { fsStage: 'C5', taStage: 'C4', k: 0.2 },
  head: { node: { module: 'classifier', opTypes: ['Gemm'] } },
  notes:
    'C2…C4 = ReLU(BN(denseblock output)) inside transition1…3 (256x56x56, 512x28x28, 1024x14x14): the last non-negative tensor at strides 4/8/16, before the transition conv and pool. ' +
    'C5 = ReLU(norm5(denseblock4)), 1024x7x7. TA at C4 re-runs transition3 conv+pool, denseblock4, norm5 and the ReLU. ' +
    'k = 0.2 is the default carried over from the paper\'s ResNet-50 setting (BN + ReLU activations of similar scale), not measured for DenseNet: calibrate k on ID data.',
  match: (g) =>
    runChecks(g, [
      ['a 7x7 stem Conv with weight [64, 3, 7, 7] under "/features/conv0/"', (gg) => sameDims(firstConvWeightShape(gg, 'features/conv0'), [64, 3, 7, 7])],
      ...LAYERS.map((n, i): Check => [`${n} dense layers under "/features/denseblock${i + 1}/"`, (gg) => childModules(gg, `features/denseblock${i + 1}`).length === n]),
      ['transition1…3 and norm5 under "/features/"', (gg) => ['transition1', 'transition2', 'transition3', 'norm5'].every((m) => hasModule(gg, `features/${m}`))],
    ]),
};
