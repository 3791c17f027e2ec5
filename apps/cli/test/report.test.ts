import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { DEMO, demoModel, runCli } from './helpers.js';
import { parse } from '../src/args.js';
import { evalInputs, evalOptions, runEval } from '../src/commands/eval.js';
import type { EvalResult } from '../src/commands/eval.js';
import { loadModelSpec } from '../src/engine/model.js';
import { openEngine } from '../src/engine/open-detector.js';
import { spreadPicks } from '../src/engine/sample-maps.js';
import { renderSamples } from '../src/report/sample-plots.js';

const CHROMIUM = process.env.FSTA_CHROMIUM ?? '/usr/bin/chromium';
const tmp = mkdtempSync(join(tmpdir(), 'fsta-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('eval --report', () => {
  const report = join(tmp, 'r.html');
  const args = [...demoModel, '--id', join(DEMO, 'images', 'id'), '--ood', `mnist=${join(DEMO, 'images', 'ood', 'mnist')}`, '--limit', '20', '--k', '0.5', '--methods', 'MSP,FS,FS+TA'];
  it('writes a self-contained page with ROC curves and histograms as inline SVG', async () => {
    const r = await runCli(['eval', ...args, '--report', report]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(report)).toBe(true);
  });

  it('draws each sample heatmap from the values whose mean is that image\'s FS and FS+TA score in the table', async () => {
    const html = readFileSync(report, 'utf8');
    const rows = html.split('<div class="sample"').slice(1);
    expect(rows.map((r) => r.match(/^ data-set="([^"]+)"/)![1])).toEqual(['ID', 'ID', 'mnist', 'mnist']);
    // The rect marks' labels carry the plotted values (12 digits): 8x8 cells per map at the demo's C5.
    const cells = (row: string, chart: number) => [...row.split(`concat_${chart}_marks`)[1]!.split('</g>')[0]!.matchAll(/v: ([-\d.e]+)"/g)].map((m) => Number(m[1]));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const r = await evalResult();
    const samples = r.data.samples!;
    for (const [i, row] of rows.entries()) {
      const s = samples[i]!;
      const at = s.set === 'ID' ? r.data.files.id.indexOf(s.file) : r.data.files.ood[s.set]!.indexOf(s.file);
      const score = (m: string) => (s.set === 'ID' ? r.data.scores[m]!.id : r.data.scores[m]!.ood[s.set]!)[at]!;
      const plain = cells(row, 0), ta = cells(row, 1);
      expect(plain).toHaveLength(64);
      expect(ta).toHaveLength(64);
      // The eval batch and the sample batch differ, so onnxruntime may round differently: 1e-5 relative.
      expect(mean(plain)).toBeCloseTo(score('FS'), 5);
      expect(mean(ta)).toBeCloseTo(score('FS+TA'), 5);
      expect(row).toContain(`GMM score ${s.gmmScore.toPrecision(4)}`);
      expect(row.match(/aria-roledescription="line mark"/g)).toHaveLength(3);
    }
  });

  it.skipIf(!existsSync(CHROMIUM))('renders in headless Chromium without console errors or external requests', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const page = await browser.newPage();
      const errors: string[] = [], requests: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (q) => { if (!q.url().startsWith('file:')) requests.push(q.url()); });
      await page.goto(pathToFileURL(report).href);
      // 1 ROC facet chart + one histogram per plotted method (MSP, FS, FS+TA) + one chart per sample image (2 ID, 2 mnist).
      expect(await page.locator('svg').count()).toBe(8);
      const samples = page.locator('#feature-maps ~ .sample');
      expect(await samples.count()).toBe(4);
      for (let i = 0; i < 4; i++) {
        const row = samples.nth(i);
        expect(await row.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(96);
        // Heatmaps without and with TA (8x8 cells each), histogram bars, and the 3 GMM curves.
        expect(await row.locator('.concat_0_marks > path').count()).toBe(64);
        expect(await row.locator('.concat_1_marks > path').count()).toBe(64);
        expect(await row.locator('[aria-roledescription="line mark"]').count()).toBe(3);
        const map = await row.locator('.concat_0_marks').boundingBox();
        expect(map!.width).toBeGreaterThan(90);
      }
      expect(await page.locator('table tbody tr').count()).toBe(3);
      const box = await page.locator('svg').first().boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

let cached: Promise<EvalResult> | null = null;
const evalResult = () => (cached ??= runEval(evalInputs(parse('eval', [...demoModel, '--id', join(DEMO, 'images', 'id'), '--ood', `mnist=${join(DEMO, 'images', 'ood', 'mnist')}`, '--limit', '20', '--k', '0.5', '--methods', 'MSP,FS,FS+TA'], evalOptions).values), { out: () => {}, err: () => {}, errIsTty: false, cwd: process.cwd() }, { samples: true }));

describe('report sample images', () => {
  it('picks the middles of equal slices, without repeats', () => {
    expect(spreadPicks(300, 2)).toEqual([75, 225]);
    expect(spreadPicks(20, 2)).toEqual([5, 15]);
    expect(spreadPicks(1, 2)).toEqual([0]);
    expect(spreadPicks(0, 2)).toEqual([]);
  });

  it('computes no sample maps unless a report is asked for', async () => {
    const v = parse('eval', [...demoModel, '--id', join(DEMO, 'images', 'id'), '--ood', `mnist=${join(DEMO, 'images', 'ood', 'mnist')}`, '--limit', '4', '--k', '0.5', '--methods', 'FS'], evalOptions).values;
    const r = await runEval(evalInputs(v), { out: () => {}, err: () => {}, errIsTty: false, cwd: process.cwd() });
    expect(r.data.samples).toBeUndefined();
  });

  it('shows only the plain heatmap when there is no TA stage', async () => {
    const v = parse('eval', [...demoModel, '--id', join(DEMO, 'images', 'id'), '--ood', `mnist=${join(DEMO, 'images', 'ood', 'mnist')}`, '--limit', '4', '--ta-stage', 'none', '--methods', 'FS'], evalOptions).values;
    const r = await runEval(evalInputs(v), { out: () => {}, err: () => {}, errIsTty: false, cwd: process.cwd() }, { samples: true });
    expect(r.data.samples!.map((s) => [s.set, s.taMap, s.fsTa])).toEqual([['ID', null, null], ['ID', null, null], ['mnist', null, null], ['mnist', null, null]]);
    const html = await renderSamples(r.data.samples!);
    expect(html).not.toContain('with TA:');
    expect(html.match(/>without TA: FS /g)).toHaveLength(4);
    expect(html.match(/aria-roledescription="line mark"/g)).toHaveLength(12);
  });

  it('fits the GMM on the model\'s own pooled features, and shows the model\'s input pixels', async () => {
    const { data } = await evalResult();
    const spec = loadModelSpec(join(DEMO, 'model.onnx'), { manifestPath: join(DEMO, 'demo.json') });
    const engine = await openEngine(spec, { fsStage: 'C5', taStage: null }, [], 1, () => {});
    try {
      for (const s of data.samples!) {
        // The demo's penultimate tensor is the network's own GlobalAveragePool of C5.
        const [b] = await engine.detector.score(s.file, { include: ['penultimate'] });
        expect(s.channelMeans).toHaveLength(64);
        s.channelMeans.forEach((v, c) => expect(v).toBeCloseTo(b!.features!.penultimate![c]!, 5));
        expect(s.gmm.means[1]).toBeGreaterThan(s.gmm.means[0]);
        expect(s.gmmScore).toBeCloseTo(((s.gmm.means[1] - s.gmm.means[0]) * s.gmm.weights[1]) / s.gmm.weights[0], 12);
        // 32x32 inputs are shown 3x with nearest-neighbour scaling: every third pixel is the file's pixel.
        const png = await sharp(Buffer.from(s.image.replace(/^data:image\/png;base64,/, ''), 'base64')).raw().toBuffer({ resolveWithObject: true });
        expect([png.info.width, png.info.height]).toEqual([96, 96]);
        const file = await sharp(s.file).toColourspace('srgb').removeAlpha().raw().toBuffer();
        for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) {
          expect(png.data[(y * 3 * 96 + x * 3) * png.info.channels + c]).toBe(file[(y * 32 + x) * 3 + c]);
        }
      }
    } finally {
      await engine.dispose();
    }
  });
});
