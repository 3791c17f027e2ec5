import { FstaError, type PreprocessSpec } from '@fsta/core';
import { decodeModel } from '@fsta/onnx';
import type { ModelSpec } from './model-spec.js';

/** The CLI's demo description (apps/cli/assets/demo/demo.json, written by tools/train_demo_model.py). */
interface DemoJson {
  name: string;
  input: string;
  output: string;
  preprocess: PreprocessSpec;
  stages: Record<string, { tensor: string }>;
  head?: { penultimate: string };
  classes: string[];
}

declare const __DEMO_SAMPLES__: string[];
declare const __TFJS_DEMO__: boolean;
/** Bundled sample PNGs, relative to ./demo/ (listed at build time). */
export const demoSamples: readonly string[] = __DEMO_SAMPLES__;

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new FstaError('DEMO_MISSING', `the bundled demo file ${url} is missing (HTTP ${r.status})`, 'build the demo assets: /usr/bin/python3 tools/train_demo_model.py, then rebuild the page');
  return r;
}

/**
 * The demo as a ModelSpec. Its tfjs twin (tools/onnx-to-tfjs-resnet.mjs, run at build
 * time) names the stage outputs layer1…layer3, which are demo.json's C3…C5.
 */
export async function loadDemo(): Promise<ModelSpec> {
  const meta = (await (await fetchOk('./demo/demo.json')).json()) as DemoJson;
  const model = decodeModel(new Uint8Array(await (await fetchOk('./demo/model.onnx')).arrayBuffer()));
  const [h, w] = meta.preprocess.size as [number, number];
  const stages = Object.fromEntries(Object.entries(meta.stages).map(([k, v]) => [k, v.tensor]));
  return {
    name: meta.name,
    model,
    input: meta.input,
    stages,
    fsStage: 'C5',
    taStage: stages.C4 ? 'C4' : null,
    defaultK: 0,
    head: meta.head ? { penultimate: meta.head.penultimate, logits: meta.output } : null,
    preprocess: meta.preprocess,
    chw: [3, h, w],
    classes: meta.classes,
    tfjs: __TFJS_DEMO__ ? { url: new URL('./tfjs-demo/model.json', location.href).href, stages: { C3: 'layer1', C4: 'layer2', C5: 'layer3' }, logits: 'logits' } : null,
    calibrationImages: demoSamples.filter((s) => s.startsWith('images/id/')),
    note: null,
  };
}
