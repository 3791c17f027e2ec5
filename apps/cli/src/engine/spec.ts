import { MAX_JSON_BYTES, readRegularFileSync } from '@fsta/onnxruntime-node/read-file';
import { FstaError } from '@fsta/core';
import type { PreprocessSpec } from '@fsta/core';

/** Everything the CLI needs to know about a model, however it was found. */
export interface ModelSpec {
  modelPath: string;
  input: string;
  output: string;
  preprocess: PreprocessSpec;
  /** Stage name (C3, C4, C5, …) → tensor name in the graph. */
  stages: Record<string, string>;
  /** The final linear layer, for GradNorm, ReAct and ASH; null when the model has none. */
  head: { penultimate: string; weight: string; bias: string | null } | null;
  classes?: string[];
  /** Where the stage names came from, for humans: a manifest file or a backbone name. */
  source: string;
}

const bad = (file: string, why: string) => new FstaError('BAD_MANIFEST', `manifest ${file} ${why}`, 'write it like apps/cli/assets/demo/demo.json: input, output, preprocess, stages {C4, C5: {tensor}}, head {penultimate, weight, bias}');

/** Reads a model manifest JSON (the demo's demo.json format). */
export function specFromManifest(modelPath: string, manifestPath: string): ModelSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readRegularFileSync(manifestPath, { maxBytes: MAX_JSON_BYTES, what: 'manifest' }).toString('utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof FstaError) throw e;
    if (err.code === 'ENOENT') throw new FstaError('NOT_FOUND', `manifest ${manifestPath} does not exist`, 'pass the path of an existing manifest JSON');
    throw bad(manifestPath, `is not valid JSON (${err.message})`);
  }
  const m = raw as Record<string, unknown>;
  if (!m || typeof m !== 'object') throw bad(manifestPath, 'is not a JSON object');
  const stagesIn = m.stages as Record<string, unknown> | undefined;
  if (!stagesIn || typeof stagesIn !== 'object') throw bad(manifestPath, 'has no "stages" object');
  const stages: Record<string, string> = {};
  for (const [name, v] of Object.entries(stagesIn)) {
    const tensor = typeof v === 'string' ? v : (v as { tensor?: unknown })?.tensor;
    if (typeof tensor !== 'string') throw bad(manifestPath, `stage "${name}" has no tensor name`);
    stages[name] = tensor;
  }
  const pre = m.preprocess as PreprocessSpec | undefined;
  if (!pre || typeof pre !== 'object') throw bad(manifestPath, 'has no "preprocess" object');
  const h = m.head as { penultimate?: unknown; weight?: unknown; bias?: unknown } | undefined;
  let head: ModelSpec['head'] = null;
  if (h) {
    if (typeof h.penultimate !== 'string' || typeof h.weight !== 'string') throw bad(manifestPath, 'has a "head" without penultimate and weight tensor names');
    head = { penultimate: h.penultimate, weight: h.weight, bias: typeof h.bias === 'string' ? h.bias : null };
  }
  const spec: ModelSpec = {
    modelPath,
    input: typeof m.input === 'string' ? m.input : 'input',
    output: typeof m.output === 'string' ? m.output : 'logits',
    preprocess: pre,
    stages,
    head,
    source: `manifest ${manifestPath}`,
  };
  if (Array.isArray(m.classes)) spec.classes = m.classes.map(String);
  return spec;
}

/** The tensor of a stage, or an error listing the stages there are. */
export function stageTensor(spec: ModelSpec, stage: string, flag: string): string {
  const t = spec.stages[stage];
  if (!t) throw new FstaError('UNKNOWN_STAGE', `${flag} ${stage} is not a stage of this model (it has ${Object.keys(spec.stages).join(', ')})`, `pass one of ${Object.keys(spec.stages).join(', ')}`);
  return t;
}
