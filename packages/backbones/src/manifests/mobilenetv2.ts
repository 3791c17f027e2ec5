import type { BackboneManifest } from '../manifest.js';
import { imagenetPreprocess } from '../manifest.js';
import { childModules, firstConvWeightShape, sameDims } from '../select.js';
import { runChecks } from './checks.js';

/** ReLU in the quantizable (fused) variant, ReLU6 = Clip(0, 6) in the plain torchvision one. */
const ACT = ['Relu', 'Clip'] as const;

/**
 * torchvision MobileNetV2, plain or quantizable/fused, float or with int8 weights behind
 * DequantizeLinear (the weight shapes are read through it).
 */
export const mobilenetV2: BackboneManifest = {
  name: 'mobilenet_v2',
  family: 'torchvision-mobilenetv2',
  description: 'torchvision MobileNetV2 (features.0 … features.18, then classifier), float or int8-weight (DequantizeLinear) graphs',
  preprocess: imagenetPreprocess(),
  stages: {
    C2: { module: 'features/features.4/conv/conv.0', opTypes: ACT },
    C3: { module: 'features/features.7/conv/conv.0', opTypes: ACT },
    C4: { module: 'features/features.14/conv/conv.0', opTypes: ACT },
    C5: { module: 'features/features.18', opTypes: ACT },
  },
  defaults: { fsStage: 'C5', taStage: 'C4', k: 0.5 },
  head: { node: { module: 'classifier', opTypes: ['Gemm'] } },
  notes:
    'Block outputs features.N are linear (the projection conv has no activation and the residual Add has none either), so they are signed: ' +
    'ReLU(f − k) there would also erase every negative response, which is not TA. Each stage is therefore the last non-negative tensor at its stride: ' +
    'the expansion (conv.0: 1x1 conv + ReLU/ReLU6) output of the first block of the next stride, just before its stride-2 depthwise conv ' +
    '(C2 = features.4 conv.0, 144x56x56; C3 = features.7 conv.0, 192x28x28; C4 = features.14 conv.0, 576x14x14), and C5 = features.18 (1x1 conv 320→1280 + ReLU, 1280x7x7), the FS stage. ' +
    'TA at C4 re-runs the depthwise and projection convs of features.14 and everything after. k = 0.5 is the default, not yet tuned for this family: calibrate k on ID data.',
  match: (g) =>
    runChecks(g, [
      ['a stem Conv with weight [32, 3, 3, 3] under "/features/features.0/"', (gg) => sameDims(firstConvWeightShape(gg, 'features/features.0'), [32, 3, 3, 3])],
      ['19 modules features.0 … features.18 under "/features/"', (gg) => childModules(gg, 'features').filter((c) => /^features\.\d+$/.test(c)).length === 19],
      ['a 1x1 Conv 320→1280 with weight [1280, 320, 1, 1] under "/features/features.18/"', (gg) => sameDims(firstConvWeightShape(gg, 'features/features.18'), [1280, 320, 1, 1])],
    ]),
};
