import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FstaError, PAPER_LAMBDA, auroc, calibrate, chooseTa, defaultConfig, fprAtTpr, jigsawImages, TA_SAMPLE, kFromPercentile, mulberry32, noiseImages, parseConfig, separation, taSampleImages, taSampleOfBatch, thresholdAtTpr } from '../src/index.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/core-metrics.json', import.meta.url), 'utf8')) as {
  mulberry32: Record<string, number[]>;
  noise: { uniform: { mean: number; std: number }; gaussian: { sigma: number; mean: number; std: number; massAt0: number; massAt1: number } };
};

const moments = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i]!;
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i]! - m) ** 2;
  return { mean: m, std: Math.sqrt(s / v.length) };
};

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Undo the normalization of channel c, back to pixel space. */
function pixels(img: { data: Float32Array; shape: number[] }, c: number): Float64Array {
  const [n, C, H, W] = img.shape as [number, number, number, number];
  const out = new Float64Array(n * H * W);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const off = (i * C + c) * H * W;
    for (let p = 0; p < H * W; p++) out[o++] = img.data[off + p]! * STD[c]! + MEAN[c]!;
  }
  return out;
}

describe('noiseImages', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = noiseImages('gaussian', 2, [3, 8, 8], { mean: MEAN, std: STD, seed: 42 });
    const b = noiseImages('gaussian', 2, [3, 8, 8], { mean: MEAN, std: STD, seed: 42 });
    const c = noiseImages('gaussian', 2, [3, 8, 8], { mean: MEAN, std: STD, seed: 43 });
    expect(a.shape).toEqual([2, 3, 8, 8]);
    expect(a.layout).toBe('NCHW');
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });
  it('mulberry32 matches an independent Python port, including seed 2³²−1, and stays in [0, 1)', () => {
    for (const [seed, want] of Object.entries(fixture.mulberry32)) {
      const r = mulberry32(Number(seed));
      expect(want.map(() => r())).toEqual(want);
    }
    const r2 = mulberry32(123);
    for (let i = 0; i < 10000; i++) {
      const v = r2();
      expect(v >= 0 && v < 1).toBe(true);
    }
  });
  it('uniform noise has the moments of U(0, 1) in pixel space, per channel', () => {
    const img = noiseImages('uniform', 64, [3, 32, 32], { mean: MEAN, std: STD, seed: 1 });
    for (let c = 0; c < 3; c++) {
      const p = pixels(img, c);
      const { mean, std } = moments(p);
      expect(Math.abs(mean - fixture.noise.uniform.mean)).toBeLessThan(0.004); // 6 standard errors
      expect(Math.abs(std - fixture.noise.uniform.std)).toBeLessThan(0.003);
      expect(Math.min(...p.subarray(0, 1000))).toBeGreaterThanOrEqual(0);
    }
  });
  it('gaussian noise has the closed-form moments of clip(N(0.5, 0.5²), 0, 1)', () => {
    const img = noiseImages('gaussian', 64, [3, 32, 32], { mean: MEAN, std: STD, seed: 2 });
    const g = fixture.noise.gaussian;
    for (let c = 0; c < 3; c++) {
      const p = pixels(img, c);
      const { mean, std } = moments(p);
      expect(Math.abs(mean - g.mean)).toBeLessThan(0.005);
      expect(Math.abs(std - g.std)).toBeLessThan(0.003);
      let at0 = 0, at1 = 0;
      for (const v of p) {
        if (Math.abs(v) < 1e-6) at0++;
        if (Math.abs(v - 1) < 1e-6) at1++;
      }
      expect(Math.abs(at0 / p.length - g.massAt0)).toBeLessThan(0.005);
      expect(Math.abs(at1 / p.length - g.massAt1)).toBeLessThan(0.005);
    }
  });
  it('rejects bad arguments with a fix', () => {
    expect(() => noiseImages('gaussian', 1, [3, 4, 4], { mean: [0.5], std: STD })).toThrow(/1 means and 3 stds for 3 channels/);
    expect(() => noiseImages('gaussian', 1, [3, 4, 4], { mean: MEAN, std: [1, 0, 1] })).toThrow(/std\[1\] = 0/);
    expect(() => noiseImages('pink' as 'uniform', 1, [3, 4, 4], { mean: MEAN, std: STD })).toThrow(/unknown/);
    expect(() => noiseImages('uniform', 0, [3, 4, 4], { mean: MEAN, std: STD })).toThrow(/positive integer/);
    expect(() => noiseImages('uniform', 1, [3, 4], { mean: MEAN, std: STD })).toThrow(/\[C, H, W\]/);
  });
});

describe('kFromPercentile', () => {
  it('matches NumPy linear percentiles on a hand case', () => {
    // np.percentile([4, 1, 3, 2], 90) = 3.7
    expect(kFromPercentile(new Float32Array([4, 1, 3, 2]), 90)).toBeCloseTo(3.7, 12);
    expect(kFromPercentile([5], 50)).toBe(5);
    expect(kFromPercentile([1, 2, 3], 0)).toBe(1);
    expect(kFromPercentile([1, 2, 3], 100)).toBe(3);
  });
  it('handles 5M activations without stack overflow', () => {
    const n = 5_000_000;
    const acts = new Float32Array(n);
    for (let i = 0; i < n; i++) acts[i] = (i * 7919) % n; // a permutation of 0..n-1
    expect(kFromPercentile(acts, 90)).toBeCloseTo(0.9 * (n - 1), 3);
  });
  it('names a NaN activation and rejects bad q', () => {
    expect(() => kFromPercentile([1, NaN], 90)).toThrow(/ID activations has NaN at sample 1/);
    expect(() => kFromPercentile([1, 2], 101)).toThrow(/outside \[0, 100\]/);
    expect(() => kFromPercentile([], 50)).toThrow(/ID activations are empty/);
  });
});

describe('chooseTa', () => {
  const rand = mulberry32(9);
  const draw = (n: number, shift: number) => Array.from({ length: n }, () => rand() + shift);
  it('picks the candidate that separates ID from noise best, with a table and a reason', () => {
    const id = draw(100, 1);
    const candidates = [
      { taStage: null, k: 0, idScores: id, noiseScores: draw(80, 0.7) }, // heavy overlap
      { taStage: 'C4', k: 0.5, kPercentile: 80, idScores: id, noiseScores: draw(80, 0.1) }, // nearly separated
      { taStage: 'C3', k: 0.2, idScores: id, noiseScores: draw(80, 0.5) },
    ];
    const r = chooseTa({ candidates });
    expect(r.choice).toMatchObject({ taStage: 'C4', k: 0.5, kPercentile: 80 });
    expect(r.table).toHaveLength(3);
    r.table.forEach((row, i) => expect(row.auroc).toBe(auroc(candidates[i]!.idScores, candidates[i]!.noiseScores)));
    expect(r.choice.auroc).toBe(Math.max(...r.table.map((t) => t.auroc)));
    expect(r.reason).toMatch(/TA at C4 with k=0.5 \(80th percentile/);
    expect(r.reason).toMatch(/Chosen without OOD test data/);
  });
  it('breaks an AUROC tie by the lower FPR95', () => {
    // Both AUROC 0.5; at 95% TPR the threshold is 0, which accepts both noise scores of A but one of B.
    const a = { taStage: 'C4', k: 1, idScores: [0, 10], noiseScores: [5, 5] };
    const b = { taStage: 'C3', k: 2, idScores: [0, 10], noiseScores: [-1, 11] };
    expect(auroc(a.idScores, a.noiseScores)).toBe(auroc(b.idScores, b.noiseScores));
    expect(chooseTa({ candidates: [a, b] }).table.map((r) => r.fpr95)).toEqual([1, 0.5]);
    expect(chooseTa({ candidates: [a, b] }).choice.taStage).toBe('C3');
    expect(chooseTa({ candidates: [b, a] }).choice.taStage).toBe('C3');
  });
  it('rejects bad candidates, naming which', () => {
    expect(() => chooseTa({ candidates: [] })).toThrow(/no TA candidates/);
    expect(() => chooseTa({ candidates: [{ taStage: 'C4', k: -1, idScores: [1], noiseScores: [0] }] })).toThrow(/candidate 0 has k=-1/);
    expect(() => chooseTa({ candidates: [{ taStage: 'C4', k: 1, idScores: [1], noiseScores: [0, NaN] }] })).toThrow(/candidate 0 \(TA at C4 with k=1\) noise scores has NaN at sample 1/);
  });
});

describe('jigsawImages', () => {
  // Pixel value = a unique code of (image, channel, y, x), so every moved pixel can be traced.
  const N = 3, C = 2, H = 10, W = 9;
  const code = (n: number, c: number, y: number, x: number) => ((n * C + c) * H + y) * W + x;
  const src = Float32Array.from({ length: N * C * H * W }, (_, i) => i);
  const grid = 4, ph = 2, pw = 2; // floor(10 / 4), floor(9 / 4): rows 8-9 and column 8 stay

  it('is deterministic per seed and moves whole patches, the same way in every channel', () => {
    const a = jigsawImages(src, [N, C, H, W], { grid, seed: 7 });
    expect(a.shape).toEqual([N, C, H, W]);
    expect(jigsawImages(src, [N, C, H, W], { grid, seed: 7 }).data).toEqual(a.data);
    expect(jigsawImages(src, [N, C, H, W], { grid, seed: 8 }).data).not.toEqual(a.data);
    const at = (n: number, c: number, y: number, x: number) => a.data[code(n, c, y, x)]!;
    for (let n = 0; n < N; n++) {
      const sources: number[] = [];
      for (let cell = 0; cell < grid * grid; cell++) {
        const dy = Math.floor(cell / grid) * ph, dx = (cell % grid) * pw;
        // The patch's top-left pixel says where it came from; the rest of the patch must follow.
        const v = at(n, 0, dy, dx) - code(n, 0, 0, 0);
        const sy = Math.floor(v / W), sx = v % W;
        expect(sy % ph, `image ${n} cell ${cell}`).toBe(0);
        expect(sx % pw).toBe(0);
        expect(sy).toBeLessThan(grid * ph);
        expect(sx).toBeLessThan(grid * pw);
        sources.push((sy / ph) * grid + sx / pw);
        for (let c = 0; c < C; c++) for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) expect(at(n, c, dy + y, dx + x)).toBe(code(n, c, sy + y, sx + x));
      }
      expect([...sources].sort((p, q) => p - q)).toEqual([...Array(grid * grid).keys()]); // a permutation
      expect(sources).not.toEqual([...Array(grid * grid).keys()]); // never the identity
      for (let c = 0; c < C; c++) {
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (y >= grid * ph || x >= grid * pw) expect(at(n, c, y, x)).toBe(code(n, c, y, x));
      }
    }
    // Same pixels, only moved: the sorted values of the batch are unchanged.
    expect(Float32Array.from(a.data).sort()).toEqual(Float32Array.from(src).sort());
    expect(src[5]).toBe(5); // input untouched
  });
  it('rejects a bad shape, length, grid or seed', () => {
    expect(() => jigsawImages(src, [N, C, H])).toThrow(/\[N, C, H, W\]/);
    expect(() => jigsawImages(src, [N, C, H, W + 1])).toThrow(/has 540 values but shape \[3, 2, 10, 10\] needs 600/);
    expect(() => jigsawImages(src, [N, C, H, W], { grid: 1 })).toThrow(/grid 1 is not an integer in \[2, 9\]/);
    expect(() => jigsawImages(src, [N, C, H, W], { grid: 10 })).toThrow(/grid 10/);
    expect(() => jigsawImages(src, [N, C, H, W], { seed: 0.5 })).toThrow(/seed 0.5/);
  });
});

describe('separation over several synthetic sets', () => {
  it('averages AUROC and FPR95 over the sets, each set weighted equally', () => {
    const id = [1, 2, 3, 4];
    const easy = [-5, -4];
    const hard = [2.5, 2.5, 2.5, 2.5, 2.5, 2.5];
    const s = separation(id, [{ name: 'gaussian', scores: easy }, { name: 'jigsaw', scores: hard }]);
    expect(s.sets).toEqual([
      { name: 'gaussian', auroc: 1, fpr95: 0 },
      { name: 'jigsaw', auroc: auroc(id, hard), fpr95: fprAtTpr(id, hard, 0.95) },
    ]);
    expect(auroc(id, hard)).toBe(0.5);
    expect(s.auroc).toBe(0.75);
    expect(s.fpr95).toBe(fprAtTpr(id, hard, 0.95) / 2);
    expect(() => separation(id, [])).toThrow(/no synthetic OOD sets/);
    expect(() => separation(id, [{ name: 'jigsaw', scores: [NaN] }], 0.95, 'fusion msp')).toThrow(/fusion msp jigsaw scores has NaN at sample 0/);
  });
  it('lets chooseTa rank candidates that all separate noise perfectly by the harder set', () => {
    const id = [10, 11, 12, 13];
    const noise = [0, 1];
    const cands = [
      { taStage: null, k: 0, idScores: id, noiseSets: [{ name: 'gaussian', scores: noise }, { name: 'jigsaw', scores: [11.5, 12.5, 13.5] }] },
      { taStage: 'C4', k: 0.5, idScores: id, noiseSets: [{ name: 'gaussian', scores: noise }, { name: 'jigsaw', scores: [9, 10.5, 12.5] }] },
    ];
    const r = chooseTa({ candidates: cands });
    expect(r.table.map((t) => t.sets[0]!.auroc)).toEqual([1, 1]);
    expect(r.choice).toMatchObject({ taStage: 'C4', k: 0.5 });
    expect(r.choice.auroc).toBe((1 + auroc(id, [9, 10.5, 12.5])) / 2);
    expect(r.reason).toMatch(/synthetic OOD \(gaussian, jigsaw; mean over the sets\)/);
    expect(() => chooseTa({ candidates: [cands[0]!, { ...cands[1]!, noiseSets: [cands[1]!.noiseSets[1]!] }] })).toThrow(/candidate 1 has synthetic sets \[jigsaw\] but candidate 0 has \[gaussian, jigsaw\]/);
    expect(() => chooseTa({ candidates: [{ taStage: 'C4', k: 1, idScores: id }] })).toThrow(/neither noiseScores nor noiseSets/);
    expect(() => chooseTa({ candidates: [{ ...cands[0]!, noiseScores: noise }] })).toThrow(/both noiseScores and noiseSets/);
  });
});

describe('calibrate', () => {
  const rand = mulberry32(5);
  const idFeature = Array.from({ length: 200 }, () => 2 + rand());
  const idMsp = Array.from({ length: 200 }, () => 0.5 + 0.5 * rand());

  it('sets the threshold at the target TPR of the fused ID validation scores, with the paper λ', () => {
    const cfg = calibrate({ idFeature, idClassifier: idMsp, classifier: 'msp', tpr: 0.95, base: { backbone: 'resnet50' } });
    expect(cfg.lambda).toBe(PAPER_LAMBDA.msp);
    const fused = idFeature.map((f, i) => f + 0.1 * idMsp[i]!);
    expect(cfg.threshold).toBe(thresholdAtTpr(fused, 0.95));
    expect(fused.filter((s) => s >= cfg.threshold!).length / fused.length).toBeGreaterThanOrEqual(0.95);
    expect(cfg).toMatchObject({ backbone: 'resnet50', classifier: 'msp', targetTpr: 0.95 });
    expect(cfg.provenance).toMatchObject({ lambda: { rule: 'paper', value: 0.1 }, threshold: { targetTpr: 0.95 } });
  });
  it('derives λ from the ratio of spreads', () => {
    const cfg = calibrate({ idFeature, idClassifier: idMsp, classifier: 'maxlogit', lambda: 'spread' });
    const sd = (v: number[]) => { const m = v.reduce((a, b) => a + b) / v.length; return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length); };
    expect(cfg.lambda).toBeCloseTo(sd(idFeature) / sd(idMsp), 12);
    expect((cfg.provenance as { lambda: { rule: string } }).lambda.rule).toBe('spread');
  });
  it('uses the feature score alone without a classifier, and records a chooseTa result', () => {
    const ta = chooseTa({ candidates: [{ taStage: 'C4', k: 0.7, kPercentile: 90, idScores: [3, 4, 5], noiseScores: [1, 2] }] });
    const cfg = calibrate({ idFeature, ta, tpr: 0.9 });
    expect(cfg).toMatchObject({ classifier: null, lambda: 0, taStage: 'C4', k: 0.7, kPercentile: 90, featureScore: 'fs_ta', threshold: thresholdAtTpr(idFeature, 0.9) });
    expect((cfg.provenance as { ta: { reason: string } }).ta.reason).toBe(ta.reason);
  });
  it('round-trips through JSON and parseConfig', () => {
    const cfg = calibrate({ idFeature, idClassifier: idMsp, classifier: 'energy', base: { fsStage: 'C5', temperature: 1 } });
    expect(parseConfig(JSON.stringify(cfg))).toEqual(cfg);
  });
  it('rejects inconsistent input with a fix', () => {
    expect(() => calibrate({ idFeature, classifier: 'msp' })).toThrow(/no ID classifier scores/);
    expect(() => calibrate({ idFeature, idClassifier: idMsp.slice(1), classifier: 'msp' })).toThrow(/200 ID feature scores but 199/);
    expect(() => calibrate({ idFeature, idClassifier: idMsp, classifier: 'maxlogit', lambda: 'paper' })).toThrow(/no λ for classifier "maxlogit"/);
    expect(() => calibrate({ idFeature: [1, NaN], tpr: 0.95 })).toThrow(/ID validation feature scores has NaN at sample 1/);
    expect(() => calibrate({ idFeature, lambda: 0.1 })).toThrow(/no classifier score is fused/);
    expect(() => calibrate({ idFeature, tpr: 95 })).toThrow(FstaError);
  });
});

describe('parseConfig', () => {
  const good = defaultConfig({ threshold: 1.5, targetTpr: 0.95, classifier: 'msp', lambda: 0.1 });
  it('accepts a good config', () => {
    expect(parseConfig(JSON.stringify(good))).toEqual(good);
  });
  const bad: [string, unknown, RegExp][] = [
    ['version', 2, /"version"/],
    ['backbone', '', /"backbone"/],
    ['fsStage', 5, /"fsStage"/],
    ['taStage', 4, /"taStage"/],
    ['k', -1, /"k"/],
    ['k', 'big', /"k"/],
    ['featureScore', 'gmm', /"featureScore"/],
    ['lambda', null, /"lambda"/],
    ['temperature', 0, /"temperature"/],
    ['threshold', 'high', /"threshold"/],
    ['classifier', 'softmax', /"classifier"/],
    ['targetTpr', 95, /"targetTpr"/],
    ['kPercentile', 120, /"kPercentile"/],
    ['provenance', 'by hand', /"provenance"/],
  ];
  for (const [field, value, re] of bad) {
    it(`rejects ${field} = ${JSON.stringify(value)}`, () => {
      expect(() => parseConfig(JSON.stringify({ ...good, [field]: value }))).toThrow(re);
    });
  }
  it('rejects fs_ta without a TA stage, and text that is not JSON', () => {
    expect(() => parseConfig({ ...good, taStage: null, featureScore: 'fs_ta' })).toThrow(/"featureScore"/);
    expect(() => parseConfig('{not json')).toThrow(/not valid JSON/);
  });
});

describe('TA activation sample (k percentiles; CLI and web page)', () => {
  it('picks every (n / 200)-th ID image, at most 200', () => {
    expect(taSampleImages(129)).toEqual(Array.from({ length: 129 }, (_, i) => i));
    const many = taSampleImages(450);
    expect(many.length).toBe(200);
    expect(many.slice(0, 3)).toEqual([0, 2, 4]);
    expect(many.at(-1)).toBe(398);
  });

  it('takes a batch\'s share of the sample by a stride from its first value', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => i);
    const images = (v: Float32Array, n: number) => Array.from({ length: n }, (_, j) => v.subarray((j * v.length) / n, ((j + 1) * v.length) / n));
    // 4 of 10 images, 100 values wanted in all: 40 from this batch, every 25th.
    expect(taSampleOfBatch(images(values, 4), 10, 100)).toEqual(Array.from({ length: 40 }, (_, i) => 25 * i));
    // Fewer values than wanted: all of them.
    expect(taSampleOfBatch(images(values.subarray(0, 12), 4), 10, 100)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    // The stride runs across image boundaries as over the joined values: 3 images of 7, 9 and 5 values, 5 wanted: every 4th.
    const uneven = [values.subarray(0, 7), values.subarray(7, 16), values.subarray(16, 21)];
    expect(taSampleOfBatch(uneven, 3, 5)).toEqual([0, 4, 8, 12, 16, 20]);
    expect(TA_SAMPLE).toEqual({ images: 200, size: 200_000, batch: 32 });
  });
});
