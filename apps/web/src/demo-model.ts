import { FstaError, type PreprocessSpec } from '@fsta/core';
import { decodeModel } from '@fsta/onnx';
import type { ModelSpec } from './ort-engine.js';

/** The CLI's demo description (apps/cli/assets/demo/demo.json, written by tools/train_demo_model.py). */
interface DemoJson {
  name: string;
  description: string;
  input: string;
  output: string;
  preprocess: PreprocessSpec;
  stages: Record<string, { tensor: string }>;
  classes: string[];
}

declare const __DEMO_SAMPLES__: string[];
/** Bundled sample PNGs, relative to ./demo/ (listed at build time). */
export const demoSamples: readonly string[] = __DEMO_SAMPLES__;

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new FstaError('DEMO_MISSING', `the bundled demo file ${url} is missing (HTTP ${r.status})`, 'build the demo assets: /usr/bin/python3 tools/train_demo_model.py, then rebuild the page');
  return r;
}

export async function loadDemo(): Promise<ModelSpec & { name: string; description: string }> {
  const meta = (await (await fetchOk('./demo/demo.json')).json()) as DemoJson;
  const model = decodeModel(new Uint8Array(await (await fetchOk('./demo/model.onnx')).arrayBuffer()));
  const [h, w] = meta.preprocess.size as [number, number];
  return {
    name: meta.name,
    description: meta.description,
    model,
    input: meta.input,
    fsTensor: meta.stages.C5!.tensor,
    taTensor: meta.stages.C4?.tensor ?? null,
    logits: meta.output,
    preprocess: meta.preprocess,
    chw: [3, h, w],
    classes: meta.classes,
  };
}
