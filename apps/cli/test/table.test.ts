import { describe, expect, it } from 'vitest';
import { formatTable, intervalDigits } from '../src/table.js';

const m = (a: number, f: number, ci?: boolean) => ({
  auroc: a, fpr95: f, auprIn: 90.123, auprOut: 80.456,
  ...(ci ? { ci: { auroc: [a - 0.03, a + 0.04] as [number, number], fpr95: [f - 3, f + 2.5] as [number, number], auprIn: [90.1, 90.15] as [number, number], auprOut: [79, 82] as [number, number] } } : {}),
});
const results = (ci: boolean) => ({
  MSP: { Textures: m(95.37, 22.67, ci), Noise: m(99.1, 1.2, ci), average: m(97.2, 11.9, ci) },
  'FS+TA+Energy': { Textures: m(96.1, 19.5, ci), Noise: m(99.9, 0.1, ci), average: m(98, 9.8, ci) },
});

describe('results table', () => {
  it('without intervals keeps the two-decimal layout', () => {
    const t = formatTable(results(false), ['Textures', 'Noise']);
    expect(t.split('\n')[3]).toBe('MSP               22.67    95.37 |     1.20    99.10 |    11.90    97.20    90.12    80.46');
    expect(t).not.toMatch(/bootstrap/);
  });
  it('shows value±(larger side of the interval) with the digits each interval supports when it fits', () => {
    const t = formatTable(results(true), ['Textures', 'Noise']);
    const row = t.split('\n').filter((l) => l.startsWith('MSP')).join(' ');
    expect(row).toContain('95.37±0.04');  // [95.34, 95.41]: half-width 0.035 -> 2 decimals, larger side 0.04
    expect(row).toContain('23±3');        // [19.67, 25.17]: half-width 2.75 -> 0 decimals
    expect(row).toContain('80±2');        // [79, 82] around 80.456
    expect(t).toMatch(/Cells: value ± the larger side of its 95% bootstrap interval/);
    const lines = t.trimEnd().split('\n');
    expect(new Set(lines.slice(1, 4).map((l) => l.length)).size).toBe(1); // header, rule and rows align
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(100);
  });
  it('wraps the sets into blocks that fit the width, each with the method names', () => {
    const t = formatTable(results(true), ['Textures', 'Noise'], { width: 70 });
    const blocks = t.trimEnd().split('\n\n');
    expect(blocks.length).toBeGreaterThan(1);
    for (const b of blocks) expect(b).toMatch(/\nMSP .*\nFS\+TA\+Energy /);
    expect(t).toContain('95.37±0.04');
    expect(Math.max(...t.trimEnd().split('\n').slice(0, -1).map((l) => [...l].length))).toBeLessThanOrEqual(70);
  });
  it('falls back to the value alone, with fewer digits where the interval is wide, when one set does not fit', () => {
    const t = formatTable(results(true), ['Textures', 'Noise'], { width: 40 });
    const row = t.split('\n').filter((l) => l.startsWith('MSP')).map((l) => l.slice(3)).join(' ');
    expect(row).not.toContain('±');
    expect(row.trim().split(/\s+\|?\s*/)).toEqual(['23', '95.37', '1', '99.10', '12', '97.20', '90.12', '80']);
    expect(t).toMatch(/Digits as the 95% bootstrap intervals support/);
  });
  it('intervalDigits: 2 under ±0.05, 1 under ±0.5, else 0', () => {
    expect(intervalDigits(undefined)).toBe(2);
    expect(intervalDigits([1, 1.09])).toBe(2);
    expect(intervalDigits([1, 1.5])).toBe(1);
    expect(intervalDigits([1, 2])).toBe(0);
  });
});
