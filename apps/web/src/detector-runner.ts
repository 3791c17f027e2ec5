import { stackBatch, type FstaConfig } from '@fsta/core';
import { taFor } from '@fsta/backbones';
import type { OnnxDetector } from '@fsta/onnx';
import type { RunScores, Runner, Tail } from './calibrate-page.js';
import type { ModelSpec } from './model-spec.js';
import { patchKey } from './patched-model.js';

/** What calibration asks a detector to be opened with: the config, more TA tails, stages whose TA tensor it exposes. */
export interface OpenOptions {
  config: FstaConfig;
  ks: readonly Tail[];
  tensorsOf: readonly string[];
}

/** Opens a detector on an onnxruntime adapter (onnxruntime-web in the page, onnxruntime-node in its test). */
export type OpenDetector = (options: OpenOptions) => Promise<OnnxDetector>;

/**
 * Calibration's runner on an adapter's detector: the detector is opened with the run's
 * settings (config, `ks` as tails, TA tensors of `sampleStages` exposed, which come with the stage maps) and kept while
 * the next run asks for the same, so the ID images and the synthetic sets share one
 * session. The scores are the detector's own: FS, FS+TA per tail (`fsTaByK`), the
 * in-graph classifier scores.
 */
export function detectorRunner(spec: Pick<ModelSpec, 'chw'>, open: OpenDetector): Runner & { dispose(): Promise<void> } {
  let current: { key: string; detector: Promise<OnnxDetector> } | null = null;
  const dispose = async () => {
    const d = current?.detector;
    current = null;
    if (d) await (await d).dispose();
  };
  const run: Runner = async (samples, config, { ks = [], sampleStages = [] } = {}): Promise<RunScores> => {
    const key = JSON.stringify([patchKey(config), ks, sampleStages]);
    if (current?.key !== key) {
      await dispose();
      current = { key, detector: open({ config, ks, tensorsOf: sampleStages }) };
    }
    const detector = await current.detector;
    const batch = stackBatch([...samples], spec.chw);
    const scores = await detector.score({ data: batch.data, shape: batch.shape }, { include: sampleStages.length ? ['stages'] : [] });
    const out: RunScores = { fs: [], fsTa: detector.tails.map(() => []), classifier: {}, stageTensors: {} };
    const tensors = sampleStages.map((st) => [st, taFor(detector.model.backbone, st).tensor] as const);
    for (const [st] of tensors) out.stageTensors[st] = [];
    for (const s of scores) {
      out.fs.push(s.fs);
      detector.tails.forEach((_, j) => out.fsTa[j]!.push(s.fsTaByK![j]!));
      for (const [k, v] of Object.entries(s.classifier)) (out.classifier[k as keyof RunScores['classifier']] ??= []).push(v);
      for (const [st, t] of tensors) out.stageTensors[st]!.push(s.features!.stages!.tensors![t]!.data);
    }
    return out;
  };
  return Object.assign(run, { dispose });
}
