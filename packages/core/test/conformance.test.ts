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

describe('reference linear', () => {
  it('equals the plain per-output sum bit for bit, for output counts that are and are not multiples of four', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    for (const [N, O, D] of [[3, 7, 5], [2, 8, 33], [1, 1, 4], [4, 3, 2]] as const) {
      const x = Float32Array.from({ length: N * D }, rnd), w = Float32Array.from({ length: O * D }, rnd), b = Float32Array.from({ length: O }, rnd);
      for (const bias of [b, null]) {
        const got = referenceOps.linear(referenceOps.fromArray(x, [N, D]), referenceOps.fromArray(w, [O, D]), bias ? referenceOps.fromArray(bias, [O]) : undefined);
        const want = new Float32Array(N * O);
        for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) { let s = bias ? bias[o]! : 0; for (let k = 0; k < D; k++) s += x[n * D + k]! * w[o * D + k]!; want[n * O + o] = s; }
        expect(got.shape).toEqual([N, O]);
        expect(Array.from(got.data)).toEqual(Array.from(want));
      }
    }
  });
});
