import * as ort from 'onnxruntime-web';
import {
  FstaError, PATCHED_OUTPUTS, energy, featureSim, maxLogit, msp, referenceOps, scoresFromOutputs, stackBatch, tensor, thresholdActivation,
  type FstaConfig, type NamedOutput, type PreprocessSpec,
} from '@fsta/core';
import { encodeModel, type OnnxModel } from '@fsta/onnx';
import type { Engine, Inspection } from './engine.js';
import { softmax } from './engine.js';
import { fsHeatmap } from './heatmap.js';
import { tailModel, withOutputs } from './stage-models.js';

/** What the page knows about a model: tensor names of its input, stages and logits. */
export interface ModelSpec {
  model: OnnxModel;
  input: string;
  /** Tensor names: the FS stage and the TA stage (null: no TA). */
  fsTensor: string;
  taTensor: string | null;
  logits: string | null;
  preprocess: PreprocessSpec;
  chw: readonly [number, number, number];
  classes: readonly string[] | null;
}

export interface StageRun {
  inspections: Inspection[];
  /** The TA stage tensor of each image, flattened (for choosing k from ID activations). */
  taStage: Float32Array[];
}

/** An engine whose config can change without reopening sessions: k and fusion are applied on the host. */
export interface OrtEngine extends Engine {
  config: FstaConfig;
  runStages(samples: readonly Float32Array[], config?: FstaConfig): Promise<StageRun>;
}

/** onnxruntime-web fetches its wasm files from the page's own /ort/ folder (served by the Vite plugin). */
export function configureOrt(): void {
  ort.env.wasm.wasmPaths = new URL('./ort/', location.href).href;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
}

async function openSession(bytes: Uint8Array, ep: 'webgpu' | 'wasm'): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });
}

/** Opens the runtime asked for, or WASM with a note saying why not. */
async function openWithFallback(bytes: Uint8Array, want: 'webgpu' | 'wasm'): Promise<{ session: ort.InferenceSession; ep: 'webgpu' | 'wasm'; note: string | null }> {
  if (want === 'webgpu') {
    if (!('gpu' in navigator) || !(await (navigator as Navigator & { gpu: { requestAdapter(): Promise<unknown> } }).gpu.requestAdapter())) {
      return { session: await openSession(bytes, 'wasm'), ep: 'wasm', note: 'WebGPU is not available in this browser, so the model runs on onnxruntime-web WASM (CPU) instead.' };
    }
    try {
      return { session: await openSession(bytes, 'webgpu'), ep: 'webgpu', note: null };
    } catch (e) {
      return { session: await openSession(bytes, 'wasm'), ep: 'wasm', note: `WebGPU failed to start (${(e as Error).message}), so the model runs on onnxruntime-web WASM (CPU) instead.` };
    }
  }
  return { session: await openSession(bytes, 'wasm'), ep: 'wasm', note: null };
}

async function runOne(session: ort.InferenceSession, input: string, data: Float32Array, shape: readonly number[]): Promise<Record<string, NamedOutput>> {
  const feed = new ort.Tensor('float32', data, shape);
  const out = await session.run({ [input]: feed });
  const result: Record<string, NamedOutput> = {};
  for (const [name, t] of Object.entries(out)) {
    const d = await t.getData(true);
    if (!(d instanceof Float32Array)) throw new FstaError('BAD_MODEL', `model output "${name}" is ${t.type}, not float32`, 'export the model with float32 outputs');
    result[name] = { data: d, shape: [...t.dims] };
  }
  return result;
}

const read = (t: ReturnType<typeof tensor>) => referenceOps.read(t);

/**
 * The model on onnxruntime-web. One session runs the network and returns the FS and
 * TA stage maps next to its own outputs; a second runs the layers after the TA stage
 * on ReLU(stage − k). FS, TA and the classifier scores are core's formulas on those
 * maps, and core's scoresFromOutputs assembles fusion and verdicts, as every adapter does.
 */
export async function createOrtEngine(spec: ModelSpec, config: FstaConfig, want: 'webgpu' | 'wasm'): Promise<OrtEngine> {
  configureOrt();
  const stageOutputs = [spec.fsTensor, ...(spec.taTensor ? [spec.taTensor] : [])];
  const full = await openWithFallback(encodeModel(withOutputs(spec.model, stageOutputs)), want);
  const tail = spec.taTensor ? await openSession(encodeModel(tailModel(spec.model, spec.taTensor, spec.fsTensor)), full.ep) : null;
  const ownOutputs = (spec.model.graph?.output ?? []).map((o) => o.name!);

  async function runStages(samples: readonly Float32Array[], config: FstaConfig = engine.config): Promise<StageRun> {
    const started = performance.now();
    const batch = stackBatch([...samples], spec.chw);
    const n = samples.length;
    const out = await runOne(full.session, spec.input, batch.data, batch.shape);
    const f5 = tensor(out[spec.fsTensor]!.data, out[spec.fsTensor]!.shape);
    const named: Record<string, NamedOutput> = {};
    for (const name of ownOutputs) named[name] = out[name]!;
    named[PATCHED_OUTPUTS.fs] = { data: await read(featureSim(referenceOps, f5)), shape: [n] };
    const heatFs = await read(fsHeatmap(referenceOps, f5));
    let heatTa: Float32Array | null = null;
    const taStage: Float32Array[] = [];
    if (spec.taTensor && tail && config.taStage !== null) {
      const t4 = out[spec.taTensor]!;
      const per = t4.data.length / n;
      for (let i = 0; i < n; i++) taStage.push(t4.data.subarray(i * per, (i + 1) * per));
      const thresholded = await read(thresholdActivation(referenceOps, tensor(t4.data, t4.shape), config.k));
      const tailOut = await runOne(tail, spec.taTensor, thresholded, t4.shape);
      const f5ta = tensor(tailOut[spec.fsTensor]!.data, tailOut[spec.fsTensor]!.shape);
      named[PATCHED_OUTPUTS.fsTa] = { data: await read(featureSim(referenceOps, f5ta)), shape: [n] };
      heatTa = await read(fsHeatmap(referenceOps, f5ta));
    }
    let probs: Float32Array[] | null = null;
    if (spec.logits && out[spec.logits]) {
      const z = out[spec.logits]!;
      const lt = tensor(z.data, z.shape);
      named[PATCHED_OUTPUTS.msp] = { data: await read(msp(referenceOps, lt, config.temperature)), shape: [n] };
      named[PATCHED_OUTPUTS.maxlogit] = { data: await read(maxLogit(referenceOps, lt)), shape: [n] };
      named[PATCHED_OUTPUTS.energy] = { data: await read(energy(referenceOps, lt, config.temperature)), shape: [n] };
      const k = z.data.length / n;
      probs = Array.from({ length: n }, (_, i) => softmax(z.data.subarray(i * k, (i + 1) * k)));
    }
    const scores = scoresFromOutputs(named, config, n);
    const ms = (performance.now() - started) / n;
    const [, , h, w] = out[spec.fsTensor]!.shape as [number, number, number, number];
    const inspections = scores.map((score, i): Inspection => ({
      score,
      heat: { h, w, fs: heatFs.slice(i * h * w, (i + 1) * h * w), fsTa: heatTa ? heatTa.slice(i * h * w, (i + 1) * h * w) : null },
      probs: probs?.[i] ?? null,
      ms,
    }));
    return { inspections, taStage };
  }

  const engine: OrtEngine = {
    runtime: `onnxruntime-web/${full.ep}`,
    note: full.note,
    config,
    preprocess: spec.preprocess,
    chw: spec.chw,
    classes: spec.classes,
    runStages,
    inspect: async (samples) => (await runStages(samples)).inspections,
    async dispose() {
      await full.session.release();
      await tail?.release();
    },
  };
  return engine;
}
