import { FstaError, collectSamples, resolveDetectorConfig, scoreSamples, serialQueue, type Detector, type DetectorSettings, type FstaConfig, type ImageInput, type NamedOutput, type PixelInput, type PixelOptions, type PreprocessSpec } from '@fsta/core';
import { findBackbone, imageInput, requireStage, taFor, type BackboneResolution, type GraphView } from '@fsta/backbones';
import { decodeModel, encodeModel } from './proto.js';
import { toGraphView } from './graph-view.js';
import { patchModel, type PatchOptions } from './patch.js';
import type { OnnxModel } from './types.js';

export interface DetectorModelOptions extends DetectorSettings {
  /** Overrides the manifest's preprocessing; required when the backbone is detected automatically. */
  preprocess?: PreprocessSpec;
}

/** Classifier scores the patched graph computes from the logits. */
const IN_GRAPH_CLASSIFIERS: readonly string[] = ['msp', 'maxlogit', 'energy'];

/** Everything a runtime adapter needs to run FS+TA: the patched bytes and how to feed them. */
export interface DetectorModel {
  /** The patched model, encoded: load it into one inference session. */
  bytes: Uint8Array;
  config: FstaConfig;
  preprocess: PreprocessSpec;
  /** The image input's name and its [C, H, W]. */
  inputName: string;
  chw: [number, number, number];
  /** The model's own outputs (unchanged by the patch). */
  modelOutputs: string[];
  /** 1 when the model was exported with a fixed batch of 1, else null (any batch). */
  maxBatch: 1 | null;
  /** What the user must know about the stages (TA on a signed tensor, TA moved to the stage's activation): adapters log them. */
  warnings: string[];
}

/** A model patched for a resolved config: what `fsta patch` writes and detectors load. */
export interface ConfiguredPatch {
  model: OnnxModel;
  config: FstaConfig;
  backbone: BackboneResolution;
  /** The model's own outputs (unchanged by the patch). */
  modelOutputs: string[];
  /** The structural view of the unpatched model the stages were found on. */
  graph: GraphView;
  /** TA on a signed tensor, or moved to the nearest non-negative tensor of its stage: print them. */
  warnings: string[];
}

/**
 * Finds the backbone (manifest or detection), resolves the config's stages and head and
 * patches in the FS / FS+TA / classifier / fused score outputs. Needs no preprocessing,
 * so it works on any input layout (a detector's single [3, H, W] image included).
 */
export function patchForConfig(model: OnnxModel, options: DetectorSettings & { mode?: PatchOptions['mode'] }): ConfiguredPatch {
  const graph = toGraphView(model);
  const wanted = options.backbone ?? (typeof options.config === 'object' ? options.config.backbone : undefined) ?? 'auto';
  const found = findBackbone(graph, wanted);
  const config = resolveDetectorConfig({ ...options, backbone: wanted }, found.defaults);
  const fs = requireStage(found, config.fsStage);
  const ta = config.taStage === null ? null : taFor(found, config.taStage);
  const warnings = ta === null ? [] : [ta.warning, ta.note].filter((w): w is string => w !== null);
  if (config.classifier !== null && !IN_GRAPH_CLASSIFIERS.includes(config.classifier)) throw new FstaError('BAD_CONFIG', `classifier score "${config.classifier}" cannot be computed inside the ONNX graph`, `use one of ${IN_GRAPH_CLASSIFIERS.join(', ')} with the ONNX runtimes, or null`);
  if (config.classifier !== null && !found.head) throw new FstaError('NO_HEAD', `the config fuses classifier score "${config.classifier}" but no classifier head was found in this model`, 'use a backbone manifest with a head, or set classifier to null');
  const patched = patchModel(model, {
    fsStageTensor: fs.tensor,
    taStageTensor: ta?.tensor ?? null,
    k: config.k,
    ...(found.head ? { head: { penultimate: found.head.penultimate, logits: found.head.logits } } : {}),
    lambda: config.lambda,
    classifier: config.classifier as 'msp' | 'energy' | 'maxlogit' | null,
    featureScore: config.featureScore,
    temperature: config.temperature,
    ...(options.mode ? { mode: options.mode } : {}),
  });
  return { model: patched.model, config, backbone: found, modelOutputs: graph.outputs.slice(), graph, warnings };
}

/**
 * ONNX bytes → patched bytes, written once for every ONNX runtime: `patchForConfig`,
 * plus the image input and preprocessing the adapters feed, then encode.
 */
export function prepareDetectorModel(bytes: Uint8Array, options: DetectorModelOptions): DetectorModel {
  const model = decodeModel(bytes);
  const { model: patched, config, backbone: found, modelOutputs, graph, warnings } = patchForConfig(model, options);
  const input = imageInput(graph);
  const inShape = input ? graph.shapes.get(input) : undefined;
  if (!input || !inShape || inShape.length !== 4) throw new FstaError('BAD_MODEL', `the model has no NCHW image input (inputs: ${graph.inputs.join(', ') || 'none'})`, 'export the model with one float32 input of shape [N, 3, H, W]');
  const [n, c, h, w] = inShape as [number, number, number, number];
  if (n > 1) throw new FstaError('BAD_MODEL', `the model input "${input}" has a fixed batch of ${n}`, 'export it with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={"input": {0: "batch"}})) or a batch of 1');
  const preprocess = options.preprocess ?? found.manifest?.preprocess;
  if (!preprocess) throw new FstaError('NO_PREPROCESS', 'the backbone was detected automatically, so fsta does not know how this model wants its images', "pass preprocess: { size: [h, w], crop: 'center', resizeShorter, mean, std } to createDetector");
  const size = preprocess.size;
  if (c !== 3 || (h > 0 && h !== size[0]) || (w > 0 && w !== size[1])) throw new FstaError('BAD_PREPROCESS', `the preprocessing makes [3, ${size[0]}, ${size[1]}] images but the model input is [${c}, ${h}, ${w}]`, 'pass a preprocess spec that matches the model input');
  return {
    bytes: encodeModel(patched),
    config,
    preprocess,
    inputName: input,
    chw: [3, size[0], size[1]],
    modelOutputs,
    maxBatch: n === 1 ? 1 : null,
    warnings,
  };
}

/** The part of an onnxruntime InferenceSession (node or web) a detector uses. */
export interface OrtSessionLike {
  run(feeds: Record<string, never>): Promise<Record<string, { data: unknown; dims: readonly number[]; type: string }>>;
  release(): Promise<void>;
}

export interface OrtDetectorParts {
  prepared: DetectorModel;
  session: OrtSessionLike;
  /** `new ort.Tensor('float32', data, shape)` of the adapter's onnxruntime. */
  tensor(data: Float32Array, shape: readonly number[]): unknown;
  runtime: string;
  batchSize?: number;
  pixelOptions?: PixelOptions;
  /** Decodes what core cannot (paths, encoded bytes, bitmaps). */
  decode(input: ImageInput, index: number): Promise<PixelInput>;
}

/**
 * A Detector over one onnxruntime session on a patched model, shared by
 * @fsta/onnxruntime-node and @fsta/onnxruntime-web: one run per batch, runs queued
 * (concurrent score() calls are safe), the session released on dispose().
 */
export function ortDetector(parts: OrtDetectorParts): Detector {
  const { prepared, session } = parts;
  const queue = serialQueue();
  let disposed = false;
  const scorer = {
    config: prepared.config,
    preprocess: prepared.preprocess,
    chw: prepared.chw,
    batchSize: Math.min(parts.batchSize ?? 16, prepared.maxBatch ?? Infinity),
    ...(parts.pixelOptions ? { pixelOptions: parts.pixelOptions } : {}),
    decode: parts.decode,
    run: (data: Float32Array, shape: readonly number[]) => queue(async () => {
      const out = await session.run({ [prepared.inputName]: parts.tensor(data, shape) as never });
      const result: Record<string, NamedOutput> = {};
      for (const [name, t] of Object.entries(out)) {
        if (!(t.data instanceof Float32Array)) throw new FstaError('BAD_MODEL', `model output "${name}" is ${t.type}, not float32`, 'export the model with float32 outputs');
        result[name] = { data: t.data, shape: [...t.dims] };
      }
      return result;
    }),
  };
  return {
    config: prepared.config,
    runtime: parts.runtime,
    async score(inputs) {
      if (disposed) throw new FstaError('DISPOSED', 'score() was called after dispose()', 'create a new detector');
      return scoreSamples(await collectSamples(inputs, scorer), scorer);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue(() => session.release());
    },
  };
}
