/**
 * The built page in headless Chromium: bundled samples go through the file input, and
 * the numbers the page shows are checked against PyTorch (the demo's reference scores,
 * computed from the same PNGs) and against the Node adapter with the page's own config.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, repoRoot, startStaticServer, type StaticServer } from '../../../tools/browser/harness.js';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const demoDir = process.env.FSTA_DEMO_DIR ?? path.join(repoRoot, 'apps/cli/assets/demo');
const referencePath = path.join(repoRoot, 'apps/cli/test/fixtures/demo-reference-scores.json');
const artifacts = path.join(repoRoot, 'artifacts/web');

interface Reference { images: { file: string; fs: number; fsTa: number; msp: number; pred: number }[] }
interface Shown { file: string; fs: number; fsTa: number; msp: number; score: number; verdict: string; top: string }

const SAMPLES = ['images/id/0-t-shirt/000.png', 'images/id/4-coat/001.png', 'images/id/8-bag/002.png', 'images/ood/mnist/3-00.png', 'images/ood/gaussian/000.png', 'images/ood/uniform/000.png'];

let dist: string;
let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  const { build } = await import('vite');
  dist = mkdtempSync(path.join(tmpdir(), 'fsta-web-'));
  await build({ configFile: path.join(appDir, 'vite.config.ts'), logLevel: 'error', build: { outDir: dist, emptyOutDir: true } });
  server = await startStaticServer({ '/': dist });
  browser = await launchChromium();
  mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

async function openPage(width = 1200, height = 900): Promise<{ page: Page; log: string[] }> {
  const page = await browser.newPage({ viewport: { width, height } });
  const log: string[] = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 240_000 });
  const ready = await page.evaluate(() => document.body.dataset.ready);
  if (ready !== 'true') throw new Error(`page failed to load: ${await page.locator('#errors').innerText()}\n${log.join('\n')}`);
  return { page, log };
}

async function useRuntime(page: Page, choice: 'ort-wasm' | 'ort-webgpu'): Promise<string> {
  if ((await page.locator('#runtime').inputValue()) !== choice) await page.selectOption('#runtime', choice);
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && !!document.getElementById('model-status')!.dataset.runtime, null, { timeout: 120_000 });
  return (await page.locator('#model-status').getAttribute('data-runtime'))!;
}

async function dropSamples(page: Page, files: string[]): Promise<Shown[]> {
  const before = await page.locator('#results > li').count();
  await page.setInputFiles('#image-files', files.map((f) => path.join(demoDir, f)));
  await page.waitForFunction((n) => document.querySelectorAll('#results > li').length >= n, before + files.length, { timeout: 120_000 });
  return page.$$eval('#results > li', (cards) => cards.map((c) => {
    const num = (k: string) => Number(c.querySelector(`[data-field="${k}"]`)?.textContent);
    return { file: (c as HTMLElement).dataset.file!, fs: num('fs'), fsTa: num('fsTa'), msp: num('msp'), score: num('score'), verdict: c.querySelector('[data-field="verdict"]')!.textContent!, top: c.querySelector('[data-field="top"]')?.textContent ?? '' };
  }).slice(before));
}

describe('fsta inspector page', () => {
  const reference = JSON.parse(readFileSync(referencePath, 'utf8')) as Reference;
  const ref = (file: string) => reference.images.find((r) => r.file.endsWith(file.replace(/^images\//, '')))!;
  const shownByRuntime: Record<string, Shown[]> = {};
  let config: unknown;

  for (const choice of ['ort-wasm', 'ort-webgpu'] as const) {
    it(`shows FS and MSP equal to PyTorch on ${choice}`, async () => {
      const { page } = await openPage();
      const runtime = await useRuntime(page, choice);
      expect(runtime).toBe(choice === 'ort-wasm' ? 'onnxruntime-web/wasm' : 'onnxruntime-web/webgpu');
      const shown = await dropSamples(page, SAMPLES);
      config = JSON.parse(await page.locator('#config-json').textContent() as string);
      expect(shown.map((s) => s.file)).toEqual(SAMPLES.map((f) => path.basename(f)));
      for (const [i, s] of shown.entries()) {
        const r = ref(SAMPLES[i]!);
        expect(Math.abs(s.fs - r.fs), `${s.file} FS`).toBeLessThan(1e-3);
        expect(Math.abs(s.msp - r.msp), `${s.file} MSP`).toBeLessThan(1e-3);
        expect(Number.isFinite(s.fsTa) && Number.isFinite(s.score)).toBe(true);
        expect(s.verdict).toMatch(/^(ID|OOD):/);
        expect(s.top).toMatch(/^Top classes: /);
      }
      shownByRuntime[choice] = shown;
      await page.screenshot({ path: path.join(artifacts, `inspector-${choice}-desktop.png`), fullPage: true });
      await page.close();
    });
  }

  it('gives the same FS+TA and fused scores as the Node adapter with the page config', async () => {
    const { createDetector } = await import('@fsta/onnxruntime-node');
    const meta = JSON.parse(readFileSync(path.join(demoDir, 'demo.json'), 'utf8'));
    const detector = await createDetector({ model: path.join(demoDir, 'model.onnx'), config: config as never, preprocess: meta.preprocess, executionProviders: ['cpu'], logger: () => undefined });
    const node = await detector.score(SAMPLES.map((f) => path.join(demoDir, f)));
    await detector.dispose();
    for (const shown of Object.values(shownByRuntime)) {
      for (const [i, s] of shown.entries()) {
        expect(Math.abs(s.fs - node[i]!.fs), `${s.file} FS`).toBeLessThan(1e-3);
        expect(Math.abs(s.fsTa - node[i]!.fsTa!), `${s.file} FS+TA`).toBeLessThan(1e-3);
        expect(Math.abs(s.score - node[i]!.score), `${s.file} fused`).toBeLessThan(1e-3);
      }
    }
  });

  it('says clearly that TensorFlow.js cannot run the ONNX model', async () => {
    const { page } = await openPage();
    await page.selectOption('#runtime', 'tfjs-webgl');
    await page.waitForFunction(() => document.getElementById('model-status')!.dataset.runtime === 'none');
    expect(await page.locator('#runtime-note').innerText()).toMatch(/TensorFlow\.js .* ONNX/);
    await page.close();
  });

  it('shows a visible error for a non-image file, and keeps scoring the rest', async () => {
    const { page } = await openPage(375, 800);
    await useRuntime(page, 'ort-wasm');
    const bad = path.join(mkdtempSync(path.join(tmpdir(), 'fsta-web-bad-')), 'notes.txt');
    writeFileSync(bad, 'this is not an image');
    await page.setInputFiles('#image-files', [bad, path.join(demoDir, SAMPLES[0]!)]);
    await page.waitForFunction(() => document.querySelectorAll('#results > li').length >= 1 && document.querySelectorAll('#errors p').length >= 1, null, { timeout: 60_000 });
    const error = page.locator('#errors p').first();
    expect(await error.isVisible()).toBe(true);
    expect(await error.innerText()).toMatch(/notes\.txt.*not an image/);
    // Phone width: nothing wider than the viewport.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(artifacts, 'inspector-phone.png'), fullPage: true });
    await page.close();
  });

  it('is operable from the keyboard: the image input is reachable by Tab and labelled', async () => {
    const { page } = await openPage();
    const labels = await page.$$eval('input, select', (els) => els.map((e) => (e as HTMLInputElement).labels?.length ?? 0));
    expect(labels.every((n) => n > 0)).toBe(true);
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'image-files');
    }
    expect(reached).toBe(true);
    expect(await page.locator('#results').getAttribute('aria-live')).toBe('polite');
    await page.close();
  });
}, 600_000);

