import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// Real models from ../shared (CI has it). These use @fsta/backbones for the stages and
// @fsta/onnx's toGraphView, so they fail until @fsta/onnx exports toGraphView.
const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const resnet20 = join(SHARED, 'models', 'cifar10-resnet20.onnx');

describe.skipIf(!existsSync(resnet20))('fsta with built-in backbone manifests', () => {
  it('inspect prints the matched manifest and the measured stage shapes', async () => {
    const r = await runCli(['inspect', resnet20]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/backbone: \S*resnet/i);
    expect(r.out).toMatch(/C3 {2}\[1, 16, 32, 32\]/);
    expect(r.out).toMatch(/C4 {2}\[1, 32, 16, 16\]/);
    expect(r.out).toMatch(/C5 {2}\[1, 64, 8, 8\]/);
  });

  it('eval --backbone auto on CIFAR-10 vs Textures reproduces the model\'s accuracy', async () => {
    const r = await runCli(['eval', '--model', resnet20, '--id', join(SHARED, 'data', 'cifar10-test-png-1k'), '--labels', 'folder', '--ood', `textures=${join(SHARED, 'data', 'textures-32px-png')}`, '--limit', '100', '--k', '0.5', '--methods', 'MSP,FS,FS+TA']);
    expect(r.code, r.err).toBe(0);
    // 81% top-1 on the full set (shared/README); 100 images leave room for sampling.
    const top1 = Number(/top-1 (\d+\.\d+)%/.exec(r.out)![1]);
    expect(top1).toBeGreaterThan(65);
    expect(r.out).toMatch(/FS\+TA/);
  });
});
