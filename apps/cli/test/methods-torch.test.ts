import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// fsta eval's ASH, SCALE and fDBD on a real model against PyTorch and the authors' code
// (tools/fixtures/cli_methods_resnet20.py), on ../shared (CI has it).
const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const resnet20 = join(SHARED, 'models', 'cifar10-resnet20.onnx');
const fx = JSON.parse(readFileSync(new URL('./fixtures/methods-resnet20.json', import.meta.url), 'utf8'));

describe.skipIf(!existsSync(resnet20))('ASH, SCALE and fDBD on CIFAR ResNet-20 agree with PyTorch', () => {
  it('AUROC within 0.01 points and FPR95 within one OOD image of the torch + authors’ code pipeline', async () => {
    const out = join(tmpdir(), `fsta-methods-${process.pid}.json`);
    const r = await runCli(['eval', '--model', resnet20, '--backbone', 'auto', '--id', join(SHARED, 'data', 'cifar10-test-png-1k'), '--labels', 'folder', '--ood', `textures=${join(SHARED, 'data', 'textures-32px-png')}`, '--ta-stage', 'none', '--methods', 'ASH,SCALE,fDBD', '--bootstrap', '0', '--json', out, '--force']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.settings.counts).toEqual({ id: fx.counts.id, ood: { textures: fx.counts.textures } });
    for (const m of ['ASH', 'SCALE', 'fDBD']) {
      // onnxruntime float32 features against torch's; a few of the 600,000 ID-OOD pairs may swap order.
      expect(Math.abs(j.results[m].textures.auroc - fx.textures[m].auroc), m).toBeLessThan(0.01);
      expect(Math.abs(j.results[m].textures.fpr95 - fx.textures[m].fpr95), m).toBeLessThanOrEqual(100 / fx.counts.textures + 1e-9);
    }
  });
});
