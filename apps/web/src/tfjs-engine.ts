import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-cpu';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { FstaError, type FstaConfig } from '@fsta/core';
import { createDetector } from '@fsta/tfjs';
import { softmax, type Engine, type Inspection } from './engine.js';
import type { ModelSpec } from './model-spec.js';

/**
 * The model's tfjs twin on WebGL, scored by @fsta/tfjs's createDetector (core's
 * formulas on tf ops; TA re-runs the layers after the TA stage in tfjs). The detector
 * gives scores and the model's own outputs; the stage maps stay inside it, so this
 * runtime shows no heatmaps.
 */
export async function createTfjsEngine(spec: ModelSpec, config: FstaConfig): Promise<Engine> {
  const twin = spec.tfjs;
  if (!twin) throw new FstaError('NO_TFJS_MODEL', `${spec.name} has no TensorFlow.js version`, 'pick an onnxruntime-web runtime (TensorFlow.js runs the bundled demo, converted at build time)');
  let note: string | null = null;
  if (!(await tf.setBackend('webgl').catch(() => false)) || tf.getBackend() !== 'webgl') {
    await tf.setBackend('cpu');
    note = 'WebGL is not available in this browser, so TensorFlow.js runs on its CPU backend instead.';
  }
  await tf.ready();
  const model = await loadLayersModel(twin.url);
  const stage = (s: string) => {
    const layer = twin.stages[s];
    if (!layer) throw new FstaError('UNKNOWN_STAGE', `the TensorFlow.js model has no layer for stage ${s}`, 'pick an onnxruntime-web runtime');
    return layer;
  };
  const detector = await createDetector({
    model,
    tf,
    config: { ...config },
    stages: { fs: stage(config.fsStage), ...(config.taStage ? { ta: stage(config.taStage) } : {}) },
    logits: twin.logits,
    preprocess: spec.preprocess,
  });
  // One run on a blank image first: WebGL compiles its shaders on the first run, which is not the model's time.
  await detector.score({ data: new Float32Array(spec.chw[0] * spec.chw[1] * spec.chw[2]), shape: [...spec.chw] });
  return {
    runtime: `tfjs/${tf.getBackend()}`,
    note,
    config,
    preprocess: spec.preprocess,
    chw: spec.chw,
    classes: spec.classes,
    async inspect(samples): Promise<Inspection[]> {
      const started = performance.now();
      const scores = await detector.score(samples.map((data) => ({ data, shape: [...spec.chw] })));
      const ms = (performance.now() - started) / samples.length;
      return scores.map((score) => {
        const logits = score.outputs[twin.logits] ?? Object.values(score.outputs)[0];
        return { score, heat: null, probs: logits ? softmax(logits.data) : null, ms };
      });
    },
    async dispose() {
      await detector.dispose();
      model.dispose();
    },
  };
}
