import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { FstaConfig, PixelInput } from '@fsta/core';
import { createDetector as nodeDetector } from '@fsta/onnxruntime-node';
import { createDetector } from '../src/index.js';

// ASH and SCALE fused in the patched graph on onnxruntime-web (WASM in Node), checked against
// the authors' code in PyTorch on the same images (the fixture @fsta/onnxruntime-node's test
// also reads: tools/fixtures/graph_ash_scale_resnet20.py) and against onnxruntime-node.
const shared = new URL('../../../../shared/', import.meta.url).pathname;
const fx = JSON.parse(readFileSync(new URL('../../onnxruntime-node/test/fixtures/ash-scale-resnet20.json', import.meta.url), 'utf8')) as { files: string[]; scores: Record<string, number[]> };
const files = fx.files.map((f) => join(shared, f));
const model = join(shared, 'models/cifar10-resnet20.onnx');
const config = (over: Partial<FstaConfig>): FstaConfig => ({ version: 1, backbone: 'auto', fsStage: 'C5', taStage: 'C4', k: 0.5, featureScore: 'fs_ta', classifier: null, lambda: 0.25, temperature: 1, threshold: null, targetTpr: null, ...over });

async function pixels(path: string): Promise<PixelInput> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 3 | 4 };
}
const close = (a: number, b: number, tol: number, what: string) => expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe('ASH and SCALE in the patched graph on onnxruntime-web (CIFAR ResNet-20, 24 images)', () => {
  const cases = [
    { key: 'ash-s90', cfg: config({ classifier: 'ash', ash: { variant: 's', percentile: 90 } }) },
    { key: 'ash-p65', cfg: config({ classifier: 'ash', ash: { variant: 'p', percentile: 65 } }) },
    { key: 'scale85', cfg: config({ classifier: 'scale', scale: { percentile: 85 } }) },
  ];
  for (const { key, cfg } of cases) {
    it(`${key}: equals PyTorch (authors' code) to 1e-5 and onnxruntime-node; fused score = FS+TA + λ·score`, async () => {
      const which = cfg.classifier as 'ash' | 'scale';
      const web = await createDetector({ model: readFileSync(model), config: cfg });
      const node = await nodeDetector({ model, config: cfg, executionProviders: ['cpu'] });
      try {
        expect(web.runtime).toBe('onnxruntime-web/wasm');
        const [w, n] = [await web.score(await Promise.all(files.map(pixels))), await node.score(files)];
        const expected = fx.scores[key]!;
        expect(expected).toHaveLength(files.length);
        w.forEach((s, i) => {
          close(s.classifier[which]!, expected[i]!, 1e-5, `${key} image ${i} vs PyTorch`);
          close(s.classifier[which]!, n[i]!.classifier[which]!, 1e-5, `${key} image ${i} vs onnxruntime-node`);
          close(s.score, s.fsTa! + cfg.lambda * s.classifier[which]!, 1e-6, 'fused score');
        });
      } finally {
        await Promise.all([web.dispose(), node.dispose()]);
      }
    });
  }
});
