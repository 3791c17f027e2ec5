import { describe, expect, it } from 'vitest';
import { featureSim, featureSimMap, referenceOps as ops, tensor, thresholdActivation } from '../src/index.js';

describe('featureSim', () => {
  it('is 0 on a constant map', async () => {
    const f = tensor(new Float32Array(2 * 3 * 4 * 4).fill(1.7), [2, 3, 4, 4]);
    expect(Array.from(await ops.read(featureSim(ops, f)))).toEqual([0, 0]);
  });
  it('is the hand-derived mean absolute deviation', async () => {
    // one sample, 1 channel, 2x2: values 0, 2, 4, 6 -> mean 3, |dev| = 3,1,1,3 -> 2
    const f = tensor([0, 2, 4, 6], [1, 1, 2, 2]);
    expect(Array.from(await ops.read(featureSim(ops, f)))).toEqual([2]);
  });
  it('rejects negative k', () => {
    expect(() => thresholdActivation(ops, tensor([1], [1, 1, 1, 1]), -1)).toThrow(/k ≥ 0/);
  });
});

describe('featureSimMap', () => {
  it('is the hand-derived per-position channel mean of |f − GAP(f)|', async () => {
    // 2 channels, 1x2: c0 = [0, 4] (mean 2, |dev| 2, 2); c1 = [1, 1] (|dev| 0, 0) -> [1, 1]
    // and a second sample: c0 = [3, 5] (|dev| 1, 1); c1 = [0, 6] (|dev| 3, 3) -> [2, 2]
    const f = tensor([0, 4, 1, 1, 3, 5, 0, 6], [2, 2, 1, 2]);
    const m = featureSimMap(ops, f);
    expect(ops.shape(m)).toEqual([2, 1, 2]);
    expect(Array.from(await ops.read(m))).toEqual([1, 1, 2, 2]);
  });
  it('has featureSim as its spatial mean, on maps and on tokens', async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4 - 1;
    for (const shape of [[3, 5, 4, 6], [2, 7, 9]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const f = tensor(Float32Array.from({ length: n }, rand), shape);
      const map = await ops.read(featureSimMap(ops, f));
      const fs = await ops.read(featureSim(ops, f));
      const per = map.length / shape[0]!;
      for (let i = 0; i < shape[0]!; i++) {
        const mean = map.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0) / per;
        expect(mean).toBeCloseTo(fs[i]!, 5);
      }
    }
  });
  it('rejects pooled features', () => {
    expect(() => featureSimMap(ops, tensor([1, 2], [1, 2]))).toThrow(/rank 4/);
  });
});
