import * as ort from 'onnxruntime-web';
import { referenceOps, stackBatch, tensor, type FeatureMap, type FstaConfig } from '@fsta/core';
import { encodeModel, type OnnxDetector } from '@fsta/onnx';
import { createDetector } from '@fsta/onnxruntime-web';
import type { Engine, Inspection } from './engine.js';
import { softmax } from './engine.js';
import { fsHeatmap } from './heatmap.js';
import type { ModelSpec } from './model-spec.js';
import { patchKey } from './patched-model.js';

export interface StageRun {
  inspections: Inspection[];
  /** The TA stage tensor of each image, flattened (for choosing k from ID activations). */
  taStage: Float32Array[];
}

/** An engine whose config can change: a config with other patch settings (k, stages, fusion) re-patches the model. */
export interface OrtEngine extends Engine {
  config: FstaConfig;
  /** One run; `stages: false` leaves out the stage maps and heatmaps (calibration mostly needs the scores only). */
  runStages(samples: readonly Float32Array[], config?: FstaConfig, options?: { stages?: boolean }): Promise<StageRun>;
}

/** onnxruntime-web fetches its wasm files from the page's own /ort/ folder (served by the Vite plugin). */
export function configureOrt(): void {
  ort.env.wasm.wasmPaths = new URL('./ort/', location.href).href;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
}

type Ep = 'webgpu' | 'wasm';

/** Per-image heatmaps (H×W) of [1, C, H, W] stage maps, with core's featureSim integrand. */
async function heatmap(map: FeatureMap): Promise<{ h: number; w: number; map: Float32Array }> {
  const [, , h, w] = map.shape as [number, number, number, number];
  return { h, w, map: await referenceOps.read(fsHeatmap(referenceOps, tensor(map.data, map.shape))) };
}

/** The manifest a ModelSpec amounts to: the same stages, head and preprocessing, by tensor name. */
export function manifestOf(spec: ModelSpec) {
  const head = spec.head;
  const gemm = head ? (spec.model.graph?.node ?? []).find((n) => n.input?.[0] === head.penultimate && n.output?.[0] === head.logits) : undefined;
  return {
    name: spec.name,
    input: spec.input,
    preprocess: spec.preprocess,
    stages: spec.stages,
    ...(head && gemm?.input?.[1] ? { output: head.logits, head: { penultimate: head.penultimate, weight: gemm.input[1], bias: gemm.input[2] || null } } : {}),
  };
}

/**
 * The model on @fsta/onnxruntime-web's detector, the adapter a library user runs: it
 * patches the model (FS, FS+TA, the classifier and fused scores, and the stage maps)
 * and scores with core, as every adapter does; the page adds heatmaps and probabilities.
 */
export async function createOrtEngine(spec: ModelSpec, config: FstaConfig, want: Ep): Promise<OrtEngine> {
  configureOrt();
  const bytes = encodeModel(spec.model);
  let note: string | null = null;
  const open = (c: FstaConfig, providers: Ep[]) => createDetector({
    model: bytes,
    manifest: manifestOf(spec),
    config: c,
    expose: { stages: true },
    executionProviders: providers,
    logger: (line) => { note = line.replace(/^@fsta\/onnxruntime-web: /, ''); },
  });
  const first = await open(config, want === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm']);
  const ep = first.runtime.split('/')[1] as Ep;
  let current = { key: patchKey(config), detector: first };

  async function detectorFor(c: FstaConfig): Promise<OnnxDetector> {
    const key = patchKey(c);
    if (key !== current.key) {
      await current.detector.dispose();
      current = { key, detector: await open(c, [ep]) };
    }
    return current.detector;
  }

  async function runStages(samples: readonly Float32Array[], c: FstaConfig = engine.config, { stages: maps = true } = {}): Promise<StageRun> {
    const detector = await detectorFor(c);
    const n = samples.length;
    const batch = stackBatch([...samples], spec.chw);
    const started = performance.now();
    const scores = await detector.score({ data: batch.data, shape: batch.shape }, { include: maps ? ['stages'] : [] });
    const ms = (performance.now() - started) / n;
    const inspections = await Promise.all(scores.map(async (score): Promise<Inspection> => {
      const stages = maps ? score.features!.stages! : null;
      const fs = stages ? await heatmap(stages.fs) : null;
      const fsTa = !stages || c.taStage === null || !stages.fsTa[0] ? null : await heatmap(stages.fsTa[0]);
      const logits = spec.head ? score.outputs[spec.head.logits]?.data : undefined;
      return { score, heat: fs ? { h: fs.h, w: fs.w, fs: fs.map, fsTa: fsTa?.map ?? null } : null, probs: logits ? softmax(logits) : null, ms };
    }));
    return { inspections, taStage: maps ? scores.map((s) => s.features!.stages!.ta?.data ?? new Float32Array()).filter((d) => d.length > 0) : [] };
  }

  const engine: OrtEngine = {
    runtime: `onnxruntime-web/${ep}`,
    note,
    config,
    preprocess: spec.preprocess,
    chw: spec.chw,
    classes: spec.classes,
    runStages,
    inspect: async (samples) => (await runStages(samples)).inspections,
    dispose: () => current.detector.dispose(),
  };
  return engine;
}
