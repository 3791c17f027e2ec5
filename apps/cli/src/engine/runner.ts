import { MAX_MODEL_BYTES, readRegularFileSync } from '@fsta/onnxruntime-node/read-file';
import * as ort from 'onnxruntime-node';
import { FstaError, featureSim, referenceOps, thresholdActivation } from '@fsta/core';
import { decodeModel, encodeModel, tailModel, withOutputs } from '@fsta/onnx';
import type { ModelSpec } from './spec.js';
import { stageTensor } from './spec.js';
import { headWeights } from './graphs.js';

export interface Head {
  weight: { data: Float32Array; shape: [number, number] };
  bias: Float32Array | null;
}

/** One batch through the probe model: what every method is computed from. */
export interface BatchOutputs {
  n: number;
  logits: Float32Array;
  numClasses: number;
  penultimate: Float32Array | null;
  fsMap: { data: Float32Array; shape: number[] };
  taMap: { data: Float32Array; shape: number[] } | null;
  /** Earlier tensors the tail model also reads (rare: long skip connections). */
  tailExtras: Record<string, ort.Tensor>;
}

const asFloat = (t: ort.Tensor | undefined, name: string): Float32Array => {
  if (!t || t.type !== 'float32') throw new FstaError('BAD_OUTPUT', `model output "${name}" is ${t ? t.type : 'missing'}, expected float32`, 'use a float32 model (int8 weights with DequantizeLinear are fine)');
  return t.data as Float32Array;
};

/**
 * Runs a model once per batch with its stage maps, penultimate features and logits
 * exposed, and re-runs only the tail (TA stage → FS stage) for FS+TA at any k.
 */
export class FeatureRunner {
  private constructor(
    readonly spec: ModelSpec,
    readonly chw: [number, number, number],
    readonly head: Head | null,
    private readonly probe: ort.InferenceSession,
    private readonly tail: ort.InferenceSession | null,
    private readonly names: { fs: string; ta: string | null; extras: string[] },
  ) {}

  static async open(spec: ModelSpec, stages: { fsStage: string; taStage: string | null }): Promise<FeatureRunner> {
    let bytes: Uint8Array;
    try {
      bytes = readRegularFileSync(spec.modelPath, { maxBytes: MAX_MODEL_BYTES, what: 'model' });
    } catch (e) {
      if (e instanceof FstaError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new FstaError('NOT_FOUND', `cannot read model ${spec.modelPath} (${code === 'ENOENT' ? 'no such file' : code})`, 'pass --model with the path of an .onnx file');
    }
    const model = decodeModel(bytes);
    const fs = stageTensor(spec, stages.fsStage, '--fs-stage');
    const ta = stages.taStage === null ? null : stageTensor(spec, stages.taStage, '--ta-stage');
    const tail = ta ? tailModel(model, ta, fs) : null;
    const exposed = [spec.output, fs, ...(ta ? [ta] : []), ...(tail?.extraInputs ?? []), ...(spec.head ? [spec.head.penultimate] : [])];
    const head = spec.head ? headWeights(model, spec.head.weight, spec.head.bias) : null;
    const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: 2 };
    const probe = await ort.InferenceSession.create(encodeModel(withOutputs(model, exposed)), options);
    const tailSession = tail ? await ort.InferenceSession.create(encodeModel(tail.model), options) : null;
    const dims = (model.graph!.input ?? []).find((v) => v.name === spec.input)?.type?.tensorType?.shape?.dim ?? [];
    const [h, w] = spec.preprocess.size;
    const c = Number(dims[1]?.dimValue ?? 3);
    return new FeatureRunner(spec, [c, h!, w!], head, probe, tailSession, { fs, ta, extras: tail?.extraInputs ?? [] });
  }

  async run(batch: Float32Array, n: number): Promise<BatchOutputs> {
    const feeds = { [this.spec.input]: new ort.Tensor('float32', batch, [n, ...this.chw]) };
    const out = await this.probe.run(feeds);
    const logitsT = out[this.spec.output]!;
    const tensor = (name: string) => ({ data: asFloat(out[name], name), shape: [...out[name]!.dims] });
    const tailExtras: Record<string, ort.Tensor> = {};
    for (const x of this.names.extras) tailExtras[x] = out[x]!;
    return {
      n,
      logits: asFloat(logitsT, this.spec.output),
      numClasses: Number(logitsT.dims[logitsT.dims.length - 1]),
      penultimate: this.spec.head ? asFloat(out[this.spec.head.penultimate], this.spec.head.penultimate) : null,
      fsMap: tensor(this.names.fs),
      taMap: this.names.ta ? tensor(this.names.ta) : null,
      tailExtras,
    };
  }

  /** FS per image of a stage map, with core's formula on the reference backend. */
  static fs(map: { data: Float32Array; shape: number[] }): Float32Array {
    return featureSim(referenceOps, referenceOps.fromArray(map.data, map.shape)).data;
  }

  /** The FS-stage map of the TA pass: ReLU(f − k) at the TA stage, then the tail re-run. */
  async taPassMap(b: BatchOutputs, k: number): Promise<{ data: Float32Array; shape: number[] }> {
    if (!this.tail || !b.taMap || !this.names.ta) throw new FstaError('NO_TA', 'FS+TA was asked for but no TA stage is set', 'pass --ta-stage');
    const f = thresholdActivation(referenceOps, referenceOps.fromArray(b.taMap.data, b.taMap.shape), k);
    const out = await this.tail.run({ [this.names.ta]: new ort.Tensor('float32', f.data, b.taMap.shape), ...b.tailExtras });
    const t = out[this.names.fs]!;
    return { data: asFloat(t, this.names.fs), shape: [...t.dims] };
  }

  /** FS+TA per image: FS of the TA pass's FS-stage map. */
  async fsTa(b: BatchOutputs, k: number): Promise<Float32Array> {
    return FeatureRunner.fs(await this.taPassMap(b, k));
  }

  async dispose(): Promise<void> {
    await this.probe.release();
    await this.tail?.release();
  }
}
