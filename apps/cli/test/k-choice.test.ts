import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '@fsta/core';
import { parse } from '../src/args.js';
import { evalInputs, evalOptions, runEval } from '../src/commands/eval.js';
import { DEMO, demoModel, runCli } from './helpers.js';

const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const resnet20 = join(SHARED, 'models', 'cifar10-resnet20.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'fsta-k-'));
const img = (p: string) => join(DEMO, 'images', p);
const quiet = { out: () => {}, err: () => {}, errIsTty: false, cwd: process.cwd() };
const demoEval = ['eval', ...demoModel, '--id', img('id'), '--labels', 'folder', '--ood', `mnist=${img('ood/mnist')}`, '--ood', `uniform=${img('ood/uniform')}`, '--limit', '24'];
const evalOf = (args: string[]) => runEval(evalInputs(parse('eval', args.slice(1), evalOptions).values), quiet);

describe.skipIf(!existsSync(resnet20))('eval without --k on a built-in backbone', () => {
  it('uses the backbone manifest\'s default k and says so', async () => {
    const json = join(tmp, 'r20.json');
    const r = await runCli(['eval', '--model', resnet20, '--id', join(SHARED, 'data', 'cifar10-test-png-1k'), '--labels', 'folder', '--ood', `textures=${join(SHARED, 'data', 'textures-32px-png')}`, '--limit', '20', '--methods', 'FS,FS+TA', '--json', json]);
    expect(r.code, r.err).toBe(0);
    // The paper's k for CIFAR ResNets, from @fsta/backbones' cifar_resnet20 manifest; not a percentile.
    expect(r.out).toMatch(/TA at C4 with k=0\.5000 \(backbone cifar_resnet20 default\)/);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.settings).toMatchObject({ k: 0.5, kSource: 'backbone cifar_resnet20 default', ks: [{ label: 'k=0.5', k: 0.5, source: 'backbone cifar_resnet20 default' }] });
    expect(Object.keys(j.results)).toEqual(['FS', 'FS+TA']);
  });
});

describe('eval k sources', () => {
  it('with --manifest and no --k, takes the default of the backbone the model matches or is detected as', async () => {
    const r = await runCli([...demoEval, '--methods', 'FS+TA']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/with k=0\.5000 \(default for automatically detected stages\)/);
  });

  it('with --config, takes the config\'s k and TA stage; --k overrides it', async () => {
    const cfgPath = join(tmp, 'c.json');
    // A full config (parseConfig refuses partial ones): only its stages and k matter here.
    writeFileSync(cfgPath, JSON.stringify(defaultConfig({ fsStage: 'C5', taStage: 'C4', k: 0.37 })));
    expect(parseConfig(readFileSync(cfgPath, 'utf8')).k).toBe(0.37);
    let r = await runCli([...demoEval, '--methods', 'FS+TA', '--config', cfgPath]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`TA at C4 with k=0.3700 (config ${cfgPath} (calibrated at C4))`);
    r = await runCli([...demoEval, '--methods', 'FS+TA', '--config', cfgPath, '--k', '0.1']);
    expect(r.out).toMatch(/with k=0\.1000 \(--k\)/);
  });

  it('--k-percentile gives k as a percentile of ID activations, as before', async () => {
    const r = await evalOf([...demoEval, '--methods', 'FS+TA', '--k-percentile', '90']);
    expect(r.ks).toHaveLength(1);
    expect(r.ks[0]!.source).toMatch(/^90th percentile of C4 activations on 24 ID images$/);
    expect(r.ks[0]!.k).toBeGreaterThan(0);
    expect(Object.keys(r.data.results)).toEqual(['FS+TA']);
  });
});

describe('eval with several k', () => {
  it('scores FS+TA and its fusions per k from one pass, equal to single-k runs', async () => {
    const methods = ['--methods', 'MSP,FS,FS+TA,FS+TA+MSP,FS+TA+Energy'];
    const multi = await evalOf([...demoEval, ...methods, '--k', '0.2,0.5', '--k-percentile', '70']);
    expect(Object.keys(multi.data.results)).toEqual([
      'MSP', 'FS',
      'FS+TA@k=0.2', 'FS+TA@k=0.5', 'FS+TA@k=p70',
      'FS+TA+MSP@k=0.2', 'FS+TA+MSP@k=0.5', 'FS+TA+MSP@k=p70',
      'FS+TA+Energy@k=0.2', 'FS+TA+Energy@k=0.5', 'FS+TA+Energy@k=p70',
    ]);
    expect(multi.data.settings).toMatchObject({ k: null, kSource: 'several k: see ks' });
    const singles = [await evalOf([...demoEval, ...methods, '--k', '0.2']), await evalOf([...demoEval, ...methods, '--k', '0.5']), await evalOf([...demoEval, ...methods, '--k-percentile', '70'])];
    ['k=0.2', 'k=0.5', 'k=p70'].forEach((label, i) => {
      const one = singles[i]!;
      expect(Object.keys(one.data.results)).toEqual(['MSP', 'FS', 'FS+TA', 'FS+TA+MSP', 'FS+TA+Energy']);
      for (const m of ['FS+TA', 'FS+TA+MSP', 'FS+TA+Energy']) {
        expect(multi.data.results[`${m}@${label}`], `${m}@${label}`).toEqual(one.data.results[m]);
        expect(multi.data.scores[`${m}@${label}`]).toEqual(one.data.scores[m]);
      }
      expect(multi.data.results.FS).toEqual(one.data.results.FS);
    });
    // The three k really differ, so the equalities above are per k, not one column copied.
    expect(new Set(['k=0.2', 'k=0.5', 'k=p70'].map((l) => multi.data.scores[`FS+TA@${l}`]!.id[0])).size).toBe(3);
    expect(multi.ks.map((k) => k.k).slice(0, 2)).toEqual([0.2, 0.5]);
    expect(multi.ks[2]!.k).toBe(singles[2]!.ks[0]!.k);
  });

  it('plots every k in the report', async () => {
    const html = join(tmp, 'multi.html');
    const r = await runCli([...demoEval.map((a) => (a === '24' ? '8' : a)), '--methods', 'MSP,FS,FS+TA', '--k', '0.2,0.5', '--report', html]);
    expect(r.code, r.err).toBe(0);
    const page = readFileSync(html, 'utf8');
    // In the plots (ROC and histogram legends), not only in the results table.
    const svgs = page.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    for (const m of ['FS+TA@k=0.2', 'FS+TA@k=0.5']) expect(svgs.some((x) => x.includes(m)), m).toBe(true);
    expect((page.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(4);
  });

  it('prints one column per k in the table', async () => {
    const r = await runCli([...demoEval, '--methods', 'FS,FS+TA', '--k', '0.2,0.5']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/TA at C4 with 2 k: k=0\.2, k=0\.5 \(--k\)/);
    expect(r.out).toMatch(/^FS\+TA@k=0\.2\s/m);
    expect(r.out).toMatch(/^FS\+TA@k=0\.5\s/m);
  });
});

describe('bad k lists', () => {
  const oneLine = (s: string) => s.trim().split('\n');
  it('name the bad item and how to fix it', async () => {
    const cases: [string[], RegExp][] = [
      [[...demoEval, '--k', '0.5,-1'], /--k must be a comma list of numbers ≥ 0, got "-1" \(item 2 of "0\.5,-1"\)/],
      [[...demoEval, '--k', 'abc'], /--k must be a number ≥ 0, got "abc"/],
      [[...demoEval, '--k', '0.5,,1'], /--k must be a comma list of numbers ≥ 0, got "" \(item 2 of "0\.5,,1"\)/],
      [[...demoEval, '--k', '0.5,0.5'], /--k gives 0\.5 twice/],
      [[...demoEval, '--k-percentile', '101'], /--k-percentile must be a percentile in \[0, 100\], got "101"/],
      [['score', ...demoModel, '--k', '0.2,0.5', img('id')], /fsta score takes one --k, got 2/],
      [['calibrate', ...demoModel, '--id', img('id'), '-o', join(tmp, 'x.json'), '--k', 'x'], /--k must be a number ≥ 0, got "x"/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      expect(r.code, r.err).toBe(2);
      expect(oneLine(r.err)).toHaveLength(1);
      expect(r.err).toMatch(re);
      expect(r.err).toMatch(/Fix: run `fsta \w+ --help`/);
    }
  });
});

describe('calibrate with jigsaw', () => {
  const base = (out: string) => ['calibrate', ...demoModel, '--id', img('id'), '--limit', '40', '--noise-count', '20', '--k-percentiles', '50,90', '--k', '0.5', '--classifiers', 'none,msp', '-o', out];
  const args = (out: string) => [...base(out), '--noise', 'gaussian,uniform,jigsaw'];
  it('ranks candidates per synthetic set, deterministically, from ID images and noise only', async () => {
    const a = await runCli(args(join(tmp, 'a.json')));
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/stage\s+k\s+pct\s+gaussian\s+uniform\s+jigsaw\s+mean AUROC\s+mean FPR95/);
    expect(a.out).toMatch(/separates\s+ID\s+validation\s+from\s+synthetic\s+OOD\s+\(gaussian,\s+uniform,\s+jigsaw;\s+mean\s+over\s+the\s+sets\)/);
    const b = await runCli(args(join(tmp, 'b.json')));
    expect(b.out.replace(/b\.json/g, 'a.json')).toBe(a.out);
    const ca = parseConfig(readFileSync(join(tmp, 'a.json'), 'utf8'));
    expect(parseConfig(readFileSync(join(tmp, 'b.json'), 'utf8'))).toEqual(ca);
    const ta = (ca.provenance as { ta: { candidates: { sets: { name: string; auroc: number }[]; auroc: number }[] } }).ta;
    for (const c of ta.candidates) {
      expect(c.sets.map((s) => s.name)).toEqual(['gaussian', 'uniform', 'jigsaw']);
      expect(c.auroc).toBeCloseTo(c.sets.reduce((s, x) => s + x.auroc, 0) / 3, 12);
    }
    // Jigsaw is a harder set than noise: some candidate scores it below 100%.
    expect(ta.candidates.some((c) => c.sets[2]!.auroc < 1)).toBe(true);
    expect((ca.provenance as { synthetic: string }).synthetic).toMatch(/jigsaw x 20 \(4x4 patches of evenly spread ID validation images/);
  });

  it('takes no OOD folders and rejects an unknown synthetic set', async () => {
    let r = await runCli([...args(join(tmp, 'c.json')), '--ood', `mnist=${img('ood/mnist')}`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown option '--ood'/);
    r = await runCli([...args(join(tmp, 'c.json')), '--noise', 'gaussian,textures']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--noise "textures" is not one of gaussian, uniform, jigsaw, tile, phase/);
  });

  it('ranks by tile and phase by default (core CALIBRATION_DEFAULTS), made from the ID images read', async () => {
    const r = await runCli(base(join(tmp, 'd.json')));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/stage\s+k\s+pct\s+tile\s+phase\s+mean AUROC/);
    const cfg = parseConfig(readFileSync(join(tmp, 'd.json'), 'utf8'));
    const ta = (cfg.provenance as { ta: { candidates: { sets: { name: string }[] }[] } }).ta;
    for (const c of ta.candidates) expect(c.sets.map((s) => s.name)).toEqual(['tile', 'phase']);
    expect((cfg.provenance as { synthetic: string }).synthetic).toMatch(/^tile x 20 \(.*core tileImages seed 1\); phase x 20 \(.*core phaseImages seed 2\)$/);
  });
});
