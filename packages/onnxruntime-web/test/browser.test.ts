import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDetector as nodeDetector } from '@fsta/onnxruntime-node';
import { runInBrowser, sharedRoot } from '../../../tools/browser/harness.js';
import { workspaceAlias } from '../../../vitest.shared.js';
import { cifarFiles, cifarSpec, maxRelDiff, rawBatch, repoRoot, resnet20Onnx, rowsOf, textureFiles } from '../../tfjs/test/cross-runtime-images.js';
import type { ScoreRow } from '../../tfjs/test/cross-runtime-images.js';
import type { ProviderResult } from './browser/ort-entry.js';

// CIFAR and texture images interleaved, so the short WebGPU run (SwiftShader is slow) still sees both.
const N_WASM = 64, N_WEBGPU = 8;
const textures = textureFiles(N_WASM / 2);
const files = cifarFiles(N_WASM / 2).flatMap((c, i) => [c, textures[i]!]);
const urlFiles = files.slice(0, 4);
const toUrl = (f: string) => `/shared/${path.relative(sharedRoot, f)}`;

describe('@fsta/onnxruntime-web in headless Chromium (ResNet-20)', () => {
  let node: ScoreRow[];
  let nodeFromFiles: ScoreRow[];
  let page: ProviderResult[];
  beforeAll(async () => {
    const batch = await rawBatch(files, cifarSpec);
    const det = await nodeDetector({ model: resnet20Onnx, backbone: 'cifar_resnet20', k: 0.5, classifier: 'energy', lambda: 0.016, executionProviders: ['cpu'] });
    node = rowsOf(await det.score(batch));
    nodeFromFiles = rowsOf(await det.score(urlFiles));
    await det.dispose();
    ({ result: page } = await runInBrowser<ProviderResult[]>(
      new URL('./browser/ort-entry.ts', import.meta.url).pathname,
      {
        modelUrl: '/shared/models/cifar10-resnet20.onnx',
        data: Array.from(batch.data),
        shape: batch.shape,
        jobs: [
          // The default providers: WebGPU first in a browser that has it.
          { providers: null, images: N_WEBGPU },
          { providers: ['wasm'], images: N_WASM, urls: urlFiles.map(toUrl) },
        ],
      },
      { alias: workspaceAlias, routes: { '/shared/': sharedRoot + path.sep, '/ort/': path.join(repoRoot, 'node_modules/onnxruntime-web/dist/') } },
    ));
    for (const r of page) console.info(`[${r.runtime}] ${r.rows?.length ?? 0} images in ${r.ms?.toFixed(0)} ms`, r.rows ? maxRelDiff(r.rows, node.slice(0, r.rows.length)) : r.error, r.logs);
  }, 900_000);

  describe.each([['webgpu', 0, N_WEBGPU], ['wasm', 1, N_WASM]] as const)('on %s', (provider, index, n) => {
    it('really ran there (no silent fallback)', () => {
      const r = page[index]!;
      expect(r.error).toBeUndefined();
      expect(r.runtime).toBe(`onnxruntime-web/${provider}`);
      expect(r.logs).toEqual([]);
    });
    it(`agrees with onnxruntime-node within rel 1e-3 on ${n} images (fs, fsTa, msp, energy, fused)`, () => {
      const r = page[index]!;
      expect(r.rows).toHaveLength(n);
      const worst = maxRelDiff(r.rows!, node.slice(0, n));
      for (const [field, v] of Object.entries(worst)) expect(v, field).toBeLessThan(1e-3);
      expect(Math.max(...r.rows!.map((s) => Math.abs(s.fsTa - s.fs)))).toBeGreaterThan(1e-2);
    });
  });

  it('decodes PNG files in the browser (fetch + createImageBitmap) like sharp in onnxruntime-node', () => {
    const worst = maxRelDiff(page[1]!.urlRows!, nodeFromFiles);
    for (const [field, v] of Object.entries(worst)) expect(v, field).toBeLessThan(1e-3);
  });
});
