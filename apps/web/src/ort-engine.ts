import * as ort from 'onnxruntime-web';
import { TA_SAMPLE, referenceOps, stackBatch, tensor, type FeatureMap, type FstaConfig } from '@fsta/core';
import { encodeModel } from '@fsta/onnx';
import { createDetector } from '@fsta/onnxruntime-web';
import type { Engine, Inspection } from './engine.js';
import { softmax } from './engine.js';
import { fsHeatmap } from './heatmap.js';
import type { ModelSpec } from './model-spec.js';
import type { Runner } from './calibrate-page.js';
import { detectorRunner } from './detector-runner.js';

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
export async function createOrtEngine(spec: ModelSpec, config: FstaConfig, want: Ep): Promise<Engine> {
  configureOrt();
  let note: string | null = null;
  const detector = await createDetector({
    model: encodeModel(spec.model),
    manifest: manifestOf(spec),
    config,
    expose: { stages: true },
    executionProviders: want === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    logger: (line) => { note = line.replace(/^@fsta\/onnxruntime-web: /, ''); },
  });

  async function inspect(samples: readonly Float32Array[]): Promise<Inspection[]> {
    const n = samples.length;
    const batch = stackBatch([...samples], spec.chw);
    const started = performance.now();
    const scores = await detector.score({ data: batch.data, shape: batch.shape }, { include: ['stages'] });
    const ms = (performance.now() - started) / n;
    return Promise.all(scores.map(async (score): Promise<Inspection> => {
      const stages = score.features!.stages!;
      const fs = await heatmap(stages.fs);
      const fsTa = config.taStage === null || !stages.fsTa[0] ? null : await heatmap(stages.fsTa[0]);
      const logits = spec.head ? score.outputs[spec.head.logits]?.data : undefined;
      return { score, heat: { h: fs.h, w: fs.w, fs: fs.map, fsTa: fsTa?.map ?? null }, probs: logits ? softmax(logits) : null, ms };
    }));
  }

  return {
    runtime: detector.runtime,
    note,
    config,
    preprocess: spec.preprocess,
    chw: spec.chw,
    classes: spec.classes,
    inspect,
    dispose: () => detector.dispose(),
  };
}

/**
 * Calibration's runner on onnxruntime-web's WASM (calibration belongs to the model, not
 * the runtime: deterministic on any machine), through the same adapter a library user
 * runs. Dispose it when calibration is done.
 */
export function wasmRunner(spec: ModelSpec): Runner & { dispose(): Promise<void> } {
  configureOrt();
  const bytes = encodeModel(spec.model);
  return detectorRunner(spec, ({ config, ks, tensorsOf }) => createDetector({
    model: bytes,
    manifest: manifestOf(spec),
    config,
    ...(ks.length ? { ks } : {}),
    ...(tensorsOf.length ? { expose: { stages: true, tensorsOf } } : {}),
    executionProviders: ['wasm'],
    batchSize: TA_SAMPLE.batch,
    // The stage warnings are shown with the runtime the images are scored on.
    logger: () => undefined,
  }));
}
