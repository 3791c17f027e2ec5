import * as tfCore from '@tensorflow/tfjs-core';
import type { Tensor, io } from '@tensorflow/tfjs-core';
import {
  FstaError,
  PATCHED_OUTPUTS,
  collectSamples,
  defaultConfig,
  energy,
  featureSim,
  maxLogit,
  msp,
  parseConfig,
  scoreInputs,
  serialQueue,
  thresholdActivation,
} from '@fsta/core';
import type { Detector, FstaConfig, ImageInput, ImageScore, NamedOutput, PixelInput, PreprocessSpec } from '@fsta/core';
import { tfjsOps } from './ops.js';
import type { TfNamespace } from './ops.js';
import { graphRunner, isGraphModel, isLayersModel, layersRunner } from './runners.js';
import type { GraphModelLike, LayersModelLike, StageRunner } from './runners.js';

export interface TfjsDetectorOptions {
  /** A loaded GraphModel or LayersModel, or a GraphModel URL / IOHandler to load (the detector then owns it). */
  model: GraphModelLike | LayersModelLike | string | io.IOHandler;
  /** Calibrated settings (object or JSON text); `k`, `lambda` and `stages` override it. */
  config?: Partial<FstaConfig> | string;
  /** Recorded in the config; tfjs stage names are node or layer names, given in `stages`. */
  backbone?: string;
  k?: number;
  lambda?: number;
  /**
   * GraphModel: node names (as in model.json); LayersModel: layer names. `fs` is the
   * stage FS is taken on, `ta` the stage TA thresholds, `taInput` where the
   * thresholded tensor is fed back (default: `ta` itself). Defaults to the config's
   * fsStage / taStage.
   */
  stages?: { fs: string; ta?: string; taInput?: string };
  /** Node or layer whose output is the classifier logits (N, K), for msp/maxlogit/energy. */
  logits?: string;
  /** GraphModel input that takes the image, when it has several. */
  inputName?: string;
  /** Network input [height, width], when the model's input shape leaves it open. */
  inputSize?: readonly [number, number];
  /** How pixel inputs become the network input; default: resize to the input size, scale to [0, 1]. */
  preprocess?: PreprocessSpec;
  /** Layout of the model's input and stage tensors. tfjs models are NHWC. */
  layout?: 'NHWC' | 'NCHW';
  batchSize?: number;
  /** The tf namespace the model was loaded with (`@tensorflow/tfjs` or `@tensorflow/tfjs-core`). */
  tf?: TfNamespace;
}

async function loadModel(model: string | io.IOHandler): Promise<GraphModelLike> {
  let converter: { loadGraphModel(m: string | io.IOHandler): Promise<GraphModelLike> };
  // Opaque to bundlers on purpose: the converter is an optional peer, and a LayersModel
  // user's bundle must build without it. Browser users pass a loaded model instead.
  const specifier = '@tensorflow/tfjs-converter';
  try {
    converter = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof converter;
  } catch {
    throw new FstaError('MISSING_PEER', 'loading a graph model from a URL or IOHandler needs @tensorflow/tfjs-converter, which could not be imported', 'npm install @tensorflow/tfjs-converter, or pass a model you loaded yourself with tf.loadGraphModel(...)');
  }
  return converter.loadGraphModel(model);
}

function resolveConfig(o: TfjsDetectorOptions): FstaConfig {
  const base: Partial<FstaConfig> = o.config === undefined ? {} : typeof o.config === 'string' ? parseConfig(o.config) : o.config;
  const merged: Partial<FstaConfig> = { ...base };
  if (o.backbone !== undefined) merged.backbone = o.backbone;
  if (o.k !== undefined) merged.k = o.k;
  if (o.lambda !== undefined) merged.lambda = o.lambda;
  if (o.stages) {
    merged.fsStage = o.stages.fs;
    merged.taStage = o.stages.ta ?? null;
    if (!o.stages.ta && base.featureScore === undefined) merged.featureScore = 'fs';
  }
  const config = parseConfig({ ...defaultConfig(), ...merged });
  if (config.classifier !== null && !['msp', 'maxlogit', 'energy'].includes(config.classifier)) {
    throw new FstaError('BAD_CONFIG', `the config fuses classifier score "${config.classifier}", which @fsta/tfjs does not compute`, 'use msp, maxlogit or energy (computed from the logits), or classifier null');
  }
  return config;
}

/** Network input as [C, H, W] from the model's input shape (in its layout) or `inputSize`. */
function inputChw(runner: StageRunner, o: TfjsDetectorOptions, nhwc: boolean): [number, number, number] {
  const s = runner.inputShape;
  if (s.length !== 4) throw new FstaError('BAD_MODEL', `the model input has shape [${s.join(', ')}], not an image batch`, 'use a model with a 4-D image input');
  let [h, w, c] = nhwc ? [s[1]!, s[2]!, s[3]!] : [s[2]!, s[3]!, s[1]!];
  if (o.inputSize) {
    const [ih, iw] = o.inputSize;
    if ((h > 0 && h !== ih) || (w > 0 && w !== iw)) throw new FstaError('BAD_INPUT_SIZE', `inputSize [${ih}, ${iw}] contradicts the model input [${h}, ${w}]`, 'leave inputSize out, or match the model');
    [h, w] = [ih, iw];
  }
  if (h < 0 || w < 0) throw new FstaError('BAD_INPUT_SIZE', 'the model input size is dynamic', 'pass inputSize: [height, width]');
  if (c < 0) c = 3;
  return [c, h, w];
}

/**
 * A detector for a TensorFlow.js model: one forward pass gives the model's own outputs,
 * the FS stage and the TA stage; a second pass from the thresholded TA stage gives the
 * FS+TA stage. Scores come from core's formulas run with tf ops on the active backend.
 */
export async function createDetector(options: TfjsDetectorOptions): Promise<Detector> {
  const tf = options.tf ?? tfCore;
  const ops = tfjsOps(tf);
  const config = resolveConfig(options);
  const owned = typeof options.model === 'string' || (!isGraphModel(options.model) && !isLayersModel(options.model));
  const model = owned ? await loadModel(options.model as string | io.IOHandler) : options.model;
  const names = { fs: config.fsStage, ta: config.taStage, taInput: options.stages?.taInput ?? null, logits: options.logits ?? null };
  if (config.classifier !== null && config.lambda !== 0 && !names.logits) {
    throw new FstaError('BAD_CONFIG', `the config fuses "${config.classifier}" but no logits node was named`, 'pass logits: "<node or layer name>", or set classifier to null');
  }
  let runner: StageRunner;
  if (isGraphModel(model)) runner = graphRunner(model, names, options.inputName);
  else if (isLayersModel(model)) runner = layersRunner(model, names);
  else throw new FstaError('BAD_MODEL', 'model is neither a tfjs GraphModel nor a LayersModel', 'pass the result of tf.loadGraphModel / tf.loadLayersModel, or a model.json URL');

  const nhwc = (options.layout ?? 'NHWC') === 'NHWC';
  const chw = inputChw(runner, options, nhwc);
  const fixedBatch = runner.inputShape[0]!;
  if (fixedBatch > 1) throw new FstaError('BAD_MODEL', `the model input has a fixed batch of ${fixedBatch}`, 'export the model with a dynamic batch (or batch 1)');
  const batchSize = fixedBatch === 1 ? 1 : (options.batchSize ?? 16);
  const preprocess: PreprocessSpec = options.preprocess ?? { size: [chw[1], chw[2]], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1] };
  const toNchw = (t: Tensor) => (nhwc ? tf.transpose(t, [0, 3, 1, 2]) : t);

  const run = async (data: Float32Array, shape: readonly number[]): Promise<Record<string, NamedOutput>> => {
    const tensors = tf.tidy(() => {
      const nchw = tf.tensor(data, [...shape], 'float32');
      const x = nhwc ? tf.transpose(nchw, [0, 2, 3, 1]) : nchw;
      const f = runner.forward(x);
      const out: Record<string, Tensor> = { ...f.own, [PATCHED_OUTPUTS.fs]: featureSim(ops, toNchw(f.fs)) };
      if (f.ta) out[PATCHED_OUTPUTS.fsTa] = featureSim(ops, toNchw(runner.tail(thresholdActivation(ops, f.ta, config.k), x)));
      if (f.logits) {
        if (f.logits.rank !== 2) throw new FstaError('BAD_RANK', `the logits "${names.logits}" have shape [${f.logits.shape.join(', ')}], not (N, K)`, 'name the node or layer that outputs the classifier logits');
        out[PATCHED_OUTPUTS.msp] = msp(ops, f.logits);
        out[PATCHED_OUTPUTS.maxlogit] = maxLogit(ops, f.logits);
        out[PATCHED_OUTPUTS.energy] = energy(ops, f.logits, config.temperature);
      }
      return out;
    });
    try {
      const entries = await Promise.all(Object.entries(tensors).map(async ([k, t]) => [k, { data: await ops.read(t), shape: [...t.shape] }] as const));
      return Object.fromEntries(entries);
    } finally {
      tf.dispose(Object.values(tensors));
    }
  };

  const decode = async (input: ImageInput, index: number): Promise<PixelInput> => {
    const isBrowserImage = typeof input === 'object' && input !== null && 'width' in input && 'height' in input && !('data' in input);
    if (isBrowserImage && typeof (globalThis as { document?: unknown }).document !== 'undefined') {
      const px = tf.browser.fromPixels(input as unknown as ImageBitmap, 4);
      try {
        return { data: Uint8Array.from(await px.data()), width: px.shape[1]!, height: px.shape[0]!, channels: 4 };
      } finally {
        px.dispose();
      }
    }
    const kind = typeof input === 'string' ? 'a file path or URL' : input instanceof Uint8Array || input instanceof ArrayBuffer ? 'encoded image bytes' : isBrowserImage ? 'an ImageBitmap outside a browser' : 'not an image fsta understands';
    throw new FstaError('UNSUPPORTED_INPUT', `input ${index} is ${kind}; @fsta/tfjs does not decode image files`, 'decode it first and pass pixels { data, width, height, channels } (ImageData in the browser; e.g. sharp(file).raw() in Node) or a raw NCHW tensor { data, shape }', { sample: index });
  };

  const queue = serialQueue();
  let disposed = false;
  return {
    config,
    get runtime() {
      return `tfjs/${tf.getBackend()}`;
    },
    ks: config.taStage === null ? [] : [config.k],
    chw,
    preprocess,
    async prepare(input: ImageInput, index = 0): Promise<Float32Array> {
      if (disposed) throw new FstaError('DISPOSED', 'prepare() was called after dispose()', 'create a new detector');
      const samples = await collectSamples([input], { preprocess, chw, decode: (x) => decode(x, index) });
      if (samples.length !== 1) throw new FstaError('BAD_INPUT', `prepare() was given ${samples.length} images in one tensor`, 'pass one image');
      return samples[0]!;
    },
    score(inputs: ImageInput | readonly ImageInput[]): Promise<ImageScore[]> {
      if (disposed) return Promise.reject(new FstaError('DISPOSED', 'score() was called after dispose()', 'create a new detector'));
      return queue(() => scoreInputs(inputs, { preprocess, chw, decode, config, batchSize, run }));
    },
    async dispose() {
      disposed = true;
      if (owned) (model as GraphModelLike).dispose();
    },
  };
}
