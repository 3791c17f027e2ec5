import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { auroc, parseConfig, thresholdAtTpr } from '@fsta/core';
import type { ChooseConfigOptions, ConfigChoice } from '@fsta/core';
import { DEMO, demoModel, runCli } from './helpers.js';

// fsta calibrate's choice is core's chooseConfig (the web page's too): record what the CLI hands it and what it returns.
const seen = vi.hoisted(() => ({ calls: [] as { input: unknown; output: unknown }[] }));
vi.mock('@fsta/core', async (importOriginal) => {
  const real = await importOriginal<typeof import('@fsta/core')>();
  return { ...real, chooseConfig: (o: ChooseConfigOptions) => { const r = real.chooseConfig(o); seen.calls.push({ input: o, output: r }); return r; } };
});

const tmp = mkdtempSync(join(tmpdir(), 'fsta-cal-choice-'));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('fsta calibrate chooses with core chooseConfig', () => {
  it('writes chooseConfig\'s pick for its scores, ASH and SCALE fusions included; each fusion row checks out independently', async () => {
    const out = join(tmp, 'c.json');
    const r = await runCli(['calibrate', ...demoModel, '--id', join(DEMO, 'images', 'id'), '--limit', '40', '--noise-count', '20', '--k-percentiles', '80,95', '--classifiers', 'none,msp,maxlogit,energy,ash,scale', '-o', out]);
    expect(r.code, r.err).toBe(0);
    expect(seen.calls).toHaveLength(1);
    const input = seen.calls[0]!.input as ChooseConfigOptions;
    const choice = seen.calls[0]!.output as ConfigChoice;
    expect(input.fusions).toEqual([null, 'msp', 'maxlogit', 'energy', 'ash', 'scale']);
    expect(Object.keys(input.classifierScores!)).toEqual(['msp', 'maxlogit', 'energy', 'ash', 'scale']);
    // The written config is chooseConfig's, fingerprint included.
    const written = parseConfig(readFileSync(out, 'utf8'));
    expect(written).toEqual(parseConfig(JSON.parse(JSON.stringify(choice.config))));
    expect(written.provenance!.modelFingerprint).toMatch(/^sha256:/);

    // Independently of chooseConfig: on the chosen TA candidate, each fusion's mean AUROC over the
    // synthetic sets of feature + λ·classifier, and the pick: the best mean AUROC, or no fusion when
    // the gain is within the bootstrap interval (which the reason then says).
    const ta = input.taCandidates.find((c) => c.taStage === written.taStage && c.k === written.k)!;
    expect(ta).toBeDefined();
    const rows = choice.fusions.map((f) => {
      const cls = f.classifier === null ? null : input.classifierScores![f.classifier]!;
      const fused = (s: ArrayLike<number>, c?: ArrayLike<number>) => Array.from(s, (v, i) => v + (c ? f.lambda * c[i]! : 0));
      const per = ta.noiseSets!.map((s, i) => auroc(fused(ta.idScores, cls?.id), fused(s.scores, cls?.sets[i]!.scores)));
      expect(f.auroc).toBeCloseTo(mean(per), 12);
      // And the table the CLI prints is those rows.
      expect(r.out).toContain(`  ${(f.classifier ?? 'none').padEnd(9)} λ=${f.lambda.toPrecision(4)}`);
      return { name: f.classifier, auroc: mean(per), fpr95: f.fpr95, idFused: fused(ta.idScores, cls?.id) };
    });
    const top = rows.reduce((a, b) => (b.auroc > a.auroc || (b.auroc === a.auroc && b.fpr95 < a.fpr95) ? b : a));
    const kept = rows.find((x) => x.name === written.classifier)!;
    if (top.name === null || /beats no fusion/.test(String(written.provenance!.fusion))) expect(written.classifier).toBe(top.name);
    else {
      expect(written.classifier).toBeNull();
      expect(String(written.provenance!.fusion)).toMatch(/within the bootstrap interval, so no fusion is kept/);
    }
    expect(written.threshold).toBe(thresholdAtTpr(kept.idFused, 0.95));
  });
});
