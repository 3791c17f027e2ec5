import { FstaError, auroc, calibrate, chooseTa, fprAtTpr, kFromPercentile, noiseImages } from '@fsta/core';
import type { ClassifierScoreName, FstaConfig, TaCandidate } from '@fsta/core';
import { numberFlag, parse, positiveInt, requireString, usageError } from '../args.js';
import type { Io } from '../io.js';
import { listImages } from '../images.js';
import { modelChoice, modelHelp, modelOptions } from '../model-options.js';
import type { ModelChoice } from '../model-options.js';
import { FeatureRunner } from '../engine/runner.js';
import { collect } from '../engine/collect.js';
import type { Collected } from '../engine/collect.js';
import { defaultMethodSettings, methodScores } from '../methods.js';
import { progress } from '../progress.js';
import { checkOutput, writeFileAtomic } from '../write-file.js';

export const calibrateHelp = `Usage: fsta calibrate --model M.onnx --manifest F.json --id DIR -o fsta.config.json [options]

Chooses the TA stage, k, the fused classifier score and λ, and the threshold at the
target ID true-positive rate, from ID validation images and synthetic noise only
(never OOD test data). Prints what it chose and why; writes an FstaConfig.

${modelHelp}
Calibration:
  --id DIR               ID validation images
  --limit N              at most N ID images (deterministic, spread evenly)
  --noise LIST           synthetic OOD for the choice: gaussian,uniform (default both)
  --noise-count N        images per noise kind (default 200)
  --ta-stages LIST       TA stage candidates (default: every stage before the FS stage)
  --k-percentiles LIST   k candidates as percentiles of ID activations at each
                         stage (default 50,70,80,90,95,99); --k adds a fixed k
  --classifiers LIST     fusion candidates: none,msp,maxlogit,energy (default all)
  --lambda RULE          paper | spread | a number (default: paper where the paper
                         has one, else spread)
  --tpr P                target ID true-positive rate (default 0.95)
  -o, --out FILE         where to write the config (required)
  --force                overwrite an existing config

Exit status: 0 ok, 2 usage or fatal error.`;

const FUSABLE: Record<string, string> = { msp: 'MSP', maxlogit: 'MaxLogit', energy: 'Energy' };

function list(v: unknown, fallback: string[]): string[] {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : fallback;
}

interface StageRun { stage: string; ks: number[]; percentiles: (number | undefined)[]; id: Collected; noise: Collected[] }

export async function calibrateCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v } = parse('calibrate', argv, {
    ...modelOptions, id: { type: 'string' }, limit: { type: 'string' }, noise: { type: 'string' }, 'noise-count': { type: 'string' },
    'ta-stages': { type: 'string' }, 'k-percentiles': { type: 'string' }, classifiers: { type: 'string' }, lambda: { type: 'string' },
    tpr: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' },
  });
  if (v.help) { io.out(calibrateHelp + '\n'); return 0; }
  const out = requireString(v.out, '-o', 'calibrate');
  const noiseKinds = list(v.noise, ['gaussian', 'uniform']);
  for (const n of noiseKinds) if (n !== 'gaussian' && n !== 'uniform') throw usageError(`--noise "${n}" is not gaussian or uniform`, 'calibrate');
  if (noiseKinds.length === 0) throw usageError('--noise needs at least one of gaussian, uniform', 'calibrate');
  const noiseCount = positiveInt(v['noise-count'], '--noise-count', 'calibrate') ?? 200;
  const percentiles = list(v['k-percentiles'], ['50', '70', '80', '90', '95', '99']).map((p) => numberFlag(p, '--k-percentiles', 'calibrate', (n) => n >= 0 && n <= 100, 'percentiles in [0, 100]')!);
  const classifiers = list(v.classifiers, ['none', 'msp', 'maxlogit', 'energy']);
  for (const c of classifiers) if (c !== 'none' && !FUSABLE[c]) throw usageError(`--classifiers "${c}" is not one of none, msp, maxlogit, energy`, 'calibrate');
  const lambdaRule = v.lambda === undefined ? undefined : v.lambda === 'paper' || v.lambda === 'spread' ? v.lambda : numberFlag(v.lambda, '--lambda', 'calibrate', Number.isFinite, 'paper, spread or a number');
  const tpr = numberFlag(v.tpr, '--tpr', 'calibrate', (n) => n > 0 && n <= 1, 'a fraction in (0, 1], e.g. 0.95') ?? 0.95;
  const id = listImages(requireString(v.id, '--id', 'calibrate'), 'none', positiveInt(v.limit, '--limit', 'calibrate') ?? null, '--id');
  const choice: ModelChoice = modelChoice(v, 'calibrate');
  const stageNames = Object.keys(choice.spec.stages);
  const fsIndex = stageNames.indexOf(choice.fsStage);
  if (fsIndex < 0) throw new FstaError('UNKNOWN_STAGE', `--fs-stage ${choice.fsStage} is not a stage of this model (it has ${stageNames.join(', ')})`, `pass one of ${stageNames.join(', ')}`);
  const taStages = list(v['ta-stages'], stageNames.slice(0, fsIndex));
  checkOutput(out, { force: Boolean(v.force), inputs: [choice.spec.modelPath] });

  const runs: StageRun[] = [];
  for (const stage of taStages) {
    const runner = await FeatureRunner.open(choice.spec, { fsStage: choice.fsStage, taStage: stage });
    try {
      const sample = await collect(runner, { kind: 'files', items: id.items.filter((_, i) => i % Math.max(1, Math.floor(id.items.length / 200)) === 0).slice(0, 200) }, { ks: [], batch: choice.batch, taSampleSize: 200_000 });
      const ks = percentiles.map((p) => kFromPercentile(sample.taSample!, p));
      const pcts: (number | undefined)[] = [...percentiles];
      if (choice.k !== undefined) { ks.push(choice.k); pcts.push(undefined); }
      const bar = progress(io, `ID @ TA ${stage}`, id.items.length);
      const idC = await collect(runner, { kind: 'files', items: id.items }, { ks, batch: choice.batch, onProgress: (n) => bar.tick(n), onFailure: (p, r) => io.err(`fsta: skipped ${p}: ${r}\n`) });
      bar.end();
      if (idC.files.length < 2) throw new FstaError('EMPTY', `only ${idC.files.length} ID image(s) could be read`, 'calibrate on at least a few hundred ID validation images');
      const noise = [];
      for (const [j, kind] of noiseKinds.entries()) {
        const imgs = noiseImages(kind as 'gaussian' | 'uniform', noiseCount, runner.chw, { mean: choice.spec.preprocess.mean, std: choice.spec.preprocess.std, seed: 1 + j });
        noise.push(await collect(runner, { kind: 'tensor', data: imgs.data, n: noiseCount, name: kind }, { ks, batch: choice.batch }));
      }
      runs.push({ stage, ks, percentiles: pcts, id: idC, noise });
    } finally {
      await runner.dispose();
    }
  }
  const noiseOf = (cs: Collected[], pick: (c: Collected) => Float64Array) => Float64Array.from(cs.flatMap((c) => [...pick(c)]));
  const base = runs[0]!;
  const candidates: TaCandidate[] = [{ taStage: null, k: 0, idScores: base.id.fs, noiseScores: noiseOf(base.noise, (c) => c.fs) }];
  for (const r of runs) r.ks.forEach((k, j) => {
    const c: TaCandidate = { taStage: r.stage, k, idScores: r.id.fsTa[j]!, noiseScores: noiseOf(r.noise, (n) => n.fsTa[j]!) };
    if (r.percentiles[j] !== undefined) c.kPercentile = r.percentiles[j]!;
    candidates.push(c);
  });
  const ta = chooseTa({ candidates });
  io.out('TA candidates (ID validation vs synthetic noise):\n');
  for (const row of ta.table) io.out(`  ${(row.taStage ?? 'none').padEnd(6)} k=${row.k.toPrecision(4).padEnd(10)}${row.kPercentile !== undefined ? `p${row.kPercentile}`.padEnd(5) : '     '} AUROC ${(row.auroc * 100).toFixed(2)}%  FPR95 ${(row.fpr95 * 100).toFixed(2)}%\n`);
  io.out(`chose: ${ta.reason}\n`);

  const chosenIdx = candidates.findIndex((c) => c.taStage === ta.choice.taStage && c.k === ta.choice.k);
  const chosenRun = runs.find((r) => r.stage === ta.choice.taStage) ?? base;
  const idFeature = candidates[chosenIdx]!.idScores;
  const noiseFeature = candidates[chosenIdx]!.noiseScores;
  const settings = defaultMethodSettings;
  const idCls = methodScores(chosenRun.id, Object.values(FUSABLE), null, null, settings);
  const noiseCls = chosenRun.noise.map((n) => methodScores(n, Object.values(FUSABLE), null, null, settings));
  let best: { cfg: FstaConfig; auroc: number; fpr95: number; name: string } | null = null;
  io.out('Fusion candidates (same data):\n');
  for (const name of classifiers) {
    const cls = name === 'none' ? null : (name as ClassifierScoreName);
    const cfg = calibrate({
      idFeature, ...(cls ? { idClassifier: idCls[FUSABLE[name]!]!, classifier: cls, ...(lambdaRule !== undefined ? { lambda: lambdaRule } : {}) } : {}),
      tpr, ta, base: { backbone: typeof v.backbone === 'string' ? v.backbone : 'auto', fsStage: choice.fsStage, provenance: { model: choice.spec.modelPath, stagesFrom: choice.spec.source, noise: `${noiseKinds.join(', ')} x ${noiseCount} (core noiseImages, seeds 1..${noiseKinds.length})` } },
    });
    const fused = (feat: ArrayLike<number>, c: ArrayLike<number> | null) => (c ? Float64Array.from(feat, (f, i) => f + cfg.lambda * c[i]!) : Float64Array.from(feat));
    const idS = fused(idFeature, cls ? idCls[FUSABLE[name]!]! : null);
    const noiseS = fused(noiseFeature, cls ? Float64Array.from(noiseCls.flatMap((n) => [...n[FUSABLE[name]!]!])) : null);
    const a = auroc(idS, noiseS), f = fprAtTpr(idS, noiseS, tpr);
    io.out(`  ${name.padEnd(9)} λ=${cfg.lambda.toPrecision(4).padEnd(10)} AUROC ${(a * 100).toFixed(2)}%  FPR@${(tpr * 100).toFixed(0)} ${(f * 100).toFixed(2)}%\n`);
    if (!best || a > best.auroc || (a === best.auroc && f < best.fpr95)) best = { cfg, auroc: a, fpr95: f, name };
  }
  const cfg = best!.cfg;
  cfg.provenance = { ...cfg.provenance, fusion: `${best!.name} chosen: highest ID-vs-noise AUROC (${(best!.auroc * 100).toFixed(2)}%) among ${classifiers.join(', ')}` };
  io.out(`chose: fusion ${best!.name}${cfg.classifier ? ` with λ=${cfg.lambda}` : ''}; threshold ${cfg.threshold} keeps ${(tpr * 100).toFixed(0)}% of ${idFeature.length} ID validation images.\n`);
  writeFileAtomic(out, JSON.stringify(cfg, null, 2) + '\n', { force: Boolean(v.force), inputs: [choice.spec.modelPath] });
  io.out(`wrote ${out}\n`);
  return 0;
}
