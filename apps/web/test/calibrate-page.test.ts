/**
 * The page's calibration against `fsta calibrate` on the same model and ID images: the
 * page's code (calibratePage, the page's patch) runs here in Node on onnxruntime-node,
 * the CLI through its built binary with its own stage runner. Both must compare the
 * same candidates with the same numbers and write the same config.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDetector } from '@fsta/onnxruntime-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig, preprocessPixels, type FstaConfig, type TaCandidateResult } from '@fsta/core';
import { encodeModel } from '@fsta/onnx';
import { calibratePage, checkImportedConfig, idScores, type Runner } from '../src/calibrate-page.js';
import { detectorRunner } from '../src/detector-runner.js';
import { sameSettings } from '../src/calibration-view.js';
import type { ModelSpec } from '../src/model-spec.js';
import { manifestOf } from '../src/ort-engine.js';
import { listFiles } from '../plugins/serve-dir.js';
import type { DemoJson } from '../src/demo-model.js';
import { loadUserModel } from '../src/user-model.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const demoDir = process.env.FSTA_DEMO_DIR ?? path.join(repoRoot, 'apps/cli/assets/photo-demo');
const cli = path.join(repoRoot, 'apps/cli/dist/bin.js');
const about = JSON.parse(readFileSync(path.join(demoDir, 'demo.json'), 'utf8')) as DemoJson;

/** The page's demo spec, read as the page's loadDemo reads it (the same loadUserModel), from the files instead of URLs. */
function demoSpec(): ModelSpec {
  const spec = loadUserModel(new Uint8Array(readFileSync(path.join(demoDir, 'model.onnx'))), 'model.onnx', about.backbone);
  return { ...spec, name: about.backbone, calibrationImages: listFiles(demoDir, (f) => f.startsWith('images/id/') && /\.(png|jpe?g)$/.test(f)), calibrationGrid: about.calibration, note: null };
}

/** The page's calibration runner (detectorRunner: the same manifest, config, tails and exposed tensors) on onnxruntime-node's adapter instead of onnxruntime-web's. */
function nodeRunner(spec: ModelSpec): Runner & { dispose(): Promise<void> } {
  const bytes = encodeModel(spec.model);
  return detectorRunner(spec, ({ config, ks, tensorsOf }) => createDetector({ model: bytes, manifest: manifestOf(spec), config, ...(ks.length ? { ks } : {}), ...(tensorsOf.length ? { expose: { stages: true, tensorsOf } } : {}), executionProviders: ['cpu'], logger: () => {} }));
}

const concatSamples = (parts: readonly Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.forEach((p, i) => out.set(p, i * p.length));
  return out;
};

describe.skipIf(!existsSync(cli))('page calibration', () => {
  const spec = demoSpec();

  it('chooses what `fsta calibrate` (and so `fsta demo`) chooses with the demo\'s grid on the same model and ID images, from the same candidate numbers', async () => {
    const id = await Promise.all(spec.calibrationImages.map(async (rel) => {
      const { data, info } = await sharp(path.join(demoDir, rel)).raw().toBuffer({ resolveWithObject: true });
      return preprocessPixels({ data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 3 | 4 }, spec.preprocess);
    }));
    expect(id.length).toBe(129);
    const started = performance.now();
    // Every image the model runs on, by the detector settings it ran with.
    const runner = nodeRunner(spec);
    const images = new Map<string, number>();
    const counting: Runner = (samples, config, options = {}) => {
      const key = JSON.stringify([config.taStage, (options.ks ?? []).length, options.sampleStages ?? []]);
      images.set(key, (images.get(key) ?? 0) + samples.length);
      return runner(samples, config, options);
    };
    let progress: [number, number] = [0, 0];
    const page = await calibratePage(spec, id, counting, (done, total) => { progress = [done, total]; }, spec.calibrationGrid);
    await runner.dispose();
    console.log(`page calibration in Node (onnxruntime-node, cpu): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // Two passes, as fsta calibrate: the TA stages' activations of the ID images (no TA tail), then the ID images and
    // both synthetic sets once, with every candidate a tail of one graph (C3 first, then 5 more).
    const synthetic = 2 * Math.min(id.length, about.calibration.syntheticCount);
    expect(Object.fromEntries(images)).toEqual({
      [JSON.stringify([null, 0, about.calibration.taStages])]: id.length,
      [JSON.stringify([about.calibration.taStages[0], about.calibration.taStages.length * about.calibration.kPercentiles.length - 1, []])]: id.length + synthetic,
    });
    expect(progress).toEqual([2 * id.length + synthetic, 2 * id.length + synthetic]);
    // The demo's grid: plain FS and TA at C3, C4 with three percentiles each.
    expect(page.choice!.ta.table.length).toBe(1 + about.calibration.taStages.length * about.calibration.kPercentiles.length);

    const dir = mkdtempSync(path.join(tmpdir(), 'fsta-web-cal-'));
    const out = path.join(dir, 'fsta.config.json');
    // The flags `fsta demo` passes, from the same demo.json.
    const grid = ['--ta-stages', about.calibration.taStages.join(','), '--k-percentiles', about.calibration.kPercentiles.join(','), '--noise-count', String(about.calibration.syntheticCount)];
    execFileSync(process.execPath, [cli, 'calibrate', '--model', path.join(demoDir, 'model.onnx'), '--backbone', about.backbone, '--id', path.join(demoDir, 'images/id'), ...grid, '-o', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const fromCli = parseConfig(readFileSync(out, 'utf8'));
    rmSync(dir, { recursive: true, force: true });

    // The same candidates, in the same order, with the same separation numbers (two runtimes: float32 noise only).
    const cliRows = (fromCli.provenance as { ta: { candidates: TaCandidateResult[] } }).ta.candidates;
    const pageRows = page.choice!.ta.table;
    expect(pageRows.map((r) => [r.taStage, r.kPercentile ?? null])).toEqual(cliRows.map((r) => [r.taStage, r.kPercentile ?? null]));
    for (const [i, r] of pageRows.entries()) {
      const c = cliRows[i]!;
      expect(r.k, `candidate ${i} k`).toBeCloseTo(c.k, 4);
      expect(r.sets.map((s) => s.name)).toEqual(c.sets.map((s) => s.name));
      r.sets.forEach((s, j) => expect(Math.abs(s.auroc - c.sets[j]!.auroc), `candidate ${i} ${s.name} AUROC`).toBeLessThan(2e-3));
    }
    // The same choice.
    const pick = (c: FstaConfig) => ({ taStage: c.taStage, kPercentile: c.kPercentile, featureScore: c.featureScore, classifier: c.classifier, lambda: c.lambda, targetTpr: c.targetTpr });
    expect(pick(page.config)).toEqual(pick(fromCli));
    expect(page.config.k).toBeCloseTo(fromCli.k, 4);
    expect(Math.abs(page.config.threshold! - fromCli.threshold!)).toBeLessThan(1e-3 * Math.max(1, Math.abs(fromCli.threshold!)));
    // Loaded into the page, it reads as the page's own calibration.
    expect(sameSettings(fromCli, page.config)).toBe(true);
    // The CLI's config fits the page's model, so the page can load it.
    expect(checkImportedConfig(fromCli, spec)).toBe(fromCli);
  }, 900_000);

  it('refuses a config whose stages or fused score do not fit the model, saying which and what to do', () => {
    const base = parseConfig({ ...defaultConfig(), fsStage: 'C5', taStage: 'C4', k: 1 });
    expect(() => checkImportedConfig({ ...base, fsStage: 'layer4' }, spec)).toThrow(/the config scores FS at stage layer4, which mobilenet_v2 does not have.*Fix: use a config calibrated for/);
    expect(() => checkImportedConfig({ ...base, taStage: 'C1' }, spec)).toThrow(/applies TA at stage C1/);
    expect(() => checkImportedConfig({ ...base, taStage: 'C5' }, spec)).toThrow(/not before its FS stage C5/);
    expect(() => checkImportedConfig({ ...base, classifier: 'odin', lambda: 1 }, spec)).toThrow(/"odin", which the page cannot compute/);
    expect(() => checkImportedConfig({ ...base, classifier: 'msp', lambda: 1 }, { ...spec, head: null })).toThrow(/has no classifier output/);
  });

  it('loads a config that fuses ASH or SCALE and scores it as onnxruntime-node\'s createDetector does', async () => {
    const ash = parseConfig({ ...defaultConfig(), backbone: about.backbone, fsStage: 'C5', taStage: 'C4', k: 0.5, featureScore: 'fs_ta', classifier: 'ash', lambda: 0.02, ash: { variant: 's', percentile: 85 } });
    const scale = parseConfig({ ...ash, classifier: 'scale', lambda: 0.03, ash: undefined, scale: { percentile: 80 } });
    const files = spec.calibrationImages.slice(0, 3).map((f) => path.join(demoDir, f));
    const samples = await Promise.all(files.map(async (f) => {
      const { data, info } = await sharp(f).raw().toBuffer({ resolveWithObject: true });
      return preprocessPixels({ data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 3 | 4 }, spec.preprocess);
    }));
    for (const config of [ash, scale]) {
      expect(checkImportedConfig(config, spec)).toBe(config);
      const run = nodeRunner(spec);
      try {
        const page = await idScores(samples, config, run);
        const direct = await createDetector({ model: encodeModel(spec.model), manifest: manifestOf(spec), config, executionProviders: ['cpu'], logger: () => {} });
        const want = await direct.score({ data: concatSamples(samples), shape: [samples.length, ...spec.chw] });
        await direct.dispose();
        expect(want.every((w) => Number.isFinite(w.classifier[config.classifier as 'ash' | 'scale']!))).toBe(true);
        for (const [i, w] of want.entries()) expect(page.score[i]).toBeCloseTo(w.score, 5);
      } finally {
        await run.dispose();
      }
    }
  }, 300_000);

  it('refuses a grid whose TA stages are not stages before the FS stage, before running anything', async () => {
    const never: Runner = async () => { throw new Error('ran the model'); };
    const two = [new Float32Array(3 * 224 * 224), new Float32Array(3 * 224 * 224).fill(0.5)];
    await expect(calibratePage(spec, two, never, undefined, { taStages: ['C5'] })).rejects.toThrow(/TA stage candidates C5 are not stages before C5 \(those are C2, C3, C4\).*Fix: name TA stages among C2, C3, C4/);
    await expect(calibratePage(spec, two, never, undefined, { taStages: [] })).rejects.toThrow(/\(none\)/);
  });
});
