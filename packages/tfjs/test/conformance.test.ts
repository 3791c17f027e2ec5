import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { conformanceCases, eagerEvaluator, runConformance } from '@fsta/core/conformance';
import type { ConformanceBuild, ConformanceEvaluate, ConformanceResult } from '@fsta/core/conformance';
import { tidy } from '@fsta/core';
import { tfjsOps } from '../src/ops.js';
import { nodeBackends, useBackend } from './backend.js';

// Some cases chain ops without tidy and eagerEvaluator frees only inputs and output;
// tidying each build keeps the leak check about tfjsOps, not about the cases.
const tidied = (evaluate: ConformanceEvaluate): ConformanceEvaluate => (build, inputs) =>
  evaluate(((o, ...xs) => tidy(o, (p) => build(p, ...xs))) as ConformanceBuild, inputs);

describe.each(nodeBackends)("core's conformance suite on tfjs/%s", (backend) => {
  let results: Map<string, ConformanceResult>;
  let leaked = 0;
  beforeAll(async () => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    results = new Map((await runConformance(tidied(eagerEvaluator(tfjsOps(tf))))).map((r) => [r.name, r]));
    leaked = tf.memory().numTensors - before;
  });
  it('really ran on the backend, ran every case and freed every tensor', () => {
    expect(tf.getBackend()).toBe(backend);
    expect(results.size).toBe(conformanceCases.length);
    expect(leaked).toBe(0);
  });
  it.each(conformanceCases.map((c) => c.name))('%s', (name) => {
    const r = results.get(name)!;
    expect(r.ok, `${name}: ${r.message}`).toBe(true);
  });
});
