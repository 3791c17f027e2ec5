import { describe, expect, it } from 'vitest';
import { featureSim, referenceOps as ops, tensor, thresholdActivation } from '../src/index.js';

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
