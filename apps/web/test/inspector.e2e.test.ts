/**
 * The page in headless Chromium, built (`vite build`, served statically) and from the
 * Vite dev server (`npm run web`), with its bundled default, `fsta demo`'s ImageNet
 * MobileNetV2: bundled photos, textures and drawings go through the file input, and
 * the numbers the page shows on each runtime are checked against Python onnxruntime +
 * PIL + numpy (tools/check_photo_demo.py --reference, from the same JPEGs) and against
 * `fsta score` (the built CLI, its own stage runner on onnxruntime-node) with the page's
 * calibrated config.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, repoRoot, sharedRoot, startStaticServer, type StaticServer } from '../../../tools/browser/harness.js';
import { parseConfig, type FstaConfig } from '@fsta/core';
import { GraphBuilder, encodeModel } from '@fsta/onnx';
import type { DemoJson } from '../src/demo-model.js';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const demoDir = process.env.FSTA_DEMO_DIR ?? path.join(repoRoot, 'apps/cli/assets/photo-demo');
const referencePath = path.join(appDir, 'test/fixtures/photo-demo-reference-scores.json');
const about = JSON.parse(readFileSync(path.join(demoDir, 'demo.json'), 'utf8')) as DemoJson;
// The model's class names; a demo folder without them shows class indices.
const classNames = existsSync(path.join(demoDir, 'classes.json')) ? JSON.parse(readFileSync(path.join(demoDir, 'classes.json'), 'utf8')) as string[] : null;
const artifacts = path.join(repoRoot, 'artifacts/web');

interface Reference { images: { file: string; fs: number; msp: number; pred: number }[] }
interface Shown { file: string; fs: number; fsTa: number; msp: number; score: number; verdict: string; top: string; heatmaps: number; runtime: string; warmUp: boolean; shownFs: string }
type Runtime = 'ort-wasm' | 'ort-webgpu';

// Three ID photos (an animal, a fish, a monument), two textures, two drawings: the reference fixture's images.
const SAMPLES = ['images/id/erase-alpaca.jpg', 'images/id/fishes-fish12.jpg', 'images/id/monuments-leaningTowerOfPisa.jpg', 'images/ood/textures/striped-0.jpg', 'images/ood/textures/checkered-1.jpg', 'images/ood/drawings/cat.jpg', 'images/ood/drawings/apple.jpg'];

let dist: string;
let server: StaticServer;
let dev: ViteDevServer;
let devUrl: string;
let browser: Browser;

beforeAll(async () => {
  const { build, createServer } = await import('vite');
  dist = mkdtempSync(path.join(tmpdir(), 'fsta-web-'));
  await build({ configFile: path.join(appDir, 'vite.config.ts'), logLevel: 'error', build: { outDir: dist, emptyOutDir: true } });
  server = await startStaticServer({ '/': dist });
  // The dev server as `npm run web` starts it (same config), on a free port.
  dev = await createServer({ configFile: path.join(appDir, 'vite.config.ts'), logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
  await dev.listen();
  devUrl = `http://127.0.0.1:${(dev.httpServer!.address() as AddressInfo).port}/`;
  browser = await launchChromium();
  mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await dev?.close();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

interface Opened { page: Page; log: string[]; notIsolated: string[] }

/** Opens the page; `whileLoading` runs once the page exists, before it is ready. Every response must carry COOP and COEP. */
async function openPage(url: string, { width = 1200, height = 900, whileLoading }: { width?: number; height?: number; whileLoading?: (page: Page) => Promise<void> } = {}): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width, height } });
  const log: string[] = [];
  const notIsolated: string[] = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    const h = r.headers();
    if (r.url().startsWith(url) && Object.entries(ISOLATION).some(([k, v]) => h[k] !== v)) notIsolated.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(url);
  if (whileLoading) await whileLoading(page);
  await page.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 600_000 });
  const ready = await page.evaluate(() => document.body.dataset.ready);
  if (ready !== 'true') throw new Error(`page failed to load: ${await page.locator('#errors').innerText()}\n${log.join('\n')}`);
  return { page, log, notIsolated };
}

async function useRuntime(page: Page, choice: Runtime): Promise<string> {
  if ((await page.locator('#runtime').inputValue()) !== choice) {
    await page.evaluate(() => { document.getElementById('model-status')!.dataset.runtime = ''; });
    await page.selectOption('#runtime', choice);
  }
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && !!document.getElementById('model-status')!.dataset.runtime, null, { timeout: 300_000 });
  return (await page.locator('#model-status').getAttribute('data-runtime'))!;
}

async function shownCards(page: Page): Promise<Shown[]> {
  return page.$$eval('#results li.card', (cards) => cards.map((c) => {
    const num = (k: string) => Number((c.querySelector(`[data-field="${k}"]`) as HTMLElement | null)?.dataset.value);
    return { file: (c as HTMLElement).dataset.file!, fs: num('fs'), fsTa: num('fsTa'), msp: num('msp'), score: num('score'), verdict: c.querySelector('[data-field="verdict"]')!.textContent!, top: c.querySelector('[data-field="top"]')?.textContent ?? '', heatmaps: c.querySelectorAll('canvas[aria-label^="C5 heatmap"]').length, runtime: (c as HTMLElement).dataset.runtime!, warmUp: (c as HTMLElement).dataset.warmUp === 'true', shownFs: c.querySelector('[data-field="fs"]')!.textContent! };
  }));
}

async function dropSamples(page: Page, files: string[]): Promise<Shown[]> {
  const before = await page.locator('#results li.card').count();
  await page.setInputFiles('#image-files', files.map((f) => path.join(demoDir, f)));
  await page.waitForFunction((n) => document.querySelectorAll('#results li.card').length >= n, before + files.length, { timeout: 300_000 });
  return (await shownCards(page)).slice(before);
}

/** Checks what one runtime showed against the Python reference scores. */
function expectLikePyTorch(shown: Shown[], samples: string[], ref: (file: string) => Reference['images'][number], runtime: string, hasTa: boolean): void {
  expect(shown.map((s) => s.file)).toEqual(samples.map((f) => path.basename(f)));
  for (const [i, s] of shown.entries()) {
    const r = ref(samples[i]!);
    expect(Math.abs(s.fs - r.fs), `${s.file} FS`).toBeLessThan(1e-3);
    expect(Math.abs(s.msp - r.msp), `${s.file} MSP`).toBeLessThan(1e-3);
    // FS+TA is shown exactly when the page's calibrated config uses TA (calibration may keep plain FS).
    expect(Number.isFinite(s.fsTa), `${s.file} FS+TA shown`).toBe(hasTa);
    expect(Number.isFinite(s.score)).toBe(true);
    // Top class as Python's, named from classes.json.
    const top1 = classNames ? classNames[r.pred]! : `class ${r.pred}`;
    expect(s.top.startsWith(`Top classes: ${top1} `), `${s.file}: "${s.top}" starts with ${top1}`).toBe(true);
    expect(s.verdict).toMatch(/^(ID|OOD):/);
    expect(s.top).toMatch(/^Top classes: /);
    expect(s.runtime).toBe(runtime);
    // Shown to 4 significant digits, the exact value kept for the tooltip.
    expect(s.shownFs).toBe(String(Number(s.fs.toPrecision(4))));
  }
}


/** `fsta score` from the built CLI: one JSON line per image. */
function fstaScore(config: unknown, files: string[]): { file: string; fs: number; fsTa: number | null; score: number; verdict: string | null }[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'fsta-web-cfg-'));
  const cfg = path.join(dir, 'fsta.config.json');
  writeFileSync(cfg, JSON.stringify(config));
  const out = execFileSync(process.execPath, [path.join(repoRoot, 'apps/cli/dist/bin.js'), 'score', '--model', path.join(demoDir, 'model.onnx'), '--backbone', about.backbone, '--config', cfg, ...files.map((f) => path.join(demoDir, f))], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

async function chooseModel(page: Page, file: string, backbone: string): Promise<void> {
  await page.selectOption('#backbone', backbone);
  await page.evaluate(() => { document.body.dataset.busy = 'true'; });
  await page.setInputFiles('#model-file', file);
  await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 120_000 });
}

const reference = JSON.parse(readFileSync(referencePath, 'utf8')) as Reference;
const ref = (file: string) => reference.images.find((r) => r.file.endsWith(file.replace(/^images\//, '')))!;
/** The built page's calibrated config, which the dev server's page must reach as well. */
let builtConfig: FstaConfig | null = null;

describe('fsta inspector page (built)', () => {
  let shown: Shown[] = [];
  let pageConfig: FstaConfig;

  // One page for the whole suite: the demo calibrates once per page load. MobileNetV2 runs on WASM (?runtime=ort-wasm):
  // WebGPU on SwiftShader, the CPU emulation CI has, takes minutes per image; WebGPU is checked on ResNet-20 below.
  let page: Page;
  let log: string[];
  let notIsolated: string[];
  // Calibration on WASM takes a minute or more on a busy 2-core machine (MobileNetV2 on 129 + 129 + 100 images).
  beforeAll(async () => { ({ page, log, notIsolated } = await openPage(`${server.url}?runtime=ort-wasm`)); }, 900_000);
  afterAll(async () => { await page?.close(); });

  // TensorFlow.js needs a tfjs twin of the model (tools/onnx-to-tfjs-resnet.mjs reads ResNets); MobileNetV2 has none.
  it('does not offer TensorFlow.js for the bundled MobileNetV2, and says why', async () => {
    const option = page.locator('#runtime option[value="tfjs-webgl"]');
    expect(await option.isDisabled()).toBe(true);
    expect(await option.innerText()).toMatch(/needs a tfjs version of the model/);
  });

  it('shows FS and MSP equal to Python onnxruntime on WASM, started from ?runtime=ort-wasm', async () => {
    expect(await page.locator('#runtime').inputValue()).toBe('ort-wasm');
    await page.locator('#clear').click();
    const runtime = await useRuntime(page, 'ort-wasm');
    expect(runtime, log.join('\n')).toBe('onnxruntime-web/wasm');
    shown = await dropSamples(page, SAMPLES);
    pageConfig = JSON.parse(await page.locator('#config-json').textContent() as string);
    const hasTa = pageConfig.taStage !== null;
    expectLikePyTorch(shown, SAMPLES, ref, runtime, hasTa);
    // The C5 maps (without TA, and with TA when the config uses it).
    for (const s of shown) expect(s.heatmaps).toBe(hasTa ? 2 : 1);
    // The first image on a fresh runtime pays its warm-up, and says so.
    expect(shown.map((s) => s.warmUp)).toEqual(shown.map((_, i) => i === 0));
    // Its results sit under that runtime's heading.
    expect(await page.locator(`#results section[data-runtime="${runtime}"] h3`).innerText()).toBe(`On ${runtime}`);
    await page.screenshot({ path: path.join(artifacts, 'inspector-ort-wasm-desktop.png'), fullPage: true });
  });

  it('shows the same FS, FS+TA, fused scores and verdicts as `fsta score` with the page config', () => {
    expect(pageConfig.threshold).not.toBeNull();
    builtConfig = pageConfig;
    expect(notIsolated, 'responses without COOP/COEP').toEqual([]);
    const cli = fstaScore(pageConfig, SAMPLES);
    expect(cli.map((r) => path.basename(r.file))).toEqual(SAMPLES.map((f) => path.basename(f)));
    // Cards come in the order the files were given.
    for (const [i, s] of shown.entries()) {
      const c = cli[i]!;
      expect(Math.abs(s.fs - c.fs), `${s.file} FS`).toBeLessThan(1e-3);
      // FS+TA where the calibrated config has a TA stage ("—" on the card otherwise).
      if (c.fsTa === null) expect(s.fsTa, `${s.file} FS+TA`).toBeNaN();
      else expect(Math.abs(s.fsTa - c.fsTa), `${s.file} FS+TA`).toBeLessThan(1e-3);
      expect(Math.abs(s.score - c.score), `${s.file} fused`).toBeLessThan(1e-3);
      expect(s.verdict.slice(0, s.verdict.indexOf(':')), `${s.file} verdict`).toBe(c.verdict);
    }
  });

  it('refuses a ?runtime= it does not have, naming the ones it has', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${server.url}?runtime=cuda`);
      await other.waitForFunction(() => (document.querySelector('#errors p')?.textContent ?? '') !== '', null, { timeout: 60_000 });
      expect(await other.locator('#errors p').first().innerText()).toMatch(/^Runtime: the link asks for runtime "cuda", which this page does not have\. Fix: use \?runtime= with one of ort-webgpu, ort-wasm, tfjs-webgl\.$/);
    } finally {
      await other.close();
    }
  });

  it('explains where FS works and where it does not with demo.json\'s words, and scores each set from its button', async () => {
    await useRuntime(page, 'ort-wasm');
    await page.locator('#clear').click();
    const box = page.locator('#demo-examples');
    expect(await box.isVisible()).toBe(true);
    for (const s of about.sets) {
      const line = await box.locator(`li[data-set="${s.name}"]`).innerText();
      expect(line).toContain(s.why);
      expect(line).toMatch(s.role === 'works' ? /^Where FS works \(/ : /^Where it does not \(/);
    }
    await box.locator('li[data-set="drawings"] button').click();
    await page.waitForFunction(() => document.querySelectorAll('#results li.card').length >= 3, null, { timeout: 120_000 });
    const drawings = await shownCards(page);
    expect(drawings.map((c) => c.file.split('/').slice(0, 2).join('/'))).toEqual(['ood/drawings', 'ood/drawings', 'ood/drawings']);
    // The tally counts the cards' verdicts under the set's role.
    const flagged = drawings.filter((c) => c.verdict.startsWith('OOD')).length;
    expect(await page.locator('#demo-tally li[data-set="drawings"]').innerText()).toBe(`Drawings (OOD, where it does not): ${flagged} of 3 flagged OOD`);
    // One texture and one drawing, for the screenshot: the texture is OOD under the calibrated config (FS's strength here).
    await page.locator('#clear').click();
    const [texture, drawing] = await dropSamples(page, [SAMPLES[3]!, SAMPLES[5]!]);
    expect(texture!.verdict).toMatch(/^OOD:/);
    console.log(`texture ${texture!.file}: FS ${texture!.fs}, ${texture!.verdict}; drawing ${drawing!.file}: FS ${drawing!.fs}, ${drawing!.verdict}`);
    await page.screenshot({ path: path.join(artifacts, 'inspector-texture-and-drawing.png'), fullPage: true });
  });

  it('shows a visible error naming each of a non-image, an empty and an over-the-cap file, and keeps scoring the rest', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await useRuntime(page, 'ort-wasm');
    await page.locator('#clear').click();
    const dir = mkdtempSync(path.join(tmpdir(), 'fsta-web-bad-'));
    const bad = path.join(dir, 'notes.txt');
    writeFileSync(bad, 'this is not an image');
    const empty = path.join(dir, 'empty.png');
    writeFileSync(empty, '');
    // huge.png: a PNG header claiming 20000x30000 pixels over a 37x23 image's data.
    execFileSync('/usr/bin/python3', [path.join(repoRoot, 'tools/fixtures/header_images.py'), dir], { stdio: 'ignore' });
    await page.setInputFiles('#image-files', [bad, empty, path.join(dir, 'huge.png'), path.join(demoDir, SAMPLES[0]!)]);
    await page.waitForFunction(() => document.querySelectorAll('#results li.card').length >= 1 && document.querySelectorAll('#errors p').length >= 3, null, { timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    const error = page.locator('#errors p').first();
    expect(await error.isVisible()).toBe(true);
    expect(await page.locator('#errors p').allInnerTexts()).toEqual([
      expect.stringMatching(/^"notes\.txt" is not an image this browser can decode \(type text\/plain.*Fix: pass a PNG, JPEG, WebP, GIF or BMP file\.$/),
      expect.stringMatching(/^"empty\.png" is empty \(0 bytes\)\. Fix: /),
      expect.stringMatching(/^"huge\.png" is 20000x30000 = 600000000 pixels, over the limit of 100000000\. Fix: /),
    ]);
    expect(await page.$$eval('#errors p', (ps) => ps.map((p) => (p as HTMLElement).dataset.code))).toEqual(['BAD_IMAGE', 'EMPTY_IMAGE', 'IMAGE_TOO_LARGE']);
    expect(await page.locator('#results li.card').count()).toBe(1);
    // Phone width: nothing wider than the viewport.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(artifacts, 'inspector-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it('refuses a non-ONNX file, a wrong backbone and a model without conv stages, visibly, and keeps the demo', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fsta-web-models-'));
    const notOnnx = path.join(dir, 'photo.onnx');
    writeFileSync(notOnnx, readFileSync(path.join(demoDir, SAMPLES[0]!)));
    // A graph with no convolution: Gemm + Relu on a flat input.
    const b = new GraphBuilder(13, 'mlp/', new Set());
    const [h] = b.node('Gemm', ['input', b.floatConst(new Float32Array(12 * 4).fill(0.1), [12, 4])]);
    const [out] = b.node('Relu', [h!]);
    const mlp = path.join(dir, 'mlp.onnx');
    writeFileSync(mlp, encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name: 'mlp', node: b.nodes, initializer: b.initializers, input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 12 }] } } } }], output: [{ name: out!, type: { tensorType: { elemType: 1 } } }] } }));
    const cases: [string, string, RegExp][] = [
      [notOnnx, 'auto', /photo\.onnx" is not an ONNX model/],
      [path.join(demoDir, 'model.onnx'), 'resnet50', /backbone "resnet50" does not fit this model.*Fix: pick the backbone .* under "Backbone of your model"/],
      [mlp, 'auto', /no convolutional stages/],
    ];
    for (const [file, backbone, message] of cases) {
      await chooseModel(page, file, backbone);
      const error = page.locator('#errors p').first();
      expect(await error.isVisible()).toBe(true);
      expect(await error.innerText()).toMatch(/^Model: /);
      expect(await error.innerText()).toMatch(message);
      expect(await error.innerText()).toMatch(/Fix: /);
      expect(await page.locator('#model-status').innerText()).toMatch(/mobilenet_v2/);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows how calibration chose, exports its config, loads one from fsta calibrate and refuses one that does not fit', async () => {
    await useRuntime(page, 'ort-wasm');
    // The candidate tables, the chosen rows marked: demo.json's grid, 7 TA candidates (plain FS + 2 stages x 3 percentiles), 4 fusions.
    expect(await page.locator('table.calibration').count()).toBe(2);
    expect(await page.locator('table.calibration').nth(0).locator('tbody tr').count()).toBe(1 + about.calibration.taStages.length * about.calibration.kPercentiles.length);
    expect(await page.locator('table.calibration').nth(1).locator('tbody tr').count()).toBe(4);
    expect(await page.locator('table.calibration tr.chosen').count()).toBe(2);
    expect(await page.locator('#config-source').innerText()).toMatch(/calibrated here on 129 ID images and synthetic tile, phase \(as fsta calibrate\), in \d+ s/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-config').click()]);
    const exported = parseConfig(readFileSync((await download.path())!, 'utf8'));
    expect(download.suggestedFilename()).toBe('fsta.config.json');
    expect(exported).toEqual(JSON.parse(await page.locator('#config-json').textContent() as string));
    const dir = mkdtempSync(path.join(tmpdir(), 'fsta-web-config-'));
    // A config as fsta calibrate writes it, with other settings: the page uses it on the runtime.
    const other = { ...exported, taStage: 'C4', k: 0.5, kPercentile: undefined, classifier: 'msp', lambda: 0.1, threshold: 1.5, provenance: { by: 'test' } };
    writeFileSync(path.join(dir, 'other.json'), JSON.stringify(other));
    await page.evaluate(() => { document.body.dataset.busy = 'true'; });
    await page.setInputFiles('#config-file', path.join(dir, 'other.json'));
    await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 300_000 });
    expect(await page.locator('#errors').innerText()).toBe('');
    expect(await page.locator('#config-source').innerText()).toMatch(/loaded from other\.json/);
    const used = JSON.parse(await page.locator('#config-json').textContent() as string) as FstaConfig;
    expect([used.taStage, used.k, used.classifier, used.lambda, used.threshold]).toEqual(['C4', 0.5, 'msp', 0.1, 1.5]);
    expect(await page.locator('#config-summary').innerText()).toMatch(/^In use: TA at C4 with k = 0\.5, fused with msp \(λ = 0\.1\), threshold 1\.5 \(\d+ of the 129 ID images here score at or above it\)\. The page calibrated here chose otherwise: /);
    await page.locator('#clear').click();
    const [card] = await dropSamples(page, [SAMPLES[0]!]);
    const cli = fstaScore(used, [SAMPLES[0]!])[0]!;
    expect(Math.abs(card!.score - cli.score)).toBeLessThan(1e-3);
    // Its own config, loaded back, is recognised as the page's calibration.
    await page.evaluate(() => { document.body.dataset.busy = 'true'; });
    await page.setInputFiles('#config-file', (await download.path())!);
    await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 300_000 });
    expect(await page.locator('#config-summary').innerText()).toMatch(/ These are the settings the page calibrated here\.$/);
    await page.evaluate(() => { document.body.dataset.busy = 'true'; });
    await page.setInputFiles('#config-file', path.join(dir, 'other.json'));
    await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 300_000 });
    // One that does not fit the model is refused, naming the stage, and the settings stay.
    writeFileSync(path.join(dir, 'r50.json'), JSON.stringify({ ...exported, fsStage: 'layer4' }));
    await page.evaluate(() => { document.body.dataset.busy = 'true'; });
    await page.setInputFiles('#config-file', path.join(dir, 'r50.json'));
    await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 60_000 });
    expect(await page.locator('#errors p').first().innerText()).toMatch(/^Config r50\.json: the config scores FS at stage layer4, which mobilenet_v2 does not have\. Fix: /);
    expect(await page.locator('#config-source').innerText()).toMatch(/loaded from other\.json/);
    writeFileSync(path.join(dir, 'notes.json'), 'not json');
    await page.setInputFiles('#config-file', path.join(dir, 'notes.json'));
    await page.waitForFunction(() => document.querySelector('#errors p')?.textContent?.includes('notes.json'), null, { timeout: 60_000 });
    expect(await page.locator('#errors p').first().innerText()).toMatch(/config is not valid JSON/);
    await page.screenshot({ path: path.join(artifacts, 'inspector-imported-config.png'), fullPage: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('is operable from the keyboard: the inputs are reachable by Tab and labelled', async () => {
    const labels = await page.$$eval('input, select', (els) => els.map((e) => (e as HTMLInputElement).labels?.length ?? 0));
    expect(labels.every((n) => n > 0)).toBe(true);
    await page.evaluate(() => { (document.activeElement as HTMLElement | null)?.blur(); window.scrollTo(0, 0); });
    const reached = new Set<string>();
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    for (const id of ['backbone', 'model-file', 'runtime', 'image-files', 'samples']) expect(reached, id).toContain(id);
    expect(await page.locator('#results').getAttribute('aria-live')).toBe('polite');
  });

  const resnet20 = path.join(sharedRoot, 'models/cifar10-resnet20.onnx');
  // Last: it replaces the demo model in the shared page.
  it.skipIf(!existsSync(resnet20))('patches a dropped ONNX model in the page and scores it like the Node adapter on WASM, and on WebGPU like WASM', async () => {
    await useRuntime(page, 'ort-wasm');
    await chooseModel(page, resnet20, 'cifar_resnet20');
    expect(await page.locator('#errors').innerText()).toBe('');
    expect(await page.locator('#model-status').innerText()).toMatch(/cifar10-resnet20\.onnx · Runtime in use: onnxruntime-web\/wasm/);
    expect(await page.locator('#model-note').isVisible()).toBe(true);
    expect(await page.locator('#model-note').innerText()).toMatch(/no threshold/);
    // Two ID photos, a texture and a drawing, brought to 32x32 by the ResNet's preprocessing.
    const samples = [SAMPLES[0]!, SAMPLES[2]!, SAMPLES[4]!, SAMPLES[6]!];
    const wasm = await dropSamples(page, samples);
    const config = JSON.parse(await page.locator('#config-json').textContent() as string) as FstaConfig;
    expect(config.classifier).toBe('msp');
    const { createDetector } = await import('@fsta/onnxruntime-node');
    const detector = await createDetector({ model: resnet20, backbone: 'cifar_resnet20', config, executionProviders: ['cpu'], logger: () => undefined });
    const node = await detector.score(samples.map((f) => path.join(demoDir, f)));
    await detector.dispose();
    for (const [i, s] of wasm.entries()) {
      expect(Math.abs(s.fs - node[i]!.fs), `${s.file} FS`).toBeLessThan(1e-3);
      expect(Math.abs(s.fsTa - node[i]!.fsTa!), `${s.file} FS+TA`).toBeLessThan(1e-3);
      expect(Math.abs(s.msp - node[i]!.classifier.msp!), `${s.file} MSP`).toBeLessThan(1e-3);
      expect(Math.abs(s.score - node[i]!.score), `${s.file} fused`).toBeLessThan(1e-3);
      expect(s.heatmaps).toBe(2);
    }
    expect(wasm.map((s) => s.warmUp)).toEqual([true, false, false, false]);

    // WebGPU (SwiftShader here): the same model, config and images give the numbers WASM gave.
    const runtime = await useRuntime(page, 'ort-webgpu');
    expect(runtime, log.join('\n')).toBe('onnxruntime-web/webgpu');
    const gpu = await dropSamples(page, samples);
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b));
    for (const [i, s] of gpu.entries()) {
      const w = wasm[i]!;
      expect(s.file).toBe(w.file);
      for (const k of ['fs', 'fsTa', 'msp', 'score'] as const) expect(close(s[k], w[k]), `WebGPU ${s.file} ${k}: ${s[k]} vs WASM ${w[k]}`).toBe(true);
      expect(s.verdict).toBe(w.verdict);
      expect(s.top.replace(/\d+(\.\d+)?%/g, ''), `${s.file} top classes`).toBe(w.top.replace(/\d+(\.\d+)?%/g, ''));
      expect(s.heatmaps).toBe(2);
      expect(s.runtime).toBe('onnxruntime-web/webgpu');
    }
    // Grouped per runtime, each with its own first-run warm-up.
    expect(gpu.map((s) => s.warmUp)).toEqual([true, false, false, false]);
    expect(await page.locator('#results section h3').allInnerTexts()).toEqual(['On onnxruntime-web/wasm', 'On onnxruntime-web/webgpu']);
    expect(await page.locator('#results section[data-runtime="onnxruntime-web/webgpu"] li.card').count()).toBe(samples.length);
    await page.screenshot({ path: path.join(artifacts, 'inspector-own-model-wasm-webgpu.png'), fullPage: true });
  });

}, 900_000);

describe('fsta inspector page (vite dev server, as `npm run web` serves it)', () => {
  it('serves nothing outside the page: /@fs and dot-dot paths are refused, with the isolation headers', async () => {
    const paths = ['/@fs/etc/passwd', '/.git/config', `/@fs${path.join(repoRoot, '.git/config')}`, `/@fs${path.join(repoRoot, 'package.json')}`, '/../../.git/config', '/demo/../../../package.json', '/demo/%2e%2e/%2e%2e/%2e%2e/package.json', '/ort/..%2f..%2f..%2fpackage.json'];
    for (const p of paths) {
      // Raw HTTP: fetch would normalise the dot segments away.
      const { status, body, headers } = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: new URL(devUrl).port, path: p }, (res) => {
          let body = '';
          res.on('data', (c) => { body += c; });
          res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
        });
        req.on('error', reject);
      });
      expect([403, 404], `${p} answered ${status}`).toContain(status);
      expect(body, p).not.toMatch(/root:|\[core\]|fsta-monorepo/);
      expect(headers['cross-origin-embedder-policy'], p).toBe('require-corp');
    }
  });

  it('starts: cross-origin isolated, calibrates as the built page does, queues images given meanwhile, scores like PyTorch', async () => {
    let queued = '';
    // On WASM from the start (?runtime=ort-wasm): the image given while it calibrates is scored on MobileNetV2 (see the built page).
    const { page, log, notIsolated } = await openPage(`${devUrl}?runtime=ort-wasm`, {
      whileLoading: async (p) => {
        // Images given while the page calibrates wait, visibly, and are scored once it is ready.
        await p.waitForFunction(() => /Calibrating/.test(document.getElementById('model-status')!.textContent ?? ''), null, { timeout: 300_000 });
        await p.setInputFiles('#image-files', [path.join(demoDir, SAMPLES[0]!)]);
        await p.waitForFunction(() => !document.getElementById('queue-note')!.hidden, null, { timeout: 10_000 });
        queued = await p.locator('#queue-note').innerText();
      },
    });
    try {
      expect(queued).toMatch(/^1 image waiting: Calibrating on 129 bundled ID images.*; they are scored as soon as it is ready\.$/);
      expect(await page.evaluate(() => self.crossOriginIsolated), log.join('\n')).toBe(true);
      await page.waitForFunction(() => document.querySelectorAll('#results li.card').length >= 1, null, { timeout: 120_000 });
      expect(await page.locator('#queue-note').isHidden()).toBe(true);
      const runtime = await useRuntime(page, 'ort-wasm');
      expect(runtime).toBe('onnxruntime-web/wasm');
      const shown = await dropSamples(page, SAMPLES);
      // The calibration took as long as the page says (recorded for the docs).
      console.log(`dev page: ${await page.locator('#config-source').innerText()}`);
      const config = JSON.parse(await page.locator('#config-json').textContent() as string) as FstaConfig;
      expectLikePyTorch(shown, SAMPLES, ref, 'onnxruntime-web/wasm', config.taStage !== null);
      if (builtConfig) expect(config).toEqual(builtConfig);
      // The histograms have a labelled y-axis.
      expect(await page.locator('#batch svg').first().innerHTML()).toContain('share of images');
      expect(notIsolated, 'responses without COOP/COEP').toEqual([]);
      await page.screenshot({ path: path.join(artifacts, 'inspector-dev-wasm.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });
}, 900_000);
