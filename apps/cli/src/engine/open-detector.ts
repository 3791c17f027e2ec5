import type { FstaConfig, LinearHead } from '@fsta/core';
import { createDetector, installedProviders } from '@fsta/onnxruntime-node';
import type { OnnxDetector } from '@fsta/onnx';
import type { ModelSpec } from './model.js';

/** A detector opened for analysis: every TA setting in one graph, stage maps and penultimate features on request. */
export interface Engine {
  detector: OnnxDetector;
  spec: ModelSpec;
  /** The logits output the classifier scores are computed from; null when the model has none. */
  logits: string | null;
  /** The final linear layer, for GradNorm, ReAct and ASH; null when the model has none. */
  head: LinearHead | null;
  hasPenultimate: boolean;
  hasTa: boolean;
  batch: number;
  dispose(): Promise<void>;
}

/** Lines already printed: a calibrate opens several detectors, and each would repeat its provider fallback and stage warnings. */
const logged = new Set<string>();

/**
 * Opens @fsta/onnxruntime-node's detector on the model, exactly as a library user would,
 * plus what analysis needs: FS+TA at every k of `ks` from one trunk pass, the stage maps
 * and the penultimate features. The CLI opens no session of its own. With `config`, the
 * detector runs that config (fsta score); without, no classifier is fused (eval and calibrate
 * compute every method from the logits and features).
 */
export async function openEngine(spec: ModelSpec, stages: { fsStage: string; taStage: string | null }, ks: readonly (number | { taStage: string; k: number })[], batch: number, log: (line: string) => void, sampleStages: readonly string[] = [], config?: FstaConfig): Promise<Engine> {
  const hasHead = spec.resolution.head !== null;
  const detector = await createDetector({
    model: spec.decoded,
    ...(spec.manifest ? { manifest: spec.manifest } : { backbone: spec.backbone }),
    fsStage: stages.fsStage,
    taStage: stages.taStage,
    ...(stages.taStage !== null && typeof ks[0] === 'number' ? { k: ks[0], ks: ks.slice(1) } : {}),
    // fsta score's config (its classifier, λ, temperature, threshold): the detector computes the
    // score and verdict as for a library user. The command has already checked whose config it is.
    ...(config ? { config, allowForeignConfig: true } : { classifier: null }),
    expose: { stages: true, penultimate: hasHead, tensorsOf: sampleStages },
    batchSize: batch,
    // CUDA where onnxruntime-node has it; a CPU-only install is not worth a line per command.
    executionProviders: installedProviders(),
    logger: (line) => {
      if (!logged.has(line)) log(line);
      logged.add(line);
    },
  });
  return {
    detector, spec, logits: spec.logits,
    head: detector.model.head,
    hasPenultimate: hasHead,
    hasTa: stages.taStage !== null,
    batch,
    dispose: () => detector.dispose(),
  };
}
