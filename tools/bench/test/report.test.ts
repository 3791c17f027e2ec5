import { describe, expect, it } from 'vitest';
import { flatness, report } from '../report.mjs';

const variants = (patched: number) => [
  { name: 'original', msPerRun: 10, ratio: 1, ratioLo: 1, ratioHi: 1 },
  { name: 'patched (one graph, TA branch)', msPerRun: 10 * patched, ratio: patched, ratioLo: patched - 0.01, ratioHi: patched + 0.01 },
  { name: 'patched, FS only (no TA)', msPerRun: 10.2, ratio: 1.02, ratioLo: 1.01, ratioHi: 1.03 },
  { name: 'patched, double-batch TA', msPerRun: 13, ratio: 1.3, ratioLo: 1.29, ratioHi: 1.31 },
  { name: 'stage-split sessions + host round-trip', msPerRun: 15, ratio: 1.5, ratioLo: 1.4, ratioHi: 1.6 },
];
const samples = (rss: number[], tensors?: number[]) => rss.map((r, i) => ({ calls: (i + 1) * 100, rssMiB: r, ...(tensors ? { numTensors: tensors[i] } : {}) }));
const results = {
  quick: true, minutes: 1, params: { reps: 3 },
  machine: { cpu: 'X', cores: 2, memoryGiB: 24, os: 'L', node: 'v20', onnxruntimeNode: '1', onnxruntimeWeb: '1', tfjs: '4', sharp: '0', loadavg: [1, 1, 1], loadavgAfter: [1, 1, 1] },
  // 1.22 against a bound of 1.20 is +2 points (met); 1.25 is +5 points (missed).
  overhead: [{ model: 'A', batch: 1, bound: 1.2, variants: variants(1.22) }, { model: 'A', batch: 16, bound: 1.2, variants: variants(1.25) }],
  flops: { A: { totalMacs: 100, taTailMacs: 20, byOp: { Conv: 100 }, bound: 1.2 } },
  profile: [{ model: 'A', batch: 16, runs: 3, byOp: [{ name: 'Conv', share: 0.9 }], byPart: [{ name: "model's own nodes", share: 0.8 }, { name: 'TA tail copy (fsta/ta/…)', share: 0.18 }, { name: 'fsta score nodes (FS, classifier scores)', share: 0.02 }] }],
  e2e: [
    { model: 'm1', set: 's', images: 10, fstaImagesPerS: 30, torch: [{ workers: 0, imagesPerS: 10 }, { workers: 1, imagesPerS: 20 }], torchBest: 20, speedup: 1.5, agree: { fs: { rel: 1e-6, abs: 1e-7 }, fsTa: { rel: 1e-6, abs: 1e-7 }, msp: { rel: 1e-6, abs: 1e-7 }, top1: 1 } },
    { model: 'm2', set: 's', images: 10, fstaImagesPerS: 29, torch: [{ workers: 1, imagesPerS: 20 }], torchBest: 20, speedup: 1.45, agree: { fs: { rel: 1e-6, abs: 1e-7 }, fsTa: { rel: 1e-6, abs: 1e-7 }, msp: { rel: 1e-6, abs: 1e-7 }, top1: 1 } },
  ],
  web: [{ model: 'A', batch: 16, variants: [{ name: 'onnxruntime-node (CPU)', msPerRun: 10, ratio: 1 }, { name: 'onnxruntime-web (WASM, 2 threads)', msPerRun: 20, ratio: 2 }] }],
  tfjs: { model: 'T', batch: 16, cpuMs: 30, wasmMs: 15, ratio: 0.5 },
  memory: {
    peak: { images: 10, peakRssLoadingMiB: 100, peakRssMiB: 200 },
    calls: { calls: 1000, samples: samples([300, 100, 105, 110]) },
    tfjs: { calls: 1000, samples: samples([100, 100, 101, 101], [114, 114, 114, 115]) },
    long: { calls: 10000, samples: samples([100, 100, 150]) },
  },
};

describe('report', () => {
  const { markdown } = report(results, 'node tools/bench/run.mjs --quick');
  const goal = (text: string) => new RegExp(`\\| ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^|]* \\| (met|missed) \\|`).exec(markdown)?.[1];
  it('checks overhead against bound + 3 points', () => {
    expect(goal('overhead ≤ bound + 3 points: A, batch 1')).toBe('met');
    expect(goal('overhead ≤ bound + 3 points: A, batch 16')).toBe('missed');
    expect(markdown).toContain('+5.0 points');
  });
  it('checks end to end against 1.5x the faster reference setting', () => {
    expect(goal('end to end ≥ 1.5x the PyTorch reference: m1')).toBe('met');
    expect(goal('end to end ≥ 1.5x the PyTorch reference: m2')).toBe('missed');
  });
  it('calls memory flat from the second sample on, and any numTensors change a leak', () => {
    expect(goal('RSS flat over 1000 onnxruntime-node')).toBe('met'); // 100 → 110: within 16 MiB; the first sample is warm-up
    expect(goal('RSS and numTensors flat over 1000 tfjs')).toBe('missed'); // 114 → 115 tensors
    expect(goal('RSS flat over 10000 score() calls')).toBe('missed'); // 100 → 150
    expect(flatness(samples([300, 100, 105, 110]), 'rssMiB')).toEqual({ warm: 100, last: 110, growth: 10 });
  });
  it('explains each miss with its measurements, and says there is no GPU number', () => {
    expect(markdown).toMatch(/\*\*A, batch 16: 1\.250x against a bound of 1\.200x\.\*\* FS without TA already costs 1\.020x/);
    expect(markdown).toContain('**End to end, m2: 1.45x the PyTorch reference**');
    expect(markdown).toContain('no GPU machine was available');
    expect(markdown).toContain('Kernel time alone implies 1.250x'); // 1 / 0.8

  });
});
