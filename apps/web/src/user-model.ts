import { FstaError, type PreprocessSpec } from '@fsta/core';
import { IMAGENET_MEAN, IMAGENET_STD, findBackbone, imageInput, requireStage } from '@fsta/backbones';
import { decodeModel, inferShapes, toGraphView } from '@fsta/onnx';
import type { ModelSpec } from './model-spec.js';

const problemOf = (e: unknown) => (e as Error).message.replace(/\. Fix: .*/s, '');

const ONNX_FIX = 'drop a .onnx file exported from PyTorch (torch.onnx.export), TensorFlow (tf2onnx) or another ONNX exporter';

/**
 * A dropped .onnx file → ModelSpec, with @fsta/backbones resolving stages and head
 * (a named manifest, or 'auto': manifest match, else stage detection). Every way it
 * can fail says so in words: not ONNX, no image input, wrong backbone, no conv stages.
 */
export function loadUserModel(bytes: Uint8Array, fileName: string, backbone: string): ModelSpec {
  if (bytes.length === 0) throw new FstaError('NOT_ONNX', `"${fileName}" is empty (0 bytes)`, ONNX_FIX);
  let model;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    const why = problemOf(e).replace(/^this is not a readable ONNX model: /, '');
    throw new FstaError('NOT_ONNX', `"${fileName}" is not an ONNX model (${why})`, ONNX_FIX);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) throw new FstaError('NOT_ONNX', `"${fileName}" has no graph nodes, so it is not an ONNX model fsta can read`, ONNX_FIX);
  // Stage detection needs every feature map's shape; torch exports carry none, so infer them.
  const shapes = new Map([...inferShapes(model)].filter(([, s]) => s !== undefined).map(([n, s]) => [n, s!.map((d) => (typeof d === 'number' ? d : -1))]));
  const view = toGraphView(model, shapes);
  let found;
  try {
    found = findBackbone(view, backbone);
  } catch (e) {
    // The backbone package words its fixes for the CLI (--backbone); say where the choice is on this page.
    if (!(e instanceof FstaError)) throw e;
    const fix = backbone === 'auto' ? 'drop a convolutional model (ResNet, MobileNet, DenseNet, a detector or segmenter backbone) with an NCHW image input' : `pick the backbone the model was built from under "Backbone of your model", or "auto (detect)"`;
    throw new FstaError(e.code, problemOf(e), fix);
  }
  const fsStage = found.defaults.fsStage;
  const taStage = found.defaults.taStage;
  const stages: Record<string, string> = {};
  for (const [name, s] of Object.entries(found.stages)) if (s) stages[name] = s.tensor;
  requireStage(found, fsStage);
  if (taStage !== null) requireStage(found, taStage);
  const input = imageInput(view);
  const inShape = input ? view.shapes.get(input) : undefined;
  if (!input || !inShape || inShape.length !== 4 || inShape[1] !== 3) throw new FstaError('BAD_MODEL', `"${fileName}" has no NCHW RGB image input (inputs: ${view.inputs.join(', ') || 'none'})`, 'export the model with one float32 input of shape [N, 3, H, W]');
  let preprocess: PreprocessSpec;
  const notes = ['No ID images come with this model, so the page sets no threshold and gives no ID/OOD verdict; compare the scores between images, or run `fsta calibrate` on your ID validation images.'];
  const manifestPre = found.manifest?.preprocess;
  if (manifestPre) {
    preprocess = { ...manifestPre, size: [...manifestPre.size] as [number, number], mean: [...manifestPre.mean], std: [...manifestPre.std] } as PreprocessSpec;
  } else {
    const [h, w] = [inShape[2]!, inShape[3]!];
    if (!(h > 0 && w > 0)) throw new FstaError('BAD_MODEL', `"${fileName}" has a dynamic input size and matches no backbone manifest, so the page cannot tell what size it wants`, 'pick its backbone (a manifest knows the size), or export it with a fixed H and W');
    preprocess = { size: [h, w], crop: 'center', resizeShorter: Math.max(h, w), mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] } as PreprocessSpec;
    notes.unshift(`No backbone manifest matched, so the stages were detected (${fsStage} for FS${taStage ? `, ${taStage} for TA` : ''}) and images are resized to ${h}×${w} with ImageNet mean and std — scores are only meaningful if the model was trained that way.`);
  }
  return {
    name: fileName,
    model,
    input,
    stages,
    fsStage,
    taStage,
    defaultK: found.defaults.k,
    head: found.head ? { penultimate: found.head.penultimate, logits: found.head.logits } : null,
    preprocess,
    chw: [3, preprocess.size[0], preprocess.size[1]],
    classes: null,
    tfjs: null,
    calibrationImages: [],
    calibrationGrid: {},
    note: notes.join(' '),
  };
}
