import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// Token models (issue 11, item 2) through the CLI: inspect names the layout and writes it
// into the manifest; eval and calibrate run on that manifest (small ViT and Swin exports,
// random weights, so only that they run and what they name is checked; the numbers are
// checked against PyTorch in packages/onnx/test/patch-tokens.test.ts).
const ROOT = join(import.meta.dirname, '..', '..', '..');
const SHARED = join(ROOT, '..', 'shared');
const model = (name: string) => join(ROOT, '.cache', 'models', `${name}.onnx`);
const tmp = mkdtempSync(join(tmpdir(), 'fsta-tokens-'));

beforeAll(() => {
  execFileSync('node', [join(ROOT, 'tools', 'ensure-models.mjs')], { stdio: 'inherit' });
}, 900_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!existsSync(join(SHARED, 'data', 'imagenet-val-1k')))('fsta on token models', () => {
  it.each([
    ['vit_tiny', /C5 {2}\[1, 197, 192\] {2}stride 16 {2}layout \(N, L, C\) tokens, FS leaves out 1 class token/, { layout: 'nlc', prefixTokens: 1 }],
    ['swin_tiny', /C5 {2}\[1, 7, 7, 256\] {2}stride 32 {2}layout NHWC \(channels last\)/, { layout: 'nhwc', prefixTokens: 0 }],
  ] as const)('inspect %s: the stages in their layout, written into the manifest', async (name, line, layout) => {
    const out = join(tmp, `${name}.json`);
    const r = await runCli(['inspect', model(name), '--write-manifest', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(line);
    expect(r.out).toMatch(/warning: the TA stage C4 .* is signed/);
    const m = JSON.parse(readFileSync(out, 'utf8'));
    expect(m.stages.C5).toMatchObject(layout);
    expect(m.stages.C4).toMatchObject(layout);
  });

  it('eval on the ViT with the written manifest: FS and FS+TA scored on ImageNet vs Textures', async () => {
    const r = await runCli(['eval', '--model', model('vit_tiny'), '--manifest', join(tmp, 'vit_tiny.json'), '--id', join(SHARED, 'data', 'imagenet-val-1k'), '--ood', `textures=${join(SHARED, 'data', 'textures')}`, '--limit', '12', '--methods', 'MSP,FS,FS+TA', '--json', join(tmp, 'eval.json')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^FS\+TA /m);
    const j = JSON.parse(readFileSync(join(tmp, 'eval.json'), 'utf8'));
    expect(JSON.stringify(j)).toMatch(/"FS\+TA"/);
  }, 300_000);

  it('calibrate on the ViT: k candidates below 0 (a signed stage) are skipped, a config is written', async () => {
    const out = join(tmp, 'vit.config.json');
    const r = await runCli(['calibrate', '--model', model('vit_tiny'), '--manifest', join(tmp, 'vit_tiny.json'), '--id', join(SHARED, 'data', 'imagenet-val-1k'), '--limit', '8', '--noise', 'gaussian,jigsaw', '--noise-count', '8', '-o', out]);
    expect(r.code, r.err).toBe(0);
    // The residual stream is centred near 0: its median is below 0 on these images.
    expect(r.err).toMatch(/fsta: C4 is signed: k candidates p50 = -[\d.e-]+.* are below 0 \(TA needs k ≥ 0\), skipped/);
    const c = JSON.parse(readFileSync(out, 'utf8'));
    expect(c.fsStage).toBe('C5');
    expect(c.taStage === null || c.taStage === 'C4').toBe(true);
    if (c.taStage !== null) expect(c.k).toBeGreaterThanOrEqual(0);
    const score = await runCli(['score', '--model', model('vit_tiny'), '--manifest', join(tmp, 'vit_tiny.json'), '--config', out, join(SHARED, 'data', 'imagenet-val-1k', 'n01443537_goldfish.JPEG')]);
    expect(score.code, score.err).toBe(0);
    expect(JSON.parse(score.out.trim().split('\n').at(-1)!).fs).toBeGreaterThan(0);
  }, 300_000);
});
