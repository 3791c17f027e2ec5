import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO, demoModel, runCli } from './helpers.js';

const CHROMIUM = process.env.FSTA_CHROMIUM ?? '/usr/bin/chromium';
const tmp = mkdtempSync(join(tmpdir(), 'fsta-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('eval --report', () => {
  const report = join(tmp, 'r.html');
  it('writes a self-contained page with ROC curves and histograms as inline SVG', async () => {
    const r = await runCli(['eval', ...demoModel, '--id', join(DEMO, 'images', 'id'), '--ood', `mnist=${join(DEMO, 'images', 'ood', 'mnist')}`, '--limit', '20', '--k', '0.5', '--methods', 'MSP,FS,FS+TA', '--report', report]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(report)).toBe(true);
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
      // 1 ROC facet chart + one histogram per plotted method (MSP, FS, FS+TA).
      expect(await page.locator('svg').count()).toBe(4);
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
