import { describe, expect, it } from 'vitest';
import { FstaError, collectSamples, defaultConfig, scoreSamples, scoresFromOutputs, serialQueue, type NamedOutput } from '../src/index.js';

const out = (v: number[], shape = [v.length]): NamedOutput => ({ data: Float32Array.from(v), shape });

describe('scoresFromOutputs', () => {
  const outputs = {
    logits: out([1, 2, 3, 4, 5, 6], [2, 3]),
    'fsta/fs': out([0.5, 0.25]),
    'fsta/fs_ta': out([0.75, 0.125]),
    'fsta/msp': out([0.9, 0.4]),
    'fsta/energy': out([3, 7]),
  };
  it('takes the configured feature score, fuses on the host, applies the threshold', () => {
    const cfg = defaultConfig({ featureScore: 'fs_ta', classifier: 'energy', lambda: 0.5, threshold: 2 });
    const r = scoresFromOutputs(outputs, cfg, 2);
    expect(r.map((x) => x.score)).toEqual([0.75 + 0.5 * 3, 0.125 + 0.5 * 7]);
    expect(r.map((x) => x.verdict)).toEqual(['ID', 'ID']);
    expect(r[1]!.classifier).toEqual({ msp: Math.fround(0.4), energy: 7 });
    expect(r[0]!.fs).toBe(0.5);
    expect(r[1]!.outputs.logits).toEqual({ data: Float32Array.from([4, 5, 6]), shape: [1, 3] });
    expect(Object.keys(r[0]!.outputs)).toEqual(['logits']);
  });
  it('prefers the in-graph fused score and reports OOD below the threshold', () => {
    const cfg = defaultConfig({ featureScore: 'fs', threshold: 0.3 });
    const r = scoresFromOutputs({ ...outputs, 'fsta/score': out([0.5, 0.25]) }, cfg, 2);
    expect(r.map((x) => x.verdict)).toEqual(['ID', 'OOD']);
  });
  it('verdict is null without a threshold; fsTa null without TA', () => {
    const cfg = defaultConfig({ featureScore: 'fs', taStage: null });
    const r = scoresFromOutputs({ 'fsta/fs': out([1]) }, cfg, 1);
    expect(r[0]).toMatchObject({ fs: 1, fsTa: null, score: 1, verdict: null });
  });
  it('errors on a missing or mis-shaped score output', () => {
    expect(() => scoresFromOutputs({ logits: outputs.logits }, defaultConfig(), 2)).toThrow(/no output "fsta\/fs"/);
    expect(() => scoresFromOutputs({ 'fsta/fs': out([1]), 'fsta/fs_ta': out([1, 2]) }, defaultConfig(), 2)).toThrow(FstaError);
    expect(() => scoresFromOutputs({ 'fsta/fs': out([1]), 'fsta/fs_ta': out([1]) }, defaultConfig({ classifier: 'maxlogit', lambda: 1 }), 1)).toThrow(/maxlogit/);
    expect(() => scoresFromOutputs({ 'fsta/fs': out([NaN]), 'fsta/fs_ta': out([1]) }, defaultConfig(), 1)).toThrow(/NaN at sample 0/);
  });
});

describe('collectSamples + scoreSamples', () => {
  const spec = { size: [1, 1] as [number, number], crop: 'none' as const, mean: [0, 0, 0], std: [1, 1, 1] };
  const chw = [3, 1, 1] as const;
  it('expands raw batches, preprocesses pixels, decodes the rest, batches runs', async () => {
    const decoded: number[] = [];
    const samples = await collectSamples(
      [{ data: new Float32Array(6).fill(0.5), shape: [2, 3, 1, 1] }, { data: new Uint8Array([255, 0, 51]), width: 1, height: 1 }, 'file.png'],
      { preprocess: spec, chw, decode: async (_, i) => { decoded.push(i); return { data: new Uint8Array([0, 0, 0]), width: 1, height: 1 }; } },
    );
    expect(decoded).toEqual([2]);
    expect(samples.map((s) => Array.from(s))).toEqual([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [1, 0, Math.fround(51 / 255)], [0, 0, 0]]);
    const shapes: number[][] = [];
    const r = await scoreSamples(samples, {
      config: defaultConfig({ featureScore: 'fs', taStage: null }),
      chw, batchSize: 3,
      run: async (data, shape) => { shapes.push([...shape]); const n = shape[0]!; return { 'fsta/fs': out(Array.from({ length: n }, (_, i) => data[i * 3]!)) }; },
    });
    expect(shapes).toEqual([[3, 3, 1, 1], [1, 3, 1, 1]]);
    expect(r.map((x) => x.fs)).toEqual([0.5, 0.5, 1, 0]);
  });
  it('refuses an empty call and a preprocess size that is not the model input', async () => {
    await expect(collectSamples([], { preprocess: spec, chw, decode: async () => { throw new Error(); } })).rejects.toThrow(/no images/);
    await expect(collectSamples([{ data: new Float32Array(3), shape: [3, 1, 1] }], { preprocess: { ...spec, size: [2, 2] }, chw, decode: async () => { throw new Error(); } })).rejects.toThrow(/does not match the model input/);
  });
});

describe('serialQueue', () => {
  it('runs jobs one at a time, in order, and survives a failing job', async () => {
    const q = serialQueue();
    const log: string[] = [];
    const job = (name: string, ms: number, fail = false) => () => new Promise<string>((res, rej) => { log.push(`start ${name}`); setTimeout(() => { log.push(`end ${name}`); fail ? rej(new Error(name)) : res(name); }, ms); });
    const r = await Promise.allSettled([q(job('a', 20)), q(job('b', 1, true)), q(job('c', 5))]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});
