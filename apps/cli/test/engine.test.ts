import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelSpec } from '../src/engine/model.js';
import { openEngine } from '../src/engine/open-detector.js';
import { collect } from '../src/engine/collect.js';

const DEMO = process.env.FSTA_TEST_DEMO_DIR ?? join(import.meta.dirname, '..', 'assets', 'demo');
const FIXTURE = process.env.FSTA_TEST_DEMO_FIXTURE ?? join(import.meta.dirname, 'fixtures', 'demo-reference-scores.json');

interface Ref { k: number; images: { file: string; pred: number; fs: number; fsTa: number; msp: number; energy: number; maxLogit: number }[] }

describe('the CLI engine (createDetector from @fsta/onnxruntime-node) on the demo model, against PyTorch', () => {
  const ref = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Ref;
  // Every 7th image: ID, MNIST and noise, without scoring all 600 here.
  const picked = ref.images.filter((_, i) => i % 7 === 0);

  it('FS, FS+TA and logits match the PyTorch fixture computed from the same PNGs', async () => {
    const spec = loadModelSpec(join(DEMO, 'model.onnx'), { manifestPath: join(DEMO, 'demo.json') });
    const engine = await openEngine(spec, { fsStage: 'C5', taStage: 'C4' }, [ref.k, 0], 16, () => {});
    try {
      const c = await collect(engine, { kind: 'files', items: picked.map((r) => ({ path: join(DEMO, r.file), label: -1 })) });
      expect(c.failed).toEqual([]);
      expect(c.files.length).toBe(picked.length);
      picked.forEach((r, i) => {
        expect(c.fs[i]).toBeCloseTo(r.fs, 5);
        expect(c.fsTa[0]![i]).toBeCloseTo(r.fsTa, 5);
        // k = 0 on a ReLU stage output is the identity, so FS+TA(0) is plain FS.
        expect(c.fsTa[1]![i]).toBeCloseTo(r.fs, 5);
        const row = c.logits.subarray(i * c.numClasses, (i + 1) * c.numClasses);
        expect(Math.max(...row)).toBeCloseTo(r.maxLogit, 4);
        expect(row.indexOf(Math.max(...row))).toBe(r.pred);
      });
      expect(c.penultimateDim).toBe(64);
    } finally {
      await engine.dispose();
    }
  });
});
