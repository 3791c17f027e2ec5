import { describe, expect, it } from 'vitest';
import { latencySummary, maxDiff, median, percentile } from '../stats.mjs';

describe('percentile', () => {
  it('interpolates linearly between ranks, as numpy.percentile does', () => {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 99, 100]) = [1, 1.75, 2.5, 3.97, 4]
    const xs = [4, 1, 3, 2];
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 0.25)).toBeCloseTo(1.75, 12);
    expect(percentile(xs, 0.5)).toBeCloseTo(2.5, 12);
    expect(percentile(xs, 0.99)).toBeCloseTo(3.97, 12);
    expect(percentile(xs, 1)).toBe(4);
    expect(xs).toEqual([4, 1, 3, 2]); // not sorted in place
  });
  it('p99 of 1..100 is 99.01 and of one value is that value', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.99)).toBeCloseTo(99.01, 12);
    expect(percentile([7], 0.99)).toBe(7);
  });
  it('median of odd and even lengths', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([10, 1, 2, 3])).toBe(2.5);
  });
  it('refuses an empty list, p outside [0, 1] and non-finite values', () => {
    expect(() => percentile([], 0.5)).toThrow(/empty/);
    expect(() => percentile([1], 1.5)).toThrow(/\[0, 1\]/);
    expect(() => percentile([1], Number.NaN)).toThrow(/\[0, 1\]/);
    expect(() => percentile([1, Number.NaN], 0.5)).toThrow(/non-finite/);
  });
});

describe('latencySummary', () => {
  it('gives p50, p99, mean and max of per-call milliseconds', () => {
    // 99 fast calls and one slow one: p50 stays fast, p99 sits between them, max is the slow one.
    const ms = [...Array.from({ length: 99 }, () => 2), 102];
    const s = latencySummary(ms);
    expect(s.calls).toBe(100);
    expect(s.p50).toBe(2);
    expect(s.p99).toBeCloseTo(2 + 0.01 * 100, 9); // h = 98.01: 1% of the way from 2 to 102
    expect(s.mean).toBeCloseTo(3, 12);
    expect(s.max).toBe(102);
  });
});

describe('maxDiff', () => {
  it('gives the largest relative and absolute difference against the reference', () => {
    expect(maxDiff([1, 2.002, 0], [1, 2, 1e-9])).toEqual({ rel: expect.closeTo(0.001, 12), abs: expect.closeTo(0.002, 12) });
  });
  it('refuses a length mismatch and NaN on either side', () => {
    expect(() => maxDiff([1], [1, 2])).toThrow(/1 values against 2/);
    expect(() => maxDiff([Number.NaN], [1])).toThrow(/non-finite/);
    expect(() => maxDiff([1], [Number.NaN])).toThrow(/non-finite/);
  });
});
