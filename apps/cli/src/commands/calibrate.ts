import { CALIBRATION_DEFAULTS, FstaError, chooseConfig, kCandidates, taCandidatesOfTails } from '@fsta/core';
import type { ClassifierScoreName, ClassifierSetScores, TaChoice } from '@fsta/core';
import { numberFlag, parse, positiveInt, requireString, usageError } from '../args.js';
import type { Io } from '../io.js';
import { printable } from '../printable.js';
import { listImages, reportSkipped } from '../images.js';
import { modelChoice, modelHelp, modelOptions } from '../model-options.js';
import type { ModelChoice } from '../model-options.js';
import { openEngine } from '../engine/open-detector.js';
import { modelFileFingerprint } from '../config-model.js';
import { collect } from '../engine/collect.js';
import { taSamples, wrap } from './eval.js';
import type { Collected } from '../engine/collect.js';
import { NO_FITS, classifierSettingsOf, defaultMethodSettings, methodScores } from '../methods.js';
import { progress } from '../progress.js';
import { checkOutput, inputFiles, writeFileAtomic } from '../write-file.js';
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
                         tile (a patch of each ID image mirror-tiled over the
                         frame), phase (ID images with their Fourier phase
                         randomized), jigsaw (ID images cut into 4x4 patches,
                         shuffled), gaussian, uniform (i.i.d. pixel noise)
                         (default tile,phase: in docs/results.md's study they
                         rank candidates as real OOD sets do; noise ties every
                         candidate, and jigsaw misranked MobileNetV2's). All use
                         fixed seeds. Candidates are ranked by mean AUROC over
                         the sets, then mean FPR95; TA must beat plain FS by
                         more than its bootstrap interval to be used
  --noise-count N        images per synthetic set (default 200; the sets made
                         from ID images take at most one per ID image)
  --ta-stages LIST       TA stage candidates (default: every stage before the FS stage)
  --k-percentiles LIST   k candidates as percentiles of ID activations at each
                         stage (default 50,70,80,90,95,99); --k adds fixed k
                         values (a comma list)
  --classifiers LIST     fusion candidates: none, msp, maxlogit, energy, and, for
                         models with a head, ash and scale (default:
                         none,msp,maxlogit,energy). A config fusing ash or scale
                         records their setting (ASH-S p90, SCALE p85, as fsta eval)
                         and runs in the patched graph (fsta score, fsta patch,
                         createDetector); @fsta/tfjs refuses it
  --lambda RULE          paper | spread | a number (default: paper where the paper
                         has one, else spread; ASH and SCALE have none)
  --tpr P                target ID true-positive rate (default 0.95)
  -o, --out FILE         where to write the config (required)
  --force                overwrite an existing config

Exit status: 0 ok, 2 usage or fatal error.`;

/** Fusion candidates: core classifier name -> CLI method. ASH and SCALE need the head (the patched graph computes them from it) and are opt-in. */
const FUSABLE: Record<string, string> = { msp: 'MSP', maxlogit: 'MaxLogit', energy: 'Energy', ash: 'ASH', scale: 'SCALE' };
const NEEDS_HEAD = new Set(['ash', 'scale']);

function list(v: unknown, fallback: string[]): string[] {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : fallback;
}

export async function calibrateCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v } = parse('calibrate', argv, {
    ...modelOptions, id: { type: 'string' }, limit: { type: 'string' }, noise: { type: 'string' }, 'noise-count': { type: 'string' },
    'ta-stages': { type: 'string' }, 'k-percentiles': { type: 'string' }, classifiers: { type: 'string' }, lambda: { type: 'string' },
    tpr: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' },
  });
  if (v.help) { io.out(calibrateHelp + '\n'); return 0; }
  const out = requireString(v.out, '-o', 'calibrate');
  const kinds = list(v.noise, [...CALIBRATION_DEFAULTS.syntheticSets]) as SyntheticKind[];
  for (const n of kinds) if (!SYNTHETIC_KINDS.includes(n)) throw usageError(`--noise "${n}" is not one of ${SYNTHETIC_KINDS.join(', ')}`, 'calibrate');
  if (kinds.length === 0) throw usageError(`--noise needs at least one of ${SYNTHETIC_KINDS.join(', ')}`, 'calibrate');
  if (new Set(kinds).size !== kinds.length) throw usageError(`--noise names a set twice ("${String(v.noise)}")`, 'calibrate');
  const noiseCount = positiveInt(v['noise-count'], '--noise-count', 'calibrate') ?? CALIBRATION_DEFAULTS.syntheticCount;
  const percentiles = list(v['k-percentiles'], CALIBRATION_DEFAULTS.kPercentiles.map(String)).map((p) => numberFlag(p, '--k-percentiles', 'calibrate', (n) => n >= 0 && n <= 100, 'percentiles in [0, 100]')!);
  const classifiers = list(v.classifiers, ['none', 'msp', 'maxlogit', 'energy']);
  for (const c of classifiers) {
    if (c === 'fdbd') throw usageError('--classifiers fdbd: fDBD needs its fit (the mean ID feature), which a config file cannot carry, so fsta score could not reproduce it; compare FS+TA+fDBD with fsta eval', 'calibrate');
    if (c !== 'none' && !FUSABLE[c]) throw usageError(`--classifiers "${c}" is not one of none, ${Object.keys(FUSABLE).join(', ')}`, 'calibrate');
  }
  const lambdaRule = v.lambda === undefined ? undefined : v.lambda === 'paper' || v.lambda === 'spread' ? v.lambda : numberFlag(v.lambda, '--lambda', 'calibrate', Number.isFinite, 'paper, spread or a number');
  const tpr = numberFlag(v.tpr, '--tpr', 'calibrate', (n) => n > 0 && n <= 1, 'a fraction in (0, 1], e.g. 0.95') ?? 0.95;
  const id = listImages(requireString(v.id, '--id', 'calibrate'), 'none', positiveInt(v.limit, '--limit', 'calibrate') ?? null, '--id');
  reportSkipped(io, id.skipped);
  const choice: ModelChoice = modelChoice(v, 'calibrate');
  const stageNames = choice.spec.stageNames;
  const fsIndex = stageNames.indexOf(choice.fsStage);
  if (fsIndex < 0) throw new FstaError('UNKNOWN_STAGE', `--fs-stage ${choice.fsStage} is not a stage of this model (it has ${stageNames.join(', ')})`, `pass one of ${stageNames.join(', ')}`);
  const taStages = list(v['ta-stages'], stageNames.slice(0, fsIndex));
  const headless = classifiers.filter((c) => NEEDS_HEAD.has(c));
  if (headless.length && choice.spec.resolution.head?.weightInitializer == null) throw new FstaError('NO_HEAD', `--classifiers ${headless.join(', ')} needs the penultimate features and classifier head, which this model's manifest does not name`, 'add a "head" to the manifest or drop them from --classifiers');
  checkOutput(out, { force: Boolean(v.force), inputs: inputFiles(v, choice.spec.modelPath) });

  // One pass of the trunk: every candidate (stage × k) is a TA→FS tail in one patched graph (core's kCandidates, as the web page).
  const sample = await taSamples(choice, taStages, id.items, io);
  const { perStage, tails, skipped } = kCandidates(sample.values, taStages, percentiles, choice.ks ?? []);
  for (const line of skipped) io.err(`fsta: ${line}\n`);
  const engine = await openEngine(choice.spec, { fsStage: choice.fsStage, taStage: tails[0]!.taStage }, [tails[0]!.k, ...tails.slice(1)], choice.batch, (l) => io.err(l + '\n'));
  let idC: Collected, synthetic: Awaited<ReturnType<typeof syntheticSets>>;
  const synth: Collected[] = [];
  const head = engine.head;
  try {
    const bar = progress(io, `ID @ TA ${taStages.join(', ')}`, id.items.length);
    idC = await collect(engine, { kind: 'files', items: id.items }, { onProgress: (n) => bar.tick(n), onFailure: (p, r) => io.err(`fsta: skipped ${printable(p)}: ${printable(r)}\n`) });
    bar.end();
    if (idC.files.length < 2) throw new FstaError('EMPTY', `only ${idC.files.length} ID image(s) could be read`, 'calibrate on at least a few hundred ID validation images');
    synthetic = await syntheticSets(kinds, noiseCount, engine, idC.files);
    for (const set of synthetic.sets) synth.push(await collect(engine, { kind: 'tensor', data: set.data, n: set.n, name: set.name }));
  } finally {
    await engine.dispose();
  }
  const candidates = taCandidatesOfTails(perStage, idC, synth.map((c, i) => ({ name: kinds[i]!, fs: c.fs, fsTa: c.fsTa })));
  // The classifier scores come from the model's own logits and penultimate features: a TA setting never changes them.
  const wanted = classifiers.filter((c) => c !== 'none').map((c) => FUSABLE[c]!);
  const idCls = methodScores(idC, wanted, head, NO_FITS, defaultMethodSettings);
  const synthCls = synth.map((n) => methodScores(n, wanted, head, NO_FITS, defaultMethodSettings));
  const classifierScores: Partial<Record<ClassifierScoreName, ClassifierSetScores>> = {};
  for (const name of classifiers) {
    if (name === 'none') continue;
    const method = FUSABLE[name]!;
    classifierScores[name as ClassifierScoreName] = { id: idCls[method]!, sets: synthCls.map((c, i) => ({ name: kinds[i]!, scores: c[method]! })) };
  }
  // The choice is core's chooseConfig, as on the web page: TA stage and k, then fusion, λ and threshold.
  const chosen = chooseConfig({
    taCandidates: candidates,
    classifierScores,
    fusions: classifiers.map((c) => (c === 'none' ? null : (c as ClassifierScoreName))),
    ...(lambdaRule !== undefined ? { lambda: lambdaRule } : {}),
    tpr,
    base: { backbone: typeof v.backbone === 'string' ? v.backbone : 'auto', fsStage: choice.fsStage, provenance: { model: choice.spec.modelPath, stagesFrom: choice.spec.source, synthetic: synthetic!.description, modelFingerprint: modelFileFingerprint(choice.spec) } },
  });
  const { ta, fusion } = chosen;
  // ASH's or SCALE's setting goes in the config, so that fsta score and the patched graph run what was measured here.
  const settings = classifierSettingsOf(defaultMethodSettings);
  const cfg = chosen.config.classifier === 'ash' ? { ...chosen.config, ash: settings.ash } : chosen.config.classifier === 'scale' ? { ...chosen.config, scale: settings.scale } : chosen.config;
  const pct = (x: number) => (x * 100).toFixed(2).padStart(7);
  const setHead = kinds.map((n) => n.padStart(9)).join('');
  io.out(`TA candidates: AUROC (%) of ID validation vs each synthetic set;\n  ranked by the mean AUROC, then the mean FPR95:\n`);
  io.out(`  ${'stage'.padEnd(6)} ${'k'.padEnd(12)}${'pct'.padEnd(5)}${setHead}  mean AUROC  mean FPR95\n`);
  for (const row of ta.table) {
    io.out(`  ${(row.taStage ?? 'none').padEnd(6)} k=${row.k.toPrecision(4).padEnd(10)}${row.kPercentile !== undefined ? `p${row.kPercentile}`.padEnd(5) : '     '}${row.sets.map((x) => pct(x.auroc).padStart(9)).join('')}  ${pct(row.auroc).padStart(10)}  ${pct(row.fpr95).padStart(10)}\n`);
  }
  io.out(describeTaChoice(ta) + '\n');
  io.out(`Fusion candidates (same data; AUROC (%) per set, mean AUROC, mean FPR@${(tpr * 100).toFixed(0)}):\n`);
  for (const row of chosen.fusions) {
    io.out(`  ${(row.classifier ?? 'none').padEnd(9)} λ=${row.lambda.toPrecision(4).padEnd(10)}${row.sets.map((x) => pct(x.auroc).padStart(9)).join('')}  ${pct(row.auroc).padStart(10)}  ${pct(row.fpr95).padStart(10)}\n`);
  }
  io.out(wrap(forTerminal(`chose: fusion ${fusion.classifier ?? 'none'}${cfg.classifier ? ` with λ=${cfg.lambda}` : ''} (${String(cfg.provenance!.fusion)}); threshold ${cfg.threshold} keeps ${(tpr * 100).toFixed(0)}% of ${idC.fs.length} ID validation images.`)) + '\n');
  writeFileAtomic(out, JSON.stringify(cfg, null, 2) + '\n', { force: Boolean(v.force), inputs: inputFiles(v, choice.spec.modelPath) });
  io.out(`wrote ${printable(out)}\n`);
  return 0;
}

/**
 * core's reasons for the terminal: the same words, with 4 significant digits instead of
 * 16 and AUROC/FPR95 in percent as in the candidate tables. The config's provenance keeps
 * core's full-precision text.
 */
export function forTerminal(text: string): string {
  return text
    .replace(/\d+\.\d{5,}/g, (x) => Number(x).toPrecision(4))
    .replace(/\b(AUROC|FPR95) (\d\.\d+)/g, (_, k: string, v: string) => `${k} ${(Number(v) * 100).toFixed(2)}%`);
}

/** chooseTa's reason, wrapped at 100 columns (`forTerminal`). */
export const describeTaChoice = (ta: TaChoice): string => wrap(forTerminal(`chose: ${ta.reason}`));
