import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { tidy } from '@fsta/core';
import { eagerEvaluator, runConformance } from '@fsta/core/conformance';
import type { ConformanceBuild, ConformanceEvaluate } from '@fsta/core/conformance';
import { createDetector, tfjsOps } from '@fsta/tfjs';

export interface BackendJob {
  backend: 'webgl' | 'webgpu';
  /** Number of images (from the front of the batch) to score there. */
  images: number;
  conformance: boolean;
}

export interface BackendResult {
  backend: string;
  runtime?: string;
  flags?: Record<string, unknown>;
  rows?: { fs: number; fsTa: number; msp: number; energy: number; score: number }[];
  conformance?: { name: string; ok: boolean; message?: string }[];
  leaked?: number;
  ms?: number;
  error?: string;
}

// As in @fsta/tfjs's Node conformance test: tidy each case so the leak count is about tfjsOps.
const tidied = (evaluate: ConformanceEvaluate): ConformanceEvaluate => (build, inputs) =>
  evaluate(((o, ...xs) => tidy(o, (p) => build(p, ...xs))) as ConformanceBuild, inputs);

/**
 * In the page: for each backend, switch tf to it, score the same NCHW batch the Node
 * side scored with the ResNet-20 LayersModel, and run core's conformance suite there.
 */
export async function run(args: { modelUrl: string; data: number[]; shape: number[]; jobs: BackendJob[] }): Promise<BackendResult[]> {
  const per = args.shape.slice(1).reduce((a, b) => a * b, 1);
  const out: BackendResult[] = [];
  for (const job of args.jobs) {
    const r: BackendResult = { backend: job.backend };
    out.push(r);
    try {
      // setBackend resolves false (no throw) when a backend cannot start: report, never fall back.
      const ok = await tf.setBackend(job.backend);
      await tf.ready();
      r.backend = tf.getBackend();
      if (!ok || r.backend !== job.backend) throw new Error(`tf.setBackend('${job.backend}') did not start it (active: ${r.backend})`);
      if (job.backend === 'webgl') r.flags = { WEBGL_VERSION: tf.env().getNumber('WEBGL_VERSION'), WEBGL_RENDER_FLOAT32_ENABLED: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'), WEBGL_PACK: tf.env().getBool('WEBGL_PACK') };
      // Loaded per backend, so that its weights live where the job runs.
      const model = await tfl.loadLayersModel(args.modelUrl);
      const t0 = performance.now();
      const det = await createDetector({ model, stages: { fs: 'layer3', ta: 'layer2' }, k: 0.5, logits: 'logits', config: { classifier: 'energy', lambda: 0.016 } });
      r.runtime = det.runtime;
      const scores = await det.score({ data: Float32Array.from(args.data.slice(0, job.images * per)), shape: [job.images, ...args.shape.slice(1)] });
      r.rows = scores.map((s) => ({ fs: s.fs, fsTa: s.fsTa!, msp: s.classifier.msp!, energy: s.classifier.energy!, score: s.score }));
      r.ms = performance.now() - t0;
      await det.dispose();
      model.dispose();
      if (job.conformance) {
        const before = tf.memory().numTensors;
        r.conformance = (await runConformance(tidied(eagerEvaluator(tfjsOps(tf))))).map((c) => ({ name: c.name, ok: c.ok, ...(c.ok ? {} : { message: c.message }) }));
        r.leaked = tf.memory().numTensors - before;
      }
      if (tf.getBackend() !== job.backend) throw new Error(`tf switched to ${tf.getBackend()} while running on ${job.backend}`);
    } catch (e) {
      r.error = String((e as Error).stack ?? e);
    }
  }
  return out;
}
