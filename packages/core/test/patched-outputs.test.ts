import { describe, expect, it } from 'vitest';
import { DECODE_CONCURRENCY, FstaError, collectSamples, defaultConfig, scoreInputs, scoreSamples, scoresFromOutputs, serialQueue, type NamedOutput } from '../src/index.js';

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
  it('reports fsta/ash and fsta/scale as classifier scores and fuses ASH from its output', () => {
    const cfg = defaultConfig({ featureScore: 'fs_ta', classifier: 'ash', lambda: 0.25 });
    const r = scoresFromOutputs({ ...outputs, 'fsta/ash': out([40, 8]) }, cfg, 2);
    expect(r.map((x) => x.score)).toEqual([0.75 + 0.25 * 40, 0.125 + 0.25 * 8]);
    expect(r[0]!.classifier).toEqual({ msp: Math.fround(0.9), energy: 3, ash: 40 });
    expect(scoresFromOutputs({ ...outputs, 'fsta/scale': out([2, 4]) }, { ...cfg, classifier: 'scale' }, 2)[1]!.classifier.scale).toBe(4);
    expect(() => scoresFromOutputs(outputs, cfg, 2)).toThrow(/fuses classifier score "ash" but the patched model outputs neither it nor "fsta\/score"/);
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

describe('scoreInputs: decoding overlaps the runs', () => {
  const spec = { size: [1, 1] as [number, number], crop: 'none' as const, mean: [0, 0, 0], std: [1, 1, 1] };
  const chw = [3, 1, 1] as const;
  const config = defaultConfig({ featureScore: 'fs', taStage: null });
  const tick = () => new Promise((r) => setTimeout(r, 2));
  /** Decodes 'p<v>' to one pixel of value v; logs decode and run starts/ends. */
  const scorer = (log: string[], o: { fail?: number[]; batchSize?: number; fixedBatch?: number } = {}) => {
    let active = 0, most = 0;
    return {
      config, chw, preprocess: spec, batchSize: o.batchSize ?? 2, fixedBatch: o.fixedBatch ?? null,
      get mostAtOnce() { return most; },
      decode: async (x: unknown, i: number) => {
        log.push(`decode ${i}`);
        most = Math.max(most, ++active);
        await tick();
        active--;
        if (o.fail?.includes(i)) throw new FstaError('BAD_IMAGE', `image ${i} is bad`, 'fix it');
        const v = Number(String(x).slice(1));
        return { data: new Uint8Array([v, v, v]), width: 1, height: 1 };
      },
      run: async (data: Float32Array, shape: readonly number[]) => {
        const n = shape[0]!;
        log.push(`run ${n}`);
        await tick(); await tick();
        log.push('run end');
        return { 'fsta/fs': out(Array.from({ length: n }, (_, i) => Math.round(data[i * 3]! * 255))) };
      },
    };
  };
  it('scores in call order, mixing raw tensors, pixels and decoded inputs, one run per batch', async () => {
    const log: string[] = [];
    const inputs = ['p1', { data: new Float32Array(6).fill(2 / 255), shape: [2, 3, 1, 1] }, 'p3', { data: new Uint8Array([4, 4, 4]), width: 1, height: 1 }, 'p5'];
    const r = await scoreInputs(inputs, scorer(log, { batchSize: 4 }));
    expect(r.map((x) => x.fs)).toEqual([1, 2, 2, 3, 4, 5]);
    expect(log.filter((l) => /^run \d/.test(l))).toEqual(['run 4', 'run 2']);
  });
  it('decodes the next batch while the model runs this one, at most DECODE_CONCURRENCY at once, holding about three batches', async () => {
    const log: string[] = [];
    const s = scorer(log, { batchSize: 2 });
    const n = 40;
    const r = await scoreInputs(Array.from({ length: n }, (_, i) => `p${i}`), s);
    expect(r.map((x) => x.fs)).toEqual(Array.from({ length: n }, (_, i) => i));
    // Decodes of batch 1 start before run 0 ends.
    expect(log.indexOf('decode 2')).toBeLessThan(log.indexOf('run end'));
    expect(s.mostAtOnce).toBeLessThanOrEqual(DECODE_CONCURRENCY);
    expect(s.mostAtOnce).toBeGreaterThan(1);
    // Never more than ~3 batches decoded ahead of the last run that finished.
    let ended = 0;
    for (const l of log) {
      if (l === 'run end') ended++;
      if (l.startsWith('decode ')) expect(Number(l.slice(7))).toBeLessThan((ended + 3) * 2 + 1);
    }
  });
  it('throws for the first bad input in call order, after nothing unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(scoreInputs(Array.from({ length: 9 }, (_, i) => `p${i}`), scorer([], { fail: [4, 3, 7] }))).rejects.toThrow(/image 3 is bad/);
      await expect(scoreInputs(['p0', { data: new Float32Array(2), shape: [3, 1, 1] }, 'p2'], scorer([], { fail: [2] }))).rejects.toThrow(/raw tensor input 1/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
  it('pads a fixed-batch model and keeps only the real results; refuses a bad batch size and no images', async () => {
    const log: string[] = [];
    const r = await scoreInputs(['p1', 'p2', 'p3'], scorer(log, { fixedBatch: 2 }));
    expect(r.map((x) => x.fs)).toEqual([1, 2, 3]);
    expect(log.filter((l) => /^run \d/.test(l))).toEqual(['run 2', 'run 2']);
    await expect(scoreInputs(['p1'], scorer([], { batchSize: 0 }))).rejects.toThrow(/batchSize must be a positive integer/);
    await expect(scoreInputs([], scorer([]))).rejects.toThrow(/no images/);
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
