import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auroc, parseConfig, type FstaConfig } from '@fsta/core';
import { createDetector } from '@fsta/onnxruntime-node';
import { DEMO, demoModel, runCli } from './helpers.js';
import { intervalDigits } from '../src/table.js';

const tmp = mkdtempSync(join(tmpdir(), 'fsta-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const img = (p: string) => join(DEMO, 'images', p);
const small = ['--limit', '20'];
const oneLine = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('fsta: error:'));

describe('fsta usage and errors', () => {
  it('prints help for the CLI and each command, exit 0', async () => {
    for (const args of [['--help'], ['eval', '--help'], ['calibrate', '--help'], ['score', '--help'], ['demo', '--help']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: fsta/);
    }
  });

  it('unknown command, unknown flag, missing --model: one error line, exit 2, no stack trace', async () => {
    for (const args of [['frobnicate'], ['eval', '--bogus'], ['eval', '--id', img('id'), '--ood', `a=${img('ood/mnist')}`]]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^fsta: error: .*Fix: /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it('rejects an OOD name given twice, k < 0, a bad --labels and a bad --limit', async () => {
    const base = ['eval', ...demoModel, '--id', img('id')];
    const cases: [string[], RegExp][] = [
      [[...base, '--ood', `x=${img('ood/mnist')}`, '--ood', `x=${img('ood/uniform')}`], /--ood name "x" is given twice/],
      [[...base, '--ood', `average=${img('ood/mnist')}`], /--ood name "average" cannot be used: the table and the JSON use "average"/],
      [[...base, '--ood', `__proto__=${img('ood/mnist')}`], /--ood name "__proto__" cannot be used/],
      [[...base, '--ood', `x=${img('ood/mnist')}`, '--k=-1'], /--k must be a number ≥ 0, got "-1"/],
      [[...base, '--ood', `x=${img('ood/mnist')}`, '--k', '-1'], /--k.*ambiguous.*--k=-/],
      [[...base, '--ood', `x=${img('ood/mnist')}`, '--labels', 'color'], /--labels must be folder, sorted or none/],
      [[...base, '--ood', `x=${img('ood/mnist')}`, '--limit', '0'], /--limit must be a positive integer/],
      [[...base, '--ood', 'noequals'], /--ood "noequals" is not NAME=DIR/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      expect(r.code, r.err).toBe(2);
      expect(oneLine(r.err)[0]).toMatch(re);
    }
  });

  it('names a missing folder, an empty ID folder and a missing model', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    let r = await runCli(['eval', ...demoModel, '--id', join(tmp, 'nope'), '--ood', `m=${img('ood/mnist')}`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--id folder .*nope does not exist/);
    r = await runCli(['eval', ...demoModel, '--id', empty, '--ood', `m=${img('ood/mnist')}`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--id .*empty has no images/);
    r = await runCli(['eval', '--model', join(tmp, 'missing.onnx'), '--manifest', join(DEMO, 'demo.json'), '--id', img('id'), '--ood', `m=${img('ood/mnist')}`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/model .*missing\.onnx does not exist/);
  });

  it('refuses a corrupt model file with one clear line', async () => {
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    const r = await runCli(['eval', '--model', bad, '--manifest', join(DEMO, 'demo.json'), '--id', img('id'), '--ood', `m=${img('ood/mnist')}`, ...small]);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toHaveLength(1);
  });
});

describe('fsta eval and fsta score agree', () => {
  const json = join(tmp, 'eval.json');
  let evalOut = '';

  it('eval prints the table and writes the JSON schema; exit 0', async () => {
    const r = await runCli(['eval', ...demoModel, '--id', img('id'), '--labels', 'folder', '--ood', `mnist=${img('ood/mnist')}`, '--ood', `uniform=${img('ood/uniform')}`, '--k', '0.5', ...small, '--json', json]);
    expect(r.code, r.err).toBe(0);
    evalOut = r.out;
    expect(r.out).toMatch(/FS\+TA\+Energy/);
    expect(r.out).toMatch(/ID accuracy: top-1 \d+\.\d\d%, top-5/);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(j)).toEqual(['settings', 'accuracy', 'results', 'comparisons']);
    const vsAsh = j.comparisons.find((c: { a: string; b: string }) => c.a === 'FS+TA+ASH' && c.b === 'ASH');
    expect(vsAsh.average.difference.auroc).toBeCloseTo(j.results['FS+TA+ASH'].average.auroc - j.results.ASH.average.auroc, 9);
    expect(vsAsh.average.ci.auroc[0]).toBeLessThanOrEqual(vsAsh.average.ci.auroc[1]);
    expect(Object.keys(vsAsh.sets)).toEqual(['mnist', 'uniform']);
    expect(j.comparisons.some((c: { a: string; b: string }) => c.a === 'FS+TA+fDBD' && c.b === 'FS+TA')).toBe(true);
    expect(r.out).toMatch(/FS\+TA\+ASH − ASH +AUROC [-+]/);
    expect(j.settings.counts).toEqual({ id: 20, ood: { mnist: 20, uniform: 20 } });
    expect(j.settings.k).toBe(0.5);
    for (const m of ['MSP', 'MaxLogit', 'Energy', 'ODIN', 'GradNorm', 'ReAct', 'ASH', 'SCALE', 'fDBD', 'FS', 'FS+TA', 'FS+TA+MSP', 'FS+TA+ASH', 'FS+TA+SCALE', 'FS+TA+fDBD']) {
      expect(Object.keys(j.results[m])).toEqual(['mnist', 'uniform', 'average']);
      for (const set of ['mnist', 'uniform', 'average']) {
        const r = j.results[m][set];
        expect(Object.keys(r)).toEqual(['auroc', 'fpr95', 'auprIn', 'auprOut', 'ci']);
        for (const key of ['auroc', 'fpr95', 'auprIn', 'auprOut']) {
          expect(r[key]).toBeGreaterThanOrEqual(0);
          const [lo, hi] = r.ci[key];
          expect(lo).toBeLessThanOrEqual(hi);
          expect(lo).toBeGreaterThanOrEqual(0);
          expect(hi).toBeLessThanOrEqual(100 + 1e-9); // AP sums fractions, as scikit-learn does: 1 + 2e-16 happens
        }
      }
      expect(j.results[m].average.auroc).toBeCloseTo((j.results[m].mnist.auroc + j.results[m].uniform.auroc) / 2, 10);
      for (const set of ['mnist', 'uniform', 'average']) {
        const { ci, auroc: a, fpr95: f } = j.results[m][set];
        expect(ci.auroc[0]).toBeLessThanOrEqual(a + 1e-9);
        expect(ci.auroc[1]).toBeGreaterThanOrEqual(a - 1e-9);
        expect(ci.fpr95[0]).toBeLessThanOrEqual(f + 1e-9);
        expect(ci.fpr95[1]).toBeGreaterThanOrEqual(f - 1e-9);
      }
    }
    expect(j.settings.bootstrap).toMatchObject({ resamples: 1000, seed: 0, level: 0.95, stratified: true });
    expect(j.settings.lambdas['FS+TA+Energy']).toEqual({ value: 0.016, rule: 'paper' });
    for (const x of ['ASH', 'SCALE', 'fDBD']) expect(j.settings.lambdas[`FS+TA+${x}`].rule).toBe('spread');
    // --limit 20 with folder labels takes 2 images from each of the 10 classes.
    expect(j.accuracy.n).toBe(20);
  });

  it('--bootstrap 0 leaves the intervals and comparisons out; a bad --bootstrap or --seed is a usage error', async () => {
    const out = join(tmp, 'noboot.json');
    const r = await runCli(['eval', ...demoModel, '--id', img('id'), '--ood', `mnist=${img('ood/mnist')}`, '--methods', 'Energy,FS+TA,FS+TA+Energy', '--k', '0.5', ...small, '--bootstrap', '0', '--json', out]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.comparisons).toBeNull();
    expect(j.settings.bootstrap).toBeNull();
    expect(Object.keys(j.results.Energy.mnist)).toEqual(['auroc', 'fpr95', 'auprIn', 'auprOut']);
    expect(r.out).toContain(j.results.Energy.mnist.auroc.toFixed(2));
    expect(r.out).not.toMatch(/±|against its parts/);
    for (const [flag, v] of [['--bootstrap', '2.5'], ['--bootstrap', 'many'], ['--seed', '-1'], ['--seed', 'x']] as const) {
      const bad = await runCli(['eval', ...demoModel, '--id', img('id'), '--ood', `mnist=${img('ood/mnist')}`, `${flag}=${v}`]);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(new RegExp(`${flag} must be`));
    }
  });

  it('FS AUROC from eval equals core auroc on the fs scores that `fsta score` prints', async () => {
    const scores = async (dir: string) => {
      const r = await runCli(['score', ...demoModel, '--k', '0.5', dir]);
      expect(r.code, r.err).toBe(0);
      return r.out.trim().split('\n').map((l) => JSON.parse(l) as { file: string; fs: number; fsTa: number });
    };
    const j = JSON.parse(readFileSync(json, 'utf8'));
    // The same 20 spread images per set: score every file, keep those eval used.
    const pick = (rows: { file: string; fs: number; fsTa: number }[], n: number) => rows.filter((_, i) => i % (rows.length / n) === 0);
    const id = (await scores(img('id'))).filter((_, i) => i % 30 < 2);
    const mnist = pick(await scores(img('ood/mnist')), 20);
    expect(id).toHaveLength(20);
    expect(mnist).toHaveLength(20);
    expect(auroc(id.map((r) => r.fs), mnist.map((r) => r.fs)) * 100).toBeCloseTo(j.results.FS.mnist.auroc, 8);
    expect(auroc(id.map((r) => r.fsTa), mnist.map((r) => r.fsTa)) * 100).toBeCloseTo(j.results['FS+TA'].mnist.auroc, 8);
    // The table prints as many decimals as the interval supports.
    expect(evalOut).toContain(j.results.FS.mnist.auroc.toFixed(intervalDigits(j.results.FS.mnist.ci.auroc)));
  });

  it('ID top-1 on all 300 bundled images equals what PyTorch measured on the same PNGs', async () => {
    const r = await runCli(['eval', ...demoModel, '--id', img('id'), '--labels', 'folder', '--ood', `u=${img('ood/uniform')}`, '--methods', 'MSP', '--ta-stage', 'none']);
    expect(r.code, r.err).toBe(0);
    const meta = JSON.parse(readFileSync(join(DEMO, 'demo.json'), 'utf8'));
    expect(r.out).toContain(`top-1 ${meta.accuracy.bundledId300.toFixed(2)}%`);
    expect(r.out).toContain('(300 images)');
  });

  it('refuses to overwrite the JSON without --force, before doing the work', async () => {
    const r = await runCli(['eval', ...demoModel, '--id', img('id'), '--ood', `mnist=${img('ood/mnist')}`, ...small, '--json', json]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/eval\.json already exists\. Fix: pass --force/);
    expect(r.err).not.toMatch(/img\/s/);
  });

  it('reports an unwritable output path', async () => {
    const r = await runCli(['eval', ...demoModel, '--id', img('id'), '--ood', `mnist=${img('ood/mnist')}`, ...small, '--json', join(tmp, 'no-such-dir', 'x.json')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot write .*x\.json: its folder does not exist/);
  });
});

describe('fsta score with bad files', () => {
  it('writes an error line per bad file, scores the rest, exits 1', async () => {
    const dir = join(tmp, 'mixed');
    mkdirSync(dir, { recursive: true });
    copyFileSync(img('id/0-t-shirt/000.png'), join(dir, 'a.png'));
    writeFileSync(join(dir, 'b.png'), 'this is not a png');
    copyFileSync(img('ood/mnist/0-00.png'), join(dir, 'c.png'));
    const r = await runCli(['score', ...demoModel, dir, join(tmp, 'ghost.jpg')]);
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.file)).toEqual([join(dir, 'a.png'), join(dir, 'b.png'), join(dir, 'c.png'), join(tmp, 'ghost.jpg')]);
    expect(lines[0].fs).toBeGreaterThan(0);
    expect(lines[1].error).toMatch(/b\.png\)? is not an image sharp can read .*Fix: pass a JPEG, PNG/);
    expect(lines[2].verdict).toBeNull();
    expect(lines[3].error).toBe('no such file or folder');
  });
});

describe('fsta calibrate', () => {
  const out = join(tmp, 'fsta.config.json');
  it('chooses TA stage, k, fusion and threshold from ID and noise, writes a valid config', async () => {
    const r = await runCli(['calibrate', ...demoModel, '--id', img('id'), '--limit', '40', '--noise-count', '20', '--k-percentiles', '80,95', '-o', out]);
    expect(r.code, r.err).toBe(0);
    // Wrapped at 100 columns, 4 significant digits, percent as in the candidate tables.
    expect(r.out).toMatch(/chose: [^]*Chosen\s+without\s+OOD\s+test\s+data/);
    expect(r.out).not.toMatch(/\d\.\d{6,}/);
    expect(r.out).not.toMatch(/(AUROC|FPR95) 0\.\d/);
    for (const line of r.out.split('\n')) expect([...line].length).toBeLessThanOrEqual(100);
    const cfg = parseConfig(readFileSync(out, 'utf8'));
    expect(cfg.threshold).not.toBeNull();
    expect(cfg.targetTpr).toBe(0.95);
    // score with that config: at least 95% of the calibration ID images are ID.
    const s = await runCli(['score', ...demoModel, '--config', out, img('id')]);
    const rows = s.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.every((x) => x.verdict === 'ID' || x.verdict === 'OOD')).toBe(true);
  });

  it('fuses ASH or SCALE when asked (spread λ), records its setting, and fsta score, fsta patch and createDetector run it in the graph alike', async () => {
    const cfgPath = join(tmp, 'ash.config.json');
    const r = await runCli(['calibrate', ...demoModel, '--id', img('id'), '--limit', '40', '--noise-count', '20', '--k-percentiles', '90', '--classifiers', 'ash,scale', '-o', cfgPath]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^  ash +λ=/m);
    expect(r.out).toMatch(/^  scale +λ=/m);
    const cfg = parseConfig(readFileSync(cfgPath, 'utf8'));
    expect(['ash', 'scale']).toContain(cfg.classifier);
    expect((cfg.provenance!.lambda as { rule: string }).rule).toBe('spread');
    // The setting fsta eval and calibrate scored (ASH-S p90, SCALE p85) is written, so the config reproduces it.
    const which = cfg.classifier as 'ash' | 'scale';
    expect(which === 'ash' ? cfg.ash : cfg.scale).toEqual(which === 'ash' ? { variant: 's', percentile: 90 } : { percentile: 85 });
    const files = ['id/0-t-shirt/000.png', 'id/7-sneaker/003.png', 'ood/mnist/3-01.png', 'ood/uniform/004.png'].map((f) => join(DEMO, 'images', f));
    const s = await runCli(['score', ...demoModel, '--config', cfgPath, ...files]);
    expect(s.code, s.err).toBe(0);
    const rows = s.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(files.length);
    const det = await createDetector({ model: join(DEMO, 'model.onnx'), manifest: join(DEMO, 'demo.json'), config: cfgPath, executionProviders: ['cpu'] });
    const patched = join(tmp, 'ash-patched.onnx');
    const p = await runCli(['patch', join(DEMO, 'model.onnx'), '--manifest', join(DEMO, 'demo.json'), '--config', cfgPath, '-o', patched]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(which === 'ash' ? /fused with ash \(ASH-S p90, λ=/ : /fused with scale \(p85, λ=/);
    const fromFile = await createDetector({ model: patched, executionProviders: ['cpu'] });
    try {
      const lib = await det.score(files);
      const lib2 = await fromFile.score(files);
      rows.forEach((x, i) => {
        expect(Number.isFinite(x.score)).toBe(true);
        expect(x.score).not.toBe(x.fsTa);
        expect(x.classifier[which]).toBeCloseTo(lib[i]!.classifier[which]!, 5);
        expect(x.score).toBeCloseTo(lib[i]!.score, 5);
        expect(x.verdict).toBe(lib[i]!.verdict);
        expect(lib2[i]!.score).toBe(lib[i]!.score);
      });
      // Another setting than the patched model's is refused, not ignored.
      const other: FstaConfig = which === 'ash' ? { ...cfg, ash: { variant: 'p', percentile: 80 } } : { ...cfg, scale: { percentile: 60 } };
      await expect(createDetector({ model: patched, config: other, executionProviders: ['cpu'] })).rejects.toThrow(new RegExp(`other ${which} settings`));
    } finally {
      await det.dispose();
      await fromFile.dispose();
    }
  });

  it('fsta patch refuses a classifier the graph cannot compute, naming fsta eval', async () => {
    const r = await runCli(['patch', join(DEMO, 'model.onnx'), '--manifest', join(DEMO, 'demo.json'), '--classifier', 'fdbd', '--lambda', '1', '-o', join(tmp, 'fdbd.onnx')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--classifier must be msp, maxlogit, energy, ash, scale or none, got "fdbd" \(it cannot be computed inside the graph; compare FS\+TA with it using fsta eval\)/);
  });

  it('refuses fdbd as a calibration candidate, saying why', async () => {
    const r = await runCli(['calibrate', ...demoModel, '--id', img('id'), '--classifiers', 'energy,fdbd', '-o', join(tmp, 'f.json')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/fDBD needs its fit \(the mean ID feature\), which a config file cannot carry/);
  });

  it('refuses an existing config without --force and a missing -o', async () => {
    let r = await runCli(['calibrate', ...demoModel, '--id', img('id'), '-o', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/already exists/);
    r = await runCli(['calibrate', ...demoModel, '--id', img('id')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-o is required/);
  });

  it('refuses to write its output over the model', async () => {
    const model = join(tmp, 'model.onnx');
    copyFileSync(join(DEMO, 'model.onnx'), model);
    const r = await runCli(['calibrate', '--model', model, '--manifest', join(DEMO, 'demo.json'), '--id', img('id'), '-o', model, '--force']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is the input file itself/);
  });

  // Root writes anywhere; the missing-folder case above covers unwritable paths there.
  it.skipIf(process.getuid?.() === 0)('reports a read-only folder as unwritable', async () => {
    const ro = join(tmp, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const r = await runCli(['calibrate', ...demoModel, '--id', img('id'), '--limit', '10', '--noise-count', '5', '-o', join(ro, 'c.json')]);
    expect(r.err).toMatch(/permission denied/);
  });
});

describe('fsta demo', () => {
  it('runs eval and calibrate on the bundled assets and never overwrites earlier results', async () => {
    const dir = join(tmp, 'demo');
    mkdirSync(dir);
    const first = await runCli(['demo', '--out', dir, '--limit', '20']);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/FS\+TA/);
    // Calibrates first, then evaluates with that config, the paper's fixed setting beside it.
    expect(first.out.indexOf('Calibration')).toBeLessThan(first.out.indexOf('Evaluation with'));
    expect(first.out).toMatch(/\ncalibrated +\d/);
    expect(first.out).toMatch(/\nFS\+TA \(paper\) +\d/);
    expect(first.out).toMatch(/Threshold from fsta-demo\.config\.json: calibrated score ≥ /);
    const cfg = JSON.parse(readFileSync(join(dir, 'fsta-demo.config.json'), 'utf8'));
    expect(JSON.parse(readFileSync(join(dir, 'fsta-demo-results.json'), 'utf8')).settings.taStage).toBe(cfg.taStage);
    expect(existsSync(join(dir, 'fsta-demo-results.json'))).toBe(true);
    expect(existsSync(join(dir, 'fsta-demo.config.json'))).toBe(true);
    const html = readFileSync(join(dir, 'fsta-demo-report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(first.out).toContain(`Report: ${join(dir, 'fsta-demo-report.html')}`);
    // The bundled photos on MobileNetV2, and one line per OOD set saying where FS works and where it does not.
    expect(first.out).toMatch(/ImageNet MobileNetV2 on photographs/);
    expect(first.out).toMatch(/\n- textures \(where it works\): AUROC FS \d/);
    expect(first.out).toMatch(/\n- drawings \(a limit\): AUROC FS \d/);
    const notes = JSON.parse(readFileSync(join(dir, 'fsta-demo-results.json'), 'utf8')).notes as string[];
    expect(notes.map((n) => n.split(' ')[0])).toEqual(['textures', 'drawings']);
    expect(html).toContain('<section id="findings">');
    expect(html).toContain(notes[1]!.slice(0, 40));
    const second = await runCli(['demo', '--out', dir, '--limit', '20']);
    expect(second.code, second.err).toBe(0);
    expect(existsSync(join(dir, 'fsta-demo-results-2.json'))).toBe(true);
    expect(existsSync(join(dir, 'fsta-demo.config-2.json'))).toBe(true);
    expect(existsSync(join(dir, 'fsta-demo-report-2.html'))).toBe(true);
  }, 300_000); // two runs of calibrate + eval on MobileNetV2 at 224 px
});
