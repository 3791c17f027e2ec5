import * as ort from 'onnxruntime-web';
import { FstaError, referenceOps, scoresFromOutputs, stackBatch, tensor, type FstaConfig, type NamedOutput } from '@fsta/core';
import type { Engine, Inspection } from './engine.js';
import { softmax } from './engine.js';
import { fsHeatmap } from './heatmap.js';
import type { ModelSpec } from './model-spec.js';
import { patchKey, patchedBytes } from './patched-model.js';

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
const openSession = (bytes: Uint8Array, ep: Ep) => ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });

/** Opens the runtime asked for, or WASM with a note saying why not. */
async function openWithFallback(bytes: Uint8Array, want: Ep): Promise<{ session: ort.InferenceSession; ep: Ep; note: string | null }> {
  if (want === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu || !(await gpu.requestAdapter())) {
      return { session: await openSession(bytes, 'wasm'), ep: 'wasm', note: 'WebGPU is not available in this browser, so the model runs on onnxruntime-web WASM (CPU) instead.' };
    }
    try {
      return { session: await openSession(bytes, 'webgpu'), ep: 'webgpu', note: null };
    } catch (e) {
      return { session: await openSession(bytes, 'wasm'), ep: 'wasm', note: `WebGPU failed to start (${(e as Error).message.split('\n')[0]}), so the model runs on onnxruntime-web WASM (CPU) instead.` };
    }
  }
  return { session: await openSession(bytes, 'wasm'), ep: 'wasm', note: null };
}

/** Per-image slices of an [N, …] output. */
const perImage = (o: NamedOutput | undefined, n: number): Float32Array[] | null => {
  if (!o) return null;
  const per = o.data.length / n;
  return Array.from({ length: n }, (_, i) => o.data.slice(i * per, (i + 1) * per));
};

/** Heatmaps of an NCHW stage output, per image (H×W each). */
async function heatmaps(o: NamedOutput | undefined, n: number): Promise<{ h: number; w: number; maps: Float32Array[] } | null> {
  if (!o) return null;
  const [, , h, w] = o.shape as [number, number, number, number];
  return { h, w, maps: perImage({ data: await referenceOps.read(fsHeatmap(referenceOps, tensor(o.data, o.shape))), shape: [n, h, w] }, n)! };
}

/**
 * The model on onnxruntime-web, patched in the page by @fsta/onnx (the same patch the
 * ONNX adapters run): one session run gives the model's outputs, FS, FS+TA, the
 * classifier and fused scores, and the stage maps. Scores are assembled by core's
 * scoresFromOutputs, as in every adapter; the page adds heatmaps and probabilities.
 */
export async function createOrtEngine(spec: ModelSpec, config: FstaConfig, want: Ep): Promise<OrtEngine> {
  configureOrt();
  const first = await openWithFallback(patchedBytes(spec, config), want);
  let open = { key: patchKey(config), session: first.session };

  async function sessionFor(c: FstaConfig, stages: boolean): Promise<ort.InferenceSession> {
    const key = patchKey(c, stages);
    if (key !== open.key) {
      const bytes = patchedBytes(spec, c, stages);
      await open.session.release();
      open = { key, session: await openSession(bytes, first.ep) };
    }
    return open.session;
  }

  async function runStages(samples: readonly Float32Array[], c: FstaConfig = engine.config, { stages: maps = true } = {}): Promise<StageRun> {
    const session = await sessionFor(c, maps);
    const n = samples.length;
    const batch = stackBatch([...samples], spec.chw);
    const started = performance.now();
    const raw = await session.run({ [spec.input]: new ort.Tensor('float32', batch.data, batch.shape) });
    const named: Record<string, NamedOutput> = {};
    for (const [name, t] of Object.entries(raw)) {
      const d = await t.getData(true);
      if (!(d instanceof Float32Array)) throw new FstaError('BAD_MODEL', `model output "${name}" is ${t.type}, not float32`, 'export the model with float32 outputs');
      named[name] = { data: d, shape: [...t.dims] };
    }
    const ms = (performance.now() - started) / n;
    const scores = scoresFromOutputs(named, c, n);
    const heat = maps ? await heatmaps(named['fsta/stage/fs'], n) : null;
    const heatTa = !maps || c.taStage === null ? null : await heatmaps(named['fsta/stage/fs_ta'], n);
    const logits = spec.head ? perImage(named[spec.head.logits], n) : null;
    const inspections = scores.map((score, i): Inspection => ({
      score,
      heat: heat ? { h: heat.h, w: heat.w, fs: heat.maps[i]!, fsTa: heatTa?.maps[i] ?? null } : null,
      probs: logits ? softmax(logits[i]!) : null,
      ms,
    }));
    return { inspections, taStage: perImage(named['fsta/stage/ta'], n) ?? [] };
  }

  const engine: OrtEngine = {
    runtime: `onnxruntime-web/${first.ep}`,
    note: first.note,
    config,
    preprocess: spec.preprocess,
    chw: spec.chw,
    classes: spec.classes,
    runStages,
    inspect: async (samples) => (await runStages(samples)).inspections,
    dispose: () => open.session.release(),
  };
  return engine;
}
