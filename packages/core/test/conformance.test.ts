import { describe, expect, it } from 'vitest';
import { conformanceCases, eagerEvaluator, runConformance } from '@fsta/core/conformance';
import { referenceOps, type EagerOps, type RefTensor } from '@fsta/core';

describe('conformance suite on the reference backend', () => {
  const evaluate = eagerEvaluator(referenceOps);
  it.each(conformanceCases.map((k) => [k.name, k] as const))('%s', async (_name, kase) => {
    const [result] = await runConformance(evaluate, { only: (n) => n === kase.name });
    expect(result!.message).toBe('');
    expect(result!.ok).toBe(true);
  });
});

describe('the suite itself', () => {
  it('covers every op of the contract', () => {
    const used = new Set<string>();
    const spy = new Proxy(referenceOps, { get: (t, p, r) => (used.add(String(p)), Reflect.get(t, p, r)) });
    for (const k of conformanceCases) k.build(spy, ...k.inputs.map((i) => referenceOps.fromArray(i.data, i.shape)));
    const contract = ['shape', 'constant', 'add', 'sub', 'mul', 'div', 'maximum', 'greater', 'abs', 'neg', 'relu', 'clamp', 'exp', 'log', 'sqrt', 'square', 'sum', 'mean', 'max', 'min', 'logsumexp', 'softmax', 'percentile', 'topk', 'matmul', 'linear', 'reshape', 'transpose', 'dispose'];
    expect(contract.filter((op) => !used.has(op))).toEqual([]);
  });
  it('has unique names', () => {
    expect(new Set(conformanceCases.map((k) => k.name)).size).toBe(conformanceCases.length);
  });
  it('catches a broken backend and reports the error instead of throwing', async () => {
    // A backend whose percentile uses the lower order statistic and whose exp throws.
    const broken: EagerOps<RefTensor> = { ...referenceOps, percentile: (x, q, axis, keep) => referenceOps.percentile(referenceOps.clamp(x, undefined, undefined), q === 50 ? 33.4 : q, axis, keep), exp: () => { throw new Error('no exp'); } };
    const results = await runConformance(eagerEvaluator(broken), { only: /percentile|^exp$/ });
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(byName['percentile: 50 of an even count averages the middle two']!.ok).toBe(false);
    expect(byName['percentile: 50 of an even count averages the middle two']!.maxAbsErr).toBeCloseTo(0.498, 3);
    expect(byName['exp']!.message).toMatch(/threw: no exp/);
    expect(byName['percentile: 90 interpolates (pos 2.7 → 3.7)']!.ok).toBe(true);
  });
  it('reports a shape mismatch', async () => {
    const results = await runConformance(async () => ({ data: new Float32Array([11, 22, 33, 14, 25, 36]), shape: [6] }), { only: 'add: (2,3)' });
    expect(results).toHaveLength(1);
    expect(results[0]!.message).toMatch(/shape \[6\], expected \[2, 3\]/);
  });
});
