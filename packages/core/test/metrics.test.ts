import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FstaError, auprIn, auprOut, auroc, evaluateOod, fprAtTpr, rocCurve, thresholdAtTpr, topkAccuracy } from '../src/index.js';

interface Case {
  name: string;
  id: number[];
  ood: number[];
  auroc: number;
  auprIn: number;
  auprOut: number;
  roc: { fpr: number[]; tpr: number[]; thresholdsAfterFirst: number[] };
  fprAtTpr: Record<string, number>;
  fprAtTprBruteForce: Record<string, number>;
  thresholdAtTpr: Record<string, number>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/core-metrics.json', import.meta.url), 'utf8')) as {
  command: string;
  cases: Case[];
  topk: { numClasses: number; logits: number[]; labels: number[]; accuracy: Record<string, number> };
};

/** Mann–Whitney U over all pairs, ties ½: the definition, independent of any sorting. */
function mannWhitney(id: readonly number[], ood: readonly number[]): number {
  let u = 0;
  for (const a of id) for (const b of ood) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u / (id.length * ood.length);
}

describe('metrics against scikit-learn fixtures', () => {
  it('records the command that made them', () => {
    expect(fixture.command).toContain('tools/fixtures/core_metrics.py');
    expect(fixture.cases.length).toBeGreaterThanOrEqual(10);
  });

  for (const c of fixture.cases) {
    describe(c.name, () => {
      it('auroc equals roc_auc_score and the brute-force Mann–Whitney U', () => {
        expect(auroc(c.id, c.ood)).toBeCloseTo(c.auroc, 12);
        expect(auroc(c.id, c.ood)).toBeCloseTo(mannWhitney(c.id, c.ood), 12);
      });
      it('roc curve equals roc_curve(drop_intermediate=False)', () => {
        const pts = rocCurve(c.id, c.ood);
        expect(pts.length).toBe(c.roc.fpr.length);
        expect(pts[0]).toEqual({ fpr: 0, tpr: 0, threshold: Infinity });
        pts.forEach((p, i) => {
          expect(p.fpr).toBeCloseTo(c.roc.fpr[i]!, 12);
          expect(p.tpr).toBeCloseTo(c.roc.tpr[i]!, 12);
          if (i > 0) expect(p.threshold).toBe(c.roc.thresholdsAfterFirst[i - 1]);
        });
      });
      it('auprIn and auprOut equal average_precision_score', () => {
        expect(auprIn(c.id, c.ood)).toBeCloseTo(c.auprIn, 12);
        expect(auprOut(c.id, c.ood)).toBeCloseTo(c.auprOut, 12);
      });
      it('fprAtTpr equals the sklearn idiom and the brute-force rule at every TPR', () => {
        for (const [t, want] of Object.entries(c.fprAtTpr)) {
          expect(fprAtTpr(c.id, c.ood, Number(t))).toBe(want);
          expect(fprAtTpr(c.id, c.ood, Number(t))).toBe(c.fprAtTprBruteForce[t]);
          expect(thresholdAtTpr(c.id, Number(t))).toBe(c.thresholdAtTpr[t]);
        }
      });
      it('evaluateOod bundles the same numbers', () => {
        const m = evaluateOod(c.id, c.ood);
        expect(m).toEqual({ auroc: auroc(c.id, c.ood), fpr95: fprAtTpr(c.id, c.ood, 0.95), auprIn: auprIn(c.id, c.ood), auprOut: auprOut(c.id, c.ood) });
      });
    });
  }
});

describe('hand-derived metric values', () => {
  it('auroc with one tie: id [2, 1], ood [1, 0] -> (1 + 1 + 0.5 + 1) / 4', () => {
    expect(auroc([2, 1], [1, 0])).toBe(0.875);
  });
  it('fpr95 keeps 19 of 20 ID samples, not 20', () => {
    const id = Array.from({ length: 20 }, (_, i) => i + 1); // 1..20
    expect(thresholdAtTpr(id, 0.95)).toBe(2);
    expect(fprAtTpr(id, [1.5, 2, 30], 0.95)).toBeCloseTo(2 / 3, 15);
  });
  it('thresholdAtTpr keeps at least tpr of ID and is the largest such threshold', () => {
    const id = Array.from({ length: 997 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
    for (const tpr of [0.01, 0.5, 0.95, 0.999, 1]) {
      const t = thresholdAtTpr(id, tpr);
      expect(id.filter((v) => v >= t).length / id.length).toBeGreaterThanOrEqual(tpr);
      const higher = id.filter((v) => v > t);
      if (higher.length > 0) {
        const next = Math.min(...higher);
        expect(id.filter((v) => v >= next).length / id.length).toBeLessThan(tpr);
      }
    }
  });
  it('aupr of a perfect detector is 1 and a reversed one is n_pos / n', () => {
    expect(auprIn([3, 4], [1, 2])).toBe(1);
    expect(auprOut([3, 4], [1, 2])).toBe(1);
    // reversed: precision at full recall is 2/4 and the curve climbs to it from below
    expect(auprIn([1, 2], [3, 4])).toBeCloseTo(0.5 * (1 / 3) + 0.5 * (2 / 4), 15);
  });
  it('handles 200k scores without stack overflow, in O(n log n)', () => {
    const n = 200_000;
    const id = new Float32Array(n).map((_, i) => (i % 1000) / 1000 + 0.001);
    const ood = new Float32Array(n).map((_, i) => (i % 1000) / 1000);
    const t0 = performance.now();
    const a = auroc(id, ood);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(a).toBeGreaterThan(0.5);
  });
});

describe('topkAccuracy', () => {
  it('matches torch.topk on random logits', () => {
    const { logits, labels, numClasses, accuracy } = fixture.topk;
    expect(topkAccuracy(logits, numClasses, labels, 1)).toBe(accuracy['1']);
    expect(topkAccuracy(logits, numClasses, labels, 5)).toBe(accuracy['5']);
  });
  it('counts a tie at the k-th place as correct', () => {
    expect(topkAccuracy([1, 1, 0], 3, [1], 1)).toBe(1);
    expect(topkAccuracy([2, 1, 1, 0], 4, [3], 3)).toBe(0);
    expect(topkAccuracy([0, 5, 1, 3, 2, 4], 3, [1, 1], 1)).toBe(0.5); // row 0 right, row 1 wrong
  });
  it('rejects bad labels, shapes and k with the sample index', () => {
    expect(() => topkAccuracy([1, 2, 3, 4], 2, [0, 2], 1)).toThrow(/label 2 at sample 1/);
    expect(() => topkAccuracy([1, 2, 3], 2, [0, 1], 1)).toThrow(/3 values but 2 labels/);
    expect(() => topkAccuracy([1, 2, NaN, 4], 2, [0, 1], 1)).toThrow(/logits has NaN at sample 1/);
    expect(() => topkAccuracy([1, 2], 2, [0], 3)).toThrow(/outside \[1, 2\]/);
  });
});

describe('bad input', () => {
  const metrics = { auroc, auprIn, auprOut, fprAtTpr, rocCurve, evaluateOod } as const;
  for (const [name, fn] of Object.entries(metrics)) {
    it(`${name} names the set and sample of a NaN or Inf`, () => {
      expect(() => fn([1, 2, NaN], [0])).toThrow(/ID scores has NaN at sample 2/);
      expect(() => fn([1, 2], [0, Infinity])).toThrow(/OOD scores has Infinity at sample 1/);
      expect(() => fn([1], [-Infinity])).toThrow(FstaError);
    });
    it(`${name} rejects an empty set (only one class)`, () => {
      expect(() => fn([], [0])).toThrow(/ID scores are empty.*only one class/);
      expect(() => fn([1], [])).toThrow(/OOD scores are empty/);
    });
  }
  it('errors carry a code and a fix', () => {
    try {
      auroc([1, NaN], [0]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FstaError);
      expect((e as FstaError).code).toBe('NON_FINITE');
      expect((e as FstaError).details).toMatchObject({ sample: 1, set: 'ID scores' });
      expect((e as FstaError).fix.length).toBeGreaterThan(10);
    }
  });
  it('rejects a TPR given as a percent', () => {
    expect(() => fprAtTpr([1], [0], 95)).toThrow(/outside \(0, 1\]/);
    expect(() => thresholdAtTpr([1], 0)).toThrow(/BAD_TPR|outside/);
  });
});
