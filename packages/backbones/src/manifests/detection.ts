import type { BackboneManifest } from '../manifest.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../manifest.js';
import { firstConvWeightShape, hasModule, sameDims } from '../select.js';
import { runChecks } from './checks.js';
import { resnetStages, resnetTrunkChecks } from './resnet.js';

/**
 * torchvision Faster R-CNN R50-FPN, the full detector graph: the scores come from the
 * ResNet-50 body inside it (`/backbone/body/layer1…4`). The FPN also reads C2…C5, so the
 * TA branch re-runs only layer4 and feeds FS, never the detection heads.
 */
export const fasterrcnnResnet50Fpn: BackboneManifest = {
  name: 'fasterrcnn_resnet50_fpn',
  family: 'torchvision-detection',
  description: 'torchvision Faster R-CNN with a ResNet-50 FPN body, full detector graph (transform, body, FPN, RPN, RoI heads)',
  // The detector normalizes and resizes inside the graph (GeneralizedRCNNTransform): feed [0,1] RGB at the exported size.
  preprocess: { size: [800, 800], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1], layout: 'NCHW', range: [0, 1] },
  stages: resnetStages('backbone/body'),
  defaults: { fsStage: 'C5', taStage: 'C4', k: 0.2 },
  notes:
    'Stages are the ResNet-50 body\'s layer1…layer4 outputs (strides 4/8/16/32 of the transformed image). No classifier head, so no MSP/energy fusion. ' +
    'The model normalizes with ImageNet mean/std itself, so the preprocessing only scales to [0,1]; `size` is torchvision\'s default min_size 800 and must be replaced by the size the model was exported at. ' +
    'k = 0.2 is the paper\'s ResNet-50 setting, not measured on detectors: calibrate k on ID data.',
  match: (g) =>
    runChecks(g, [
      ...resnetTrunkChecks('backbone/body', 50),
      ['an FPN under "/backbone/fpn/"', (gg) => hasModule(gg, 'backbone/fpn')],
      ['an RPN under "/rpn/" and RoI heads under "/roi_heads/"', (gg) => hasModule(gg, 'rpn') && hasModule(gg, 'roi_heads')],
      ['no mask or keypoint head (that is Mask or Keypoint R-CNN)', (gg) => !hasModule(gg, 'roi_heads/mask_head') && !hasModule(gg, 'roi_heads/keypoint_head')],
    ]),
};

/**
 * torchvision FCN-ResNet50: layer3 and layer4 are dilated (replace_stride_with_dilation),
 * so C3, C4 and C5 all sit at stride 8.
 */
export const fcnResnet50: BackboneManifest = {
  name: 'fcn_resnet50',
  family: 'torchvision-segmentation',
  description: 'torchvision FCN with a dilated ResNet-50 backbone (C3…C5 at stride 8) and an FCNHead classifier',
  preprocess: { size: [520, 520], crop: 'none', mean: IMAGENET_MEAN, std: IMAGENET_STD, layout: 'NCHW', range: [0, 1] },
  stages: resnetStages('backbone'),
  defaults: { fsStage: 'C5', taStage: 'C4', k: 0.2 },
  notes:
    'layer3 and layer4 use dilation instead of stride, so C5 (layer4, 2048 channels) is at stride 8 like C3 and C4 (28x28 for a 224x224 input). ' +
    'Stage identity therefore comes from the module path, not from resolution. No image-level classifier head: the per-pixel logits are not fused. ' +
    'Preprocessing is torchvision\'s (resize to 520, ImageNet mean/std); any size works. k = 0.2 is the paper\'s ResNet-50 setting, not measured on FCN: calibrate k on ID data.',
  match: (g) =>
    runChecks(g, [
      ...resnetTrunkChecks('backbone', 50),
      ['an FCN head under "/classifier/" (a 3x3 Conv 2048→512, not DeepLab\'s ASPP)', (gg) => sameDims(firstConvWeightShape(gg, 'classifier'), [512, 2048, 3, 3]) && !hasModule(gg, 'classifier/classifier.0/convs')],
      ['no "/backbone/body/" (that is a detector)', (gg) => !hasModule(gg, 'backbone/body')],
    ]),
};
