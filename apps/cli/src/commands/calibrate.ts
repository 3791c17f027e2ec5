import { FstaError, calibrate, chooseTa, kFromPercentile, separatesBetter, separation } from '@fsta/core';
import type { ClassifierScoreName, FstaConfig, SyntheticScores, TaCandidate } from '@fsta/core';
import { numberFlag, parse, positiveInt, requireString, usageError } from '../args.js';
import type { Io } from '../io.js';
import { listImages } from '../images.js';
import { modelChoice, modelHelp, modelOptions } from '../model-options.js';
import type { ModelChoice } from '../model-options.js';
import { FeatureRunner } from '../engine/runner.js';
import { modelFileFingerprint } from '../config-model.js';
import { collect } from '../engine/collect.js';
import type { Collected } from '../engine/collect.js';
import { defaultMethodSettings, methodScores } from '../methods.js';
import { progress } from '../progress.js';
import { checkOutput, writeFileAtomic } from '../write-file.js';
import { SYNTHETIC_KINDS, syntheticSets } from '../engine/synthetic.js';
import type { SyntheticKind } from '../engine/synthetic.js';

export const calibrateHelp = `Usage: fsta calibrate --model M.onnx --manifest F.json --id DIR -o fsta.config.json [options]

Chooses the TA stage, k, the fused classifier score and λ, and the threshold at the
target ID true-positive rate, from ID validation images and synthetic OOD made from
noise or from those ID images only (never OOD test data; there is no --ood). Prints
every candidate per synthetic set, what it chose and why; writes an FstaConfig.

${modelHelp}
Calibration:
  --id DIR               ID validation images
  --limit N              at most N ID images (deterministic, spread evenly)
  --noise LIST           synthetic OOD sets for the choice, a comma list of
                         gaussian, uniform (i.i.d. pixel noise) and jigsaw (ID
                         validation images cut into 4x4 patches, shuffled with a
                         fixed seed) (default gaussian,uniform,jigsaw). Plain FS
                         already separates noise from ID at ~100% AUROC, so noise
                         alone ties every k; jigsaw keeps ID colours and textures
                         but breaks objects, which is what ranks k. Candidates are
                         ranked by mean AUROC over the sets, then mean FPR95
  --noise-count N        images per synthetic set (default 200; jigsaw takes at
                         most one per ID validation image)
  --ta-stages LIST       TA stage candidates (default: every stage before the FS stage)
  --k-percentiles LIST   k candidates as percentiles of ID activations at each
                         stage (default 50,70,80,90,95,99); --k adds fixed k
                         values (a comma list)
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

interface StageRun { stage: string; ks: number[]; percentiles: (number | undefined)[]; id: Collected; synthetic: Collected[] }

export async function calibrateCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v } = parse('calibrate', argv, {
    ...modelOptions, id: { type: 'string' }, limit: { type: 'string' }, noise: { type: 'string' }, 'noise-count': { type: 'string' },
    'ta-stages': { type: 'string' }, 'k-percentiles': { type: 'string' }, classifiers: { type: 'string' }, lambda: { type: 'string' },
    tpr: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' },
  });
  if (v.help) { io.out(calibrateHelp + '\n'); return 0; }
  const out = requireString(v.out, '-o', 'calibrate');
  const kinds = list(v.noise, [...SYNTHETIC_KINDS]) as SyntheticKind[];
  for (const n of kinds) if (!SYNTHETIC_KINDS.includes(n)) throw usageError(`--noise "${n}" is not one of ${SYNTHETIC_KINDS.join(', ')}`, 'calibrate');
  if (kinds.length === 0) throw usageError(`--noise needs at least one of ${SYNTHETIC_KINDS.join(', ')}`, 'calibrate');
  if (new Set(kinds).size !== kinds.length) throw usageError(`--noise names a set twice ("${String(v.noise)}")`, 'calibrate');
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
  let synthetic: Awaited<ReturnType<typeof syntheticSets>> | null = null;
  for (const stage of taStages) {
    const runner = await FeatureRunner.open(choice.spec, { fsStage: choice.fsStage, taStage: stage });
    try {
      const sample = await collect(runner, { kind: 'files', items: id.items.filter((_, i) => i % Math.max(1, Math.floor(id.items.length / 200)) === 0).slice(0, 200) }, { ks: [], batch: choice.batch, taSampleSize: 200_000 });
      const ks = percentiles.map((p) => kFromPercentile(sample.taSample!, p));
      const pcts: (number | undefined)[] = [...percentiles];
      for (const k of choice.ks ?? []) { ks.push(k); pcts.push(undefined); }
      const bar = progress(io, `ID @ TA ${stage}`, id.items.length);
      const idC = await collect(runner, { kind: 'files', items: id.items }, { ks, batch: choice.batch, onProgress: (n) => bar.tick(n), onFailure: (p, r) => io.err(`fsta: skipped ${p}: ${r}\n`) });
      bar.end();
      if (idC.files.length < 2) throw new FstaError('EMPTY', `only ${idC.files.length} ID image(s) could be read`, 'calibrate on at least a few hundred ID validation images');
      synthetic ??= await syntheticSets(kinds, noiseCount, runner, idC.files);
      const synth: Collected[] = [];
      for (const set of synthetic.sets) synth.push(await collect(runner, { kind: 'tensor', data: set.data, n: set.n, name: set.name }, { ks, batch: choice.batch }));
      runs.push({ stage, ks, percentiles: pcts, id: idC, synthetic: synth });
    } finally {
      await runner.dispose();
    }
  }
  const setsOf = (cs: Collected[], pick: (c: Collected) => Float64Array): SyntheticScores[] => cs.map((c, i) => ({ name: kinds[i]!, scores: pick(c) }));
  const base = runs[0]!;
  const candidates: TaCandidate[] = [{ taStage: null, k: 0, idScores: base.id.fs, noiseSets: setsOf(base.synthetic, (c) => c.fs) }];
  for (const r of runs) r.ks.forEach((k, j) => {
    const c: TaCandidate = { taStage: r.stage, k, idScores: r.id.fsTa[j]!, noiseSets: setsOf(r.synthetic, (n) => n.fsTa[j]!) };
    if (r.percentiles[j] !== undefined) c.kPercentile = r.percentiles[j]!;
    candidates.push(c);
  });
  const ta = chooseTa({ candidates });
  const pct = (x: number) => (x * 100).toFixed(2).padStart(7);
  const setHead = kinds.map((n) => n.padStart(9)).join('');
  io.out(`TA candidates: AUROC (%) of ID validation vs each synthetic set; ranked by the mean AUROC, then the mean FPR95:\n`);
  io.out(`  ${'stage'.padEnd(6)} ${'k'.padEnd(12)}${'pct'.padEnd(5)}${setHead}  mean AUROC  mean FPR95\n`);
  for (const row of ta.table) {
    io.out(`  ${(row.taStage ?? 'none').padEnd(6)} k=${row.k.toPrecision(4).padEnd(10)}${row.kPercentile !== undefined ? `p${row.kPercentile}`.padEnd(5) : '     '}${row.sets.map((x) => pct(x.auroc).padStart(9)).join('')}  ${pct(row.auroc).padStart(10)}  ${pct(row.fpr95).padStart(10)}\n`);
  }
  io.out(`chose: ${ta.reason}\n`);

  const chosenIdx = candidates.findIndex((c) => c.taStage === ta.choice.taStage && c.k === ta.choice.k);
  const chosenRun = runs.find((r) => r.stage === ta.choice.taStage) ?? base;
  const idFeature = candidates[chosenIdx]!.idScores;
  const synthFeature = candidates[chosenIdx]!.noiseSets!;
  const settings = defaultMethodSettings;
  const idCls = methodScores(chosenRun.id, Object.values(FUSABLE), null, null, settings);
  const synthCls = chosenRun.synthetic.map((n) => methodScores(n, Object.values(FUSABLE), null, null, settings));
  let best: { cfg: FstaConfig; auroc: number; fpr95: number; name: string } | null = null;
  io.out(`Fusion candidates (same data; AUROC (%) per set, mean AUROC, mean FPR@${(tpr * 100).toFixed(0)}):\n`);
  for (const name of classifiers) {
    const cls = name === 'none' ? null : (name as ClassifierScoreName);
    const cfg = calibrate({
      idFeature, ...(cls ? { idClassifier: idCls[FUSABLE[name]!]!, classifier: cls, ...(lambdaRule !== undefined ? { lambda: lambdaRule } : {}) } : {}),
      tpr, ta, base: { backbone: typeof v.backbone === 'string' ? v.backbone : 'auto', fsStage: choice.fsStage, provenance: { model: choice.spec.modelPath, stagesFrom: choice.spec.source, synthetic: synthetic!.description } },
    });
    const fused = (feat: ArrayLike<number>, c: ArrayLike<number> | null) => (c ? Float64Array.from(feat, (f, i) => f + cfg.lambda * c[i]!) : Float64Array.from(feat));
    const idS = fused(idFeature, cls ? idCls[FUSABLE[name]!]! : null);
    const sets = synthFeature.map((set, i) => ({ name: set.name, scores: fused(set.scores, cls ? synthCls[i]![FUSABLE[name]!]! : null) }));
    const sep = separation(idS, sets, tpr, `fusion ${name}`);
    io.out(`  ${name.padEnd(9)} λ=${cfg.lambda.toPrecision(4).padEnd(10)}${sep.sets.map((x) => pct(x.auroc).padStart(9)).join('')}  ${pct(sep.auroc).padStart(10)}  ${pct(sep.fpr95).padStart(10)}\n`);
    if (!best || separatesBetter(sep, best)) best = { cfg, auroc: sep.auroc, fpr95: sep.fpr95, name };
  }
  const cfg = best!.cfg;
  cfg.provenance = { ...cfg.provenance, modelFingerprint: modelFileFingerprint(choice.spec.modelPath), fusion: `${best!.name} chosen: highest mean AUROC of ID validation vs ${kinds.join(', ')} (${(best!.auroc * 100).toFixed(2)}%) among ${classifiers.join(', ')}` };
  io.out(`chose: fusion ${best!.name}${cfg.classifier ? ` with λ=${cfg.lambda}` : ''}; threshold ${cfg.threshold} keeps ${(tpr * 100).toFixed(0)}% of ${idFeature.length} ID validation images.\n`);
  writeFileAtomic(out, JSON.stringify(cfg, null, 2) + '\n', { force: Boolean(v.force), inputs: [choice.spec.modelPath] });
  io.out(`wrote ${out}\n`);
  return 0;
}
