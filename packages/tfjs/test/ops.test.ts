import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { FstaError, featureSim, thresholdActivation, tidy } from '@fsta/core';
import { nodeBackends, useBackend } from './backend.js';
import { tfjsOps } from '../src/ops.js';

// Expected values are worked out by hand in the comments, not by another backend.
describe.each(nodeBackends)('tfjsOps on %s', (backend) => {
  const o = tfjsOps(tf);
  beforeAll(() => useBackend(backend));
  const t = (data: number[], shape: number[]) => o.fromArray(data, shape);
  const read = async (x: Tensor) => ({ data: Array.from(await o.read(x)), shape: [...x.shape] });
  const close = (got: { data: number[]; shape: number[] }, data: number[], shape: number[], tol = 1e-6) => {
    expect(got.shape).toEqual(shape);
    expect(got.data.length).toBe(data.length);
    got.data.forEach((v, i) => v !== data[i] && expect(Math.abs(v - data[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(data[i]!))));
  };

  it('really runs on the requested backend', () => {
    expect(tf.getBackend()).toBe(backend);
    expect(o.name).toBe(`tfjs/${backend}`);
  });

  it('broadcasts binary ops as NumPy does', async () => {
    const a = t([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = t([10, 20, 30], [3]);
    const c = t([1, -1], [2, 1]);
    close(await read(o.add(a, b)), [11, 22, 33, 14, 25, 36], [2, 3]);
    close(await read(o.sub(a, c)), [0, 1, 2, 5, 6, 7], [2, 3]);
    close(await read(o.mul(c, b)), [10, 20, 30, -10, -20, -30], [2, 3]);
    close(await read(o.div(b, t([4], []))), [2.5, 5, 7.5], [3]);
    close(await read(o.maximum(a, t([3.5], [1]))), [3.5, 3.5, 3.5, 4, 5, 6], [2, 3]);
    close(await read(o.greater(a, t([3], []))), [0, 0, 0, 1, 1, 1], [2, 3]);
    expect(() => o.add(a, t([1, 2], [2]))).toThrow(/cannot broadcast shapes \[2, 3\] and \[2\]/);
  });

  it('computes unary ops', async () => {
    const x = t([-2, -0.5, 0, 1, 4], [5]);
    close(await read(o.abs(x)), [2, 0.5, 0, 1, 4], [5]);
    close(await read(o.neg(x)), [2, 0.5, -0, -1, -4], [5]);
    close(await read(o.relu(x)), [0, 0, 0, 1, 4], [5]);
    close(await read(o.clamp(x, -1, 2)), [-1, -0.5, 0, 1, 2], [5]);
    close(await read(o.clamp(x, 0)), [0, 0, 0, 1, 4], [5]);
    close(await read(o.clamp(x, undefined, 0)), [-2, -0.5, 0, 0, 0], [5]);
    close(await read(o.square(x)), [4, 0.25, 0, 1, 16], [5]);
    close(await read(o.sqrt(t([0, 1, 4, 9], [4]))), [0, 1, 2, 3], [4]);
    close(await read(o.exp(t([0, 1], [2]))), [1, Math.E], [2]);
    close(await read(o.log(t([1, Math.E], [2]))), [0, 1], [2]);
  });

  it('reduces over negative axes with and without keepDims', async () => {
    // x[i][j][k] = 6i + 3j + k, shape (2, 2, 3)
    const x = t([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 2, 3]);
    close(await read(o.sum(x, [-1])), [3, 12, 21, 30], [2, 2]);
    close(await read(o.sum(x, [1, 2], true)), [15, 51], [2, 1, 1]);
    close(await read(o.mean(x, [0, -1])), [4, 7], [2]);
    close(await read(o.max(x, [1])), [3, 4, 5, 9, 10, 11], [2, 3]);
    close(await read(o.min(x, [-3], true)), [0, 1, 2, 3, 4, 5], [1, 2, 3]);
    close(await read(o.sum(x, [])), Array.from({ length: 12 }, (_, i) => i), [2, 2, 3]);
    expect(() => o.sum(x, [3])).toThrow(FstaError);
  });

  it('logsumexp is stable and softmax runs along any axis', async () => {
    // log(e^1000 + e^1000) = 1000 + ln 2; log(e^0 + e^0) = ln 2
    close(await read(o.logsumexp(t([1000, 1000, 0, 0], [2, 2]), [1])), [1000 + Math.LN2, Math.LN2], [2]);
    close(await read(o.logsumexp(t([-Infinity, -Infinity], [1, 2]), [1], true)), [-Infinity], [1, 1]);
    // softmax over axis 0 of [[0, 1], [0, 3]]: column 0 = [1/2, 1/2], column 1 = [1/(1+e^2), e^2/(1+e^2)]
    const e2 = Math.exp(2);
    close(await read(o.softmax(t([0, 1, 0, 3], [2, 2]), 0)), [0.5, 1 / (1 + e2), 0.5, e2 / (1 + e2)], [2, 2], 1e-6);
    close(await read(o.softmax(t([0, Math.log(3)], [2]), -1)), [0.25, 0.75], [2], 1e-6);
  });

  it('percentile interpolates linearly (NumPy method="linear")', async () => {
    // sorted rows [1,2,3,4,5] and [10,20,30,40,50]; q=30 → pos 1.2 → 2.2 and 22; q=100 → max; q=0 → min
    const x = t([5, 1, 4, 2, 3, 50, 10, 40, 20, 30], [2, 5]);
    close(await read(o.percentile(x, 30, 1)), [2.2, 22], [2], 1e-6);
    close(await read(o.percentile(x, 100, -1, true)), [5, 50], [2, 1]);
    close(await read(o.percentile(x, 0, 1)), [1, 10], [2]);
    // along axis 0 of (2, 5): pairs (5,50),(1,10)...; q=50 → midpoint
    close(await read(o.percentile(x, 50, 0, true)), [27.5, 5.5, 22, 11, 16.5], [1, 5], 1e-6);
    expect(() => o.percentile(x, 101, 1)).toThrow(/outside \[0, 100\]/);
  });

  it('topk returns the k largest along the last axis, sorted descending', async () => {
    close(await read(o.topk(t([3, 1, 4, 1, 5, 9, 2, 6], [2, 4]), 2)), [4, 3, 9, 6], [2, 2]);
    expect(() => o.topk(t([1, 2], [2]), 3)).toThrow(/topk k=3 is outside \[1, 2\]/);
  });

  it('matmul and linear', async () => {
    // [[1,2],[3,4]] @ [[1,0,2],[0,1,3]] = [[1,2,8],[3,4,18]]
    const a = t([1, 2, 3, 4], [1, 2, 2]);
    close(await read(o.matmul(a, t([1, 0, 2, 0, 1, 3], [2, 3]))), [1, 2, 8, 3, 4, 18], [1, 2, 3]);
    // x·Wᵀ + b with W = [[1,1],[2,-1],[0,3]], b = [0.5, 0, -1]
    const y = o.linear(t([1, 2, 3, 4], [2, 2]), t([1, 1, 2, -1, 0, 3], [3, 2]), t([0.5, 0, -1], [3]));
    close(await read(y), [3.5, 0, 5, 7.5, 2, 11], [2, 3]);
    expect(() => o.matmul(a, t([1, 2, 3], [3, 1]))).toThrow(/inner dimensions differ/);
    expect(() => o.linear(t([1, 2], [1, 2]), t([1, 2, 3], [1, 3]))).toThrow(/2 features but the weight expects 3/);
  });

  it('reshape with 0 and -1, and transpose', async () => {
    const x = t([0, 1, 2, 3, 4, 5], [1, 2, 3]);
    expect(o.reshape(x, [0, -1]).shape).toEqual([1, 6]);
    expect(o.reshape(x, [0, 0, -1]).shape).toEqual([1, 2, 3]);
    expect(() => o.reshape(x, [4, -1])).toThrow(/cannot reshape \[1, 2, 3\] to \[4, -1\]/);
    close(await read(o.transpose(x, [0, 2, 1])), [0, 3, 1, 4, 2, 5], [1, 3, 2]);
  });

  it('runs core formulas and tidy frees every intermediate', async () => {
    // channel 0 = [1,3] (mean 2, |dev| 1,1), channel 1 = [0,4] (mean 2, |dev| 2,2) → FS = 1.5
    const f = t([1, 3, 0, 4], [1, 2, 1, 2]);
    const before = tf.memory().numTensors;
    const fs = featureSim(o, f);
    expect(tf.memory().numTensors).toBe(before + 1);
    close(await read(fs), [1.5], [1]);
    const ta = thresholdActivation(o, f, 2);
    close(await read(ta), [0, 1, 0, 2], [1, 2, 1, 2]);
    const kept = tidy(o, (p) => ({ a: p.abs(f), b: [p.neg(f)] }));
    expect(tf.memory().numTensors).toBe(before + 4);
    o.dispose([fs, ta, kept.a, ...kept.b]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
