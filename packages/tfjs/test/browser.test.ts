import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { conformanceCases } from '@fsta/core/conformance';
import { createDetector } from '../src/index.js';
import { fileHandler } from '../src/node.js';
import { runInBrowser } from '../../../tools/browser/harness.js';
import { workspaceAlias } from '../../../vitest.shared.js';
import { useBackend } from './backend.js';
import { cifarFiles, maxRelDiff, rawBatch, repoRoot, rowsOf, textureFiles } from './cross-runtime-images.js';
import type { ScoreRow } from './cross-runtime-images.js';
import { resnetTfjsModelJson } from './fixtures.js';
import type { BackendResult } from './browser/tfjs-entry.js';

// CIFAR and texture images interleaved, so the short WebGPU run (SwiftShader is slow) still sees both.
const N_WEBGL = 64, N_WEBGPU = 8;
const textures = textureFiles(N_WEBGL / 2);
const files = cifarFiles(N_WEBGL / 2).flatMap((c, i) => [c, textures[i]!]);

describe('@fsta/tfjs in headless Chromium (ResNet-20 LayersModel)', () => {
  let node: ScoreRow[];
  let page: BackendResult[];
  beforeAll(async () => {
    const modelJson = await resnetTfjsModelJson();
    const batch = await rawBatch(files, { size: [32, 32], crop: 'none', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    await useBackend('cpu');
    const det = await createDetector({ model: await tfl.loadLayersModel(fileHandler(modelJson)), stages: { fs: 'layer3', ta: 'layer2' }, k: 0.5, logits: 'logits', config: { classifier: 'energy', lambda: 0.016 } });
    expect(det.runtime).toBe('tfjs/cpu');
    node = rowsOf(await det.score(batch));
    ({ result: page } = await runInBrowser<BackendResult[]>(
      new URL('./browser/tfjs-entry.ts', import.meta.url).pathname,
      {
        modelUrl: '/cache/tfjs/cifar10-resnet20/model.json',
        data: Array.from(batch.data),
        shape: batch.shape,
        jobs: [
          { backend: 'webgl', images: N_WEBGL, conformance: true },
          { backend: 'webgpu', images: N_WEBGPU, conformance: true },
        ],
      },
      { alias: workspaceAlias, routes: { '/cache/': path.join(repoRoot, '.cache/') }, timeoutMs: 600_000 },
    ));
    for (const r of page) console.info(`[tfjs/${r.backend}] ${r.rows?.length ?? 0} images in ${r.ms?.toFixed(0)} ms`, r.flags ?? '', r.rows ? maxRelDiff(r.rows, node.slice(0, r.rows.length)) : r.error);
  }, 900_000);

  describe.each([['webgl', N_WEBGL], ['webgpu', N_WEBGPU]] as const)('on %s', (backend, n) => {
    const result = () => page[backend === 'webgl' ? 0 : 1]!;
    it('really ran there (no silent fallback)', () => {
      const r = result();
      expect(r.error).toBeUndefined();
      expect(r.backend).toBe(backend);
      expect(r.runtime).toBe(`tfjs/${backend}`);
    });
    it(`agrees with tfjs/cpu in Node within rel 1e-3 on ${n} images (fs, fsTa, msp, energy, fused)`, () => {
      const r = result();
      expect(r.rows).toHaveLength(n);
      const worst = maxRelDiff(r.rows!, node.slice(0, n));
      for (const [field, v] of Object.entries(worst)) expect(v, field).toBeLessThan(1e-3);
      // TA must have changed the score, or agreement on fsTa would say nothing about the tail re-run.
      expect(Math.max(...r.rows!.map((s) => Math.abs(s.fsTa - s.fs)))).toBeGreaterThan(1e-2);
    });
    it("passes core's conformance suite and frees every tensor", () => {
      const r = result();
      expect(r.conformance?.map((c) => c.name)).toEqual(conformanceCases.map((c) => c.name));
      expect(r.conformance!.filter((c) => !c.ok)).toEqual([]);
      expect(r.leaked).toBe(0);
    });
  });
});
