import { describe, expect, it } from 'vitest';
import { demoFindings, type DemoSet } from '../src/commands/demo-findings.js';
import type { PercentMetrics } from '../src/table.js';

const m = (auroc: number, lo: number, hi: number): PercentMetrics => ({
  fpr95: 50, auroc, auprIn: 50, auprOut: 50,
  ci: { fpr95: [40, 60], auroc: [lo, hi], auprIn: [40, 60], auprOut: [40, 60] },
});
const sets: DemoSet[] = [
  { name: 'a', role: 'works', why: 'Why a.' },
  { name: 'b', role: 'limit', why: 'Why b.' },
];

describe('demoFindings', () => {
  it('holds each method against the best baseline and says only what the intervals support', () => {
    const results = {
      MSP: { a: m(70, 60, 80), b: m(80, 75, 85) },
      MaxLogit: { a: m(75, 65, 85), b: m(85, 80, 90) },
      Energy: { a: m(74, 64, 84), b: m(94, 91, 97) },
      FS: { a: m(99, 97, 100), b: m(75, 69, 81) },
      calibrated: { a: m(84, 80, 90), b: m(92, 88, 95) },
    };
    const lines = demoFindings(results, sets, ['FS', 'calibrated', 'absent']);
    expect(lines).toEqual([
      'a (where it works): AUROC FS 99.0 [97.0–100.0] ahead, calibrated 84.0 [80.0–90.0] no clear difference, against MaxLogit 75.0 [65.0–85.0], the best of MSP/MaxLogit/Energy. Why a.',
      'b (a limit): AUROC FS 75.0 [69.0–81.0] behind, calibrated 92.0 [88.0–95.0] no clear difference, against Energy 94.0 [91.0–97.0], the best of MSP/MaxLogit/Energy. Why b.',
    ]);
  });

  it('a set whose expected outcome does not hold is reported as measured, not as chosen', () => {
    const results = { Energy: { a: m(99, 98, 100) }, FS: { a: m(60, 50, 70) } };
    expect(demoFindings(results, [sets[0]!])[0]).toMatch(/^a \(where it works\): AUROC FS 60\.0 \[50\.0–70\.0\] behind, against Energy/);
  });

  it('skips a set that no method or no baseline was scored on', () => {
    expect(demoFindings({ FS: { a: m(90, 85, 95) } }, sets)).toEqual([]);
    expect(demoFindings({ Energy: { a: m(90, 85, 95) } }, sets)).toEqual([]);
  });
});
