import { basename } from 'node:path';
import { BOOTSTRAP_DEFAULTS, FstaError, TA_SAMPLE, compareOodSetsWithIntervals, evaluateOod, evaluateOodSetsWithIntervals, fuse, operatingPoint, taSampleImages, thresholdAtTpr, topkAccuracy } from '@fsta/core';
import type { OodIntervals } from '@fsta/core';
import { taFor } from '@fsta/backbones';
import type { FstaConfig, OodMetrics } from '@fsta/core';
import { parse, parseOod, positiveInt, numberFlag, requireString, usageError } from '../args.js';
import type { Io } from '../io.js';
import { printable } from '../printable.js';
import { listImages, reportSkipped } from '../images.js';
import type { ImageSet, LabelMode } from '../images.js';
import { modelChoice, modelHelp, modelOptions } from '../model-options.js';
import type { ModelChoice } from '../model-options.js';
import { loadConfig } from '../config-file.js';
import { defaultK, percentileKs, percentileList } from '../k-choice.js';
import type { KSetting } from '../k-choice.js';
import { openEngine } from '../engine/open-detector.js';
import type { Engine } from '../engine/open-detector.js';
import { checkConfigFile } from '../config-model.js';
import { collect } from '../engine/collect.js';
import type { Collected } from '../engine/collect.js';
import { NO_FITS, defaultMethodSettings, fitsFromId, fusionLambdas, methodScores, parseMethods } from '../methods.js';
import type { MethodFits } from '../methods.js';
import { progress } from '../progress.js';
import { formatTable, intervalDigits } from '../table.js';
import { checkOutputs, inputFiles, writeFileAtomic } from '../write-file.js';
import type { Decision, Failure, ReportData } from '../report/data.js';
import type { Share } from '@fsta/core';
import { writeReport } from '../report/write-report.js';
import { resultsCsv } from '../report/csv.js';
import { sampleMaps, spreadPicks } from '../engine/sample-maps.js';

/** Sample images per set whose feature maps the report shows. */
const REPORT_SAMPLES = 2;
/** Worst failures per side that the report shows. */
const REPORT_FAILURES = 6;
/** The row of --config's own score (its feature score, fused with its classifier at its λ). */
export const CALIBRATED = 'calibrated';

export const evalHelp = `Usage: fsta eval --model M.onnx --manifest F.json --id DIR --ood NAME=DIR [--ood NAME=DIR ...] [options]

Scores ID and OOD image folders with every method and prints the paper's table
(FPR95, AUROC per OOD set; the average with AUPR-In and AUPR-Out), in percent.

${modelHelp}
Data:
  --id DIR               in-distribution images
  --ood NAME=DIR         an OOD set (repeat; names must be unique)
  --labels MODE          folder (class = sorted subfolder), sorted (class = sorted
                         file name, e.g. imagenet-val-1k) or none (default: none)
  --limit N              at most N images per set (deterministic; spread evenly)
TA threshold k (see also --k above):
  --k-percentile Q       k = the Q-th percentile of TA-stage activations on up to
                         200 ID images; a comma list scores several
  --config FILE          a config from \`fsta calibrate\`: its stages and k are the
                         defaults (--fs-stage, --ta-stage, --k override them)
  --force-config         use a config calibrated on another model (refused otherwise)
  Without --k, --k-percentile and --config, k is the backbone's default; the
  header says where k came from. With several k (--k 0.2,0.5, or --k and
  --k-percentile together) FS+TA and its fusions get one column per k, named
  FS+TA@k=0.2, FS+TA+MSP@k=p90, ..., all from one forward pass.
Methods:
  --methods LIST         comma list of MSP, MaxLogit, Energy, ODIN, GradNorm, ReAct,
                         ASH, SCALE, fDBD, FS, FS+TA, FS+TA+MSP, FS+TA+Energy,
                         FS+TA+ODIN, FS+TA+GradNorm, FS+TA+ReAct, FS+TA+ASH,
                         FS+TA+SCALE, FS+TA+fDBD (default: all the model allows)
  --odin-temperature T   ODIN temperature (default 1000)
Intervals:
  --bootstrap N          95% bootstrap intervals from N resamples of the images,
                         within ID and within each OOD set (default 1000; 0: none)
  --seed S               seed of the resampling (default 0)
Output:
  --json OUT.json        write settings, accuracy and results (docs/cli.md)
  --report OUT.html      write a self-contained HTML report: a summary that ends in
                         a method and threshold (--config's, else one for comparison
                         only), ROC and precision-recall curves, histograms, worst
                         failures, feature maps of sample images
  --csv OUT.csv          write the results table as CSV (also linked in the report)
  --force                overwrite existing output files

Exit status: 0 ok, 1 some image files could not be read (skipped), 2 usage or fatal error.`;

export const evalOptions = {
  ...modelOptions,
  id: { type: 'string' },
  ood: { type: 'string', multiple: true },
  labels: { type: 'string' },
  limit: { type: 'string' },
  methods: { type: 'string' },
  'odin-temperature': { type: 'string' },
  bootstrap: { type: 'string' },
  seed: { type: 'string' },
  'k-percentile': { type: 'string' },
  config: { type: 'string' },
  'force-config': { type: 'boolean' },
  json: { type: 'string' },
  report: { type: 'string' },
  csv: { type: 'string' },
  force: { type: 'boolean' },
} as const;

export interface EvalInputs {
  choice: ModelChoice;
  id: ImageSet;
  labels: LabelMode;
  ood: { name: string; set: ImageSet }[];
  methods: string[] | undefined;
  methodList: string | undefined;
  odinTemperature: number;
  /** Bootstrap resamples for the intervals; 0 leaves them out. */
  bootstrap: number;
  seed: number;
  limit: number | null;
  kPercentiles: number[] | undefined;
  config: { path: string; cfg: FstaConfig } | null;
}

export interface EvalResult {
  data: ReportData;
  /** Every k scored (empty without a TA stage). */
  ks: KSetting[];
  failed: number;
  table: string;
  /** Each fusion against its parts (null without --bootstrap). */
  comparisons: Comparison[] | null;
}

/** Method a minus method b on the same images, percent points, with paired 95% bootstrap intervals. */
export interface Comparison {
  a: string;
  b: string;
  sets: Record<string, { difference: OodMetrics; ci: OodIntervals }>;
  average: { difference: OodMetrics; ci: OodIntervals };
}

export function evalInputs(v: Record<string, unknown>, command = 'eval'): EvalInputs {
  const labels = (v.labels ?? 'none') as string;
  if (!['folder', 'sorted', 'none'].includes(labels)) throw usageError(`--labels must be folder, sorted or none, got "${labels}"`, command);
  const limit = positiveInt(v.limit, '--limit', command) ?? null;
  const ood = parseOod(v.ood, command);
  if (ood.length === 0) throw usageError('at least one --ood NAME=DIR is required', command);
  const idDir = requireString(v.id, '--id', command);
  const id = listImages(idDir, labels as LabelMode, limit, '--id');
  const oodSets = ood.map((o) => ({ name: o.name, set: listImages(o.dir, 'none', limit, `--ood ${o.name}`) }));
  const kPercentiles = percentileList(v['k-percentile'], command);
  const config = typeof v.config === 'string' ? { path: v.config, cfg: loadConfig(v.config) } : null;
  const choice = modelChoice(config ? { ...v, 'fs-stage': v['fs-stage'] ?? config.cfg.fsStage, 'ta-stage': v['ta-stage'] ?? config.cfg.taStage ?? 'none' } : v, command);
  if (config) checkConfigFile(config.cfg, choice.spec, Boolean(v['force-config']));
  return {
    choice, id, labels: labels as LabelMode, ood: oodSets, methods: undefined, methodList: v.methods as string | undefined,
    odinTemperature: numberFlag(v['odin-temperature'], '--odin-temperature', command, (n) => n > 0, 'a number > 0') ?? 1000,
    bootstrap: numberFlag(v.bootstrap, '--bootstrap', command, (n) => Number.isInteger(n) && n >= 0, 'a whole number of resamples (0 for none)') ?? BOOTSTRAP_DEFAULTS.resamples,
    seed: numberFlag(v.seed, '--seed', command, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'an integer in [0, 4294967295]') ?? BOOTSTRAP_DEFAULTS.seed,
    limit, kPercentiles, config,
  };
}

const percent = (m: OodMetrics): OodMetrics => ({ auroc: m.auroc * 100, fpr95: m.fpr95 * 100, auprIn: m.auprIn * 100, auprOut: m.auprOut * 100 });

/** The k values to score: --k and --k-percentile in that order, else the config's or the backbone's default k. */
export async function chooseKs(inputs: EvalInputs, io: Io): Promise<KSetting[]> {
  const { choice } = inputs;
  if (choice.taStage === null) return [];
  const fixed = (choice.ks ?? []).map((k): KSetting => ({ k, label: `k=${k}`, source: '--k' }));
  if (!inputs.kPercentiles) return fixed.length ? fixed : [defaultK(choice, inputs.config)];
  const sample = await taSamples(choice, [choice.taStage], inputs.id.items, io);
  return [...fixed, ...percentileKs(sample.values[choice.taStage]!, inputs.kPercentiles, choice.taStage, sample.images)];
}

/**
 * Activations of each of `stages` on up to 200 evenly spread ID images, from one pass,
 * for k as a percentile of them.
 */
export async function taSamples(choice: ModelChoice, stages: readonly string[], items: EvalInputs['id']['items'], io: Io): Promise<{ values: Record<string, Float64Array>; images: number }> {
  const picked = taSampleImages(items.length).map((i) => items[i]!);
  const engine = await openEngine(choice.spec, { fsStage: choice.fsStage, taStage: null }, [], choice.batch, (l) => io.err(l + '\n'), stages);
  try {
    const tensors = stages.map((st) => stageTensorOf(choice, st));
    const c = await collect(engine, { kind: 'files', items: picked }, { sample: { size: TA_SAMPLE.size, tensors } });
    return { values: Object.fromEntries(stages.map((st, i) => [st, c.samples[tensors[i]!]!])), images: c.files.length };
  } finally {
    await engine.dispose();
  }
}

/** The tensor TA is applied to at a stage of this model, as createDetector resolves it (its k percentiles are of that tensor). */
const stageTensorOf = (choice: ModelChoice, stage: string): string => taFor(choice.spec.resolution, stage).tensor;

/** FS+TA and its fusions once per k, named `FS+TA@k=0.5` when there are several k. */
function expandTa(methods: readonly string[], ks: readonly KSetting[]): string[] {
  return methods.flatMap((m) => (m.startsWith('FS+TA') && ks.length > 1 ? ks.map((k) => `${m}@${k.label}`) : [m]));
}

/** Scores of every method on one set, FS+TA methods (and fusions, with the λ of their k) once per k from the same collected pass. */
function scoresPerK(c: Collected, methods: readonly string[], ks: readonly KSetting[], head: Engine['head'], fits: MethodFits, settings: typeof defaultMethodSettings, lambdas: readonly Record<string, number>[]): Record<string, Float64Array> {
  const plain = methods.filter((m) => !m.startsWith('FS+TA'));
  const ta = methods.filter((m) => m.startsWith('FS+TA'));
  const out = methodScores(c, plain, head, fits, settings);
  if (ks.length === 1) Object.assign(out, methodScores(c, ta, head, fits, settings, 0, lambdas[0]));
  else ks.forEach((k, j) => {
    const s = methodScores(c, ta, head, fits, settings, j, lambdas[j]);
    for (const m of ta) out[`${m}@${k.label}`] = s[m]!;
  });
  return out;
}

/** FS+TA+X (at each k) against X and against FS+TA at the same k, where both were scored. */
function fusionComparisons(methods: readonly string[], id: Record<string, Float64Array>, oods: { name: string; s: Record<string, Float64Array> }[], boot: { resamples: number; seed: number; level: number }): Comparison[] {
  const pairs = methods.flatMap((m) => {
    const base = m.replace(/@.*$/, ''), k = m.slice(base.length);
    if (!base.startsWith('FS+TA+')) return [];
    return [base.slice('FS+TA+'.length), `FS+TA${k}`].filter((b) => methods.includes(b)).map((b) => [m, b] as const);
  });
  const scored = (m: string) => ({ id: id[m]!, oods: Object.fromEntries(oods.map((o) => [o.name, o.s[m]!])) });
  const pct = (d: { difference: OodMetrics; ci: OodIntervals }) => ({ difference: percent(d.difference), ci: percentCi(d.ci) });
  return pairs.map(([a, b]) => {
    const d = compareOodSetsWithIntervals(scored(a), scored(b), boot);
    return { a, b, sets: Object.fromEntries(Object.entries(d.sets).map(([n, x]) => [n, pct(x)])), average: pct(d.average) };
  });
}

const percentCi = (ci: Record<keyof OodMetrics, [number, number]>) => Object.fromEntries(Object.entries(ci).map(([k, [lo, hi]]) => [k, [lo * 100, hi * 100]])) as Record<keyof OodMetrics, [number, number]>;

const describeKs = (ks: readonly KSetting[]): string => {
  const sources = [...new Set(ks.map((k) => k.source))];
  return ks.length === 1 ? `k=${ks[0]!.k.toPrecision(4)} (${ks[0]!.source})` : `${ks.length} k: ${ks.map((k) => `${k.label}${k.label.includes('p') ? ` = ${k.k.toPrecision(4)}` : ''}`).join(', ')} (${sources.join('; ')})`;
};

/** One more FS+TA row scored in the same pass: TA at `taStage` with `k`, as one more tail of the engine (no fusion). */
export interface ExtraTa {
  row: string;
  taStage: string;
  k: number;
}

/**
 * `opts.samples`: also compute the report's per-image feature maps for a few images per set (one extra small batch).
 * `opts.extraTa`: more FS+TA rows (e.g. the demo's paper setting beside a calibrated config) from the same
 * trunk pass, after the other rows; the images are decoded and run once for every row.
 */
export async function runEval(inputs: EvalInputs, io: Io, opts: { samples?: boolean; extraTa?: readonly ExtraTa[] } = {}): Promise<EvalResult> {
  const { choice } = inputs;
  const baseMethods = parseMethods(inputs.methodList, choice.spec.resolution.head?.weightInitializer != null, choice.spec.logits !== null).filter((m) => choice.taStage !== null || !m.startsWith('FS+TA'));
  const ks = await chooseKs(inputs, io);
  const extra = opts.extraTa ?? [];
  const taken = [CALIBRATED, ...expandTa(baseMethods, ks)];
  for (const e of extra) if (taken.includes(e.row)) throw new FstaError('BAD_INPUT', `extra FS+TA row "${e.row}" has the name of a row this eval scores already`, 'give the extra row a name of its own');
  for (const e of extra) if (!choice.spec.stageNames.includes(e.taStage)) throw new FstaError('UNKNOWN_STAGE', `TA stage ${e.taStage} of row "${e.row}" is not a stage of this model (it has ${choice.spec.stageNames.join(', ')})`, `pass one of ${choice.spec.stageNames.join(', ')}`);
  // The eval's own k first (fsTa columns 0 … ks.length − 1), then one column per extra row.
  const tails = [...ks.map((k) => k.k), ...extra.map((e) => ({ taStage: e.taStage, k: e.k }))];
  const taStage = choice.taStage ?? extra[0]?.taStage ?? null;
  if (choice.taStage === null && extra.length) tails[0] = extra[0]!.k;
  const opened = await openEngine(choice.spec, { fsStage: choice.fsStage, taStage }, tails, choice.batch, (l) => io.err(l + '\n'));
  // Sample maps show TA only where the eval's own setting has it, not for an extra row's tail.
  const engine: Engine = { ...opened, hasTa: choice.taStage !== null };
  try {
    const methods = expandTa(baseMethods, ks);
    let failed = 0;
    const run = async (label: string, set: ImageSet): Promise<Collected> => {
      const bar = progress(io, label, set.items.length);
      const c = await collect(engine, { kind: 'files', items: set.items }, {
        onProgress: (n) => bar.tick(n),
        onFailure: (path, reason) => { failed++; io.err(`fsta: skipped ${printable(path)}: ${printable(reason)}\n`); },
      });
      bar.end();
      if (c.files.length === 0) throw new FstaError('NO_IMAGES', `none of the ${set.items.length} images in ${set.dir} could be read`, 'check the files in that folder');
      return c;
    };
    const id = await run('ID', inputs.id);
    const oods: { name: string; c: Collected }[] = [];
    for (const o of inputs.ood) oods.push({ name: o.name, c: await run(o.name, o.set) });

    const settings = { ...defaultMethodSettings, odinTemperature: inputs.odinTemperature };
    const fits = fitsFromId(id, methods, engine.head, settings);
    // λ per k from the ID images (paper's where it has one, else the spread rule).
    const lambdaRules = (ks.length ? ks : [null]).map((_, j) => fusionLambdas(id, baseMethods, engine.head, fits, settings, j));
    const lambdas = lambdaRules.map((r) => Object.fromEntries(Object.entries(r).map(([x, l]) => [x, l.value])));
    const idScores = scoresPerK(id, baseMethods, ks, engine.head, fits, settings, lambdas);
    const oodScores = oods.map((o) => ({ name: o.name, s: scoresPerK(o.c, baseMethods, ks, engine.head, fits, settings, lambdas) }));
    const fromConfig = inputs.config ? configScores(inputs.config.cfg, inputs, ks, id, oods, engine.head) : null;
    if (fromConfig && 'id' in fromConfig) {
      idScores[CALIBRATED] = fromConfig.id;
      oodScores.forEach((o, j) => { o.s[CALIBRATED] = fromConfig.ood[j]!; });
    }
    extra.forEach((e, j) => {
      const column = (c: Collected) => Float64Array.from(c.fsTa[ks.length + j]!);
      idScores[e.row] = column(id);
      oodScores.forEach((o, i) => { o.s[e.row] = column(oods[i]!.c); });
    });
    const rows = [...(fromConfig && 'id' in fromConfig ? [CALIBRATED, ...methods] : methods), ...extra.map((e) => e.row)];
    const results: ReportData['results'] = {};
    const scores: ReportData['scores'] = {};
    const boot = inputs.bootstrap > 0 ? { resamples: inputs.bootstrap, seed: inputs.seed, level: BOOTSTRAP_DEFAULTS.level } : null;
    for (const m of rows) {
      const row: ReportData['results'][string] = {};
      if (boot) {
        const r = evaluateOodSetsWithIntervals(idScores[m]!, Object.fromEntries(oodScores.map((o) => [o.name, o.s[m]!])), boot);
        for (const o of oodScores) row[o.name] = { ...percent(r.sets[o.name]!), ci: percentCi(r.sets[o.name]!.ci) };
        row.average = { ...percent(r.average), ci: percentCi(r.average.ci) };
      } else {
        for (const o of oodScores) row[o.name] = percent(evaluateOod(idScores[m]!, o.s[m]!));
        const avg = (key: keyof OodMetrics) => oodScores.reduce((s, o) => s + row[o.name]![key], 0) / oodScores.length;
        row.average = { auroc: avg('auroc'), fpr95: avg('fpr95'), auprIn: avg('auprIn'), auprOut: avg('auprOut') };
      }
      results[m] = row;
      scores[m] = { id: [...idScores[m]!], ood: Object.fromEntries(oodScores.map((o) => [o.name, [...o.s[m]!]])) };
    }
    let accuracy: ReportData['accuracy'] = null;
    if (inputs.labels !== 'none' && id.numClasses > 0) {
      const K = id.numClasses;
      accuracy = { top1: topkAccuracy(id.logits, K, id.labels, 1) * 100, top5: K >= 5 ? topkAccuracy(id.logits, K, id.labels, 5) * 100 : null, n: id.files.length };
    }
    const data: ReportData = {
      title: basename(choice.spec.modelPath),
      settings: {
        model: choice.spec.modelPath, stagesFrom: choice.spec.source, fsStage: choice.fsStage, taStage: choice.taStage,
        // One k keeps the single-k schema (k, kSource); several are listed in ks.
        k: ks.length === 0 ? 0 : ks.length === 1 ? ks[0]!.k : null,
        kSource: ks.length === 0 ? 'no TA stage' : ks.length === 1 ? ks[0]!.source : 'several k: see ks',
        ks: ks.map((k) => ({ label: k.label, k: k.k, source: k.source })),
        labels: inputs.labels, limit: inputs.limit, id: inputs.id.dir, ood: Object.fromEntries(inputs.ood.map((o) => [o.name, o.set.dir])),
        counts: { id: id.files.length, ood: Object.fromEntries(oods.map((o) => [o.name, o.c.files.length])) },
        methods: rows, ...settings,
        fusionLambda: 'paper (core PAPER_LAMBDA: MSP 0.1, Energy 0.016, ODIN 1300, GradNorm 0.4, ReAct 0.028); spread std(FS+TA)/std(X) on the ID images for ASH, SCALE and fDBD (the paper gives no λ for them)',
        lambdas: Object.fromEntries(ks.length > 1 ? ks.flatMap((k, j) => Object.entries(lambdaRules[j]!).map(([x, l]) => [`FS+TA+${x}@${k.label}`, l])) : Object.entries(lambdaRules[0] ?? {}).map(([x, l]) => [`FS+TA+${x}`, l])),
        bootstrap: boot ? { ...boot, stratified: true, intervals: 'percentile', note: 'images resampled with replacement within ID and within each OOD set (jointly: one ID draw per resample); ci values are percent' } : null,
      },
      accuracy, results, scores,
      files: { id: id.files, ood: Object.fromEntries(oods.map((o) => [o.name, o.c.files])) },
    };
    if (inputs.config) data.config = { path: inputs.config.path, cfg: inputs.config.cfg, ...(fromConfig && 'unused' in fromConfig ? { unused: fromConfig.unused } : {}) };
    data.decision = decide(data, boot);
    if (opts.samples) {
      const pick = (set: string, files: string[]) => spreadPicks(files.length, REPORT_SAMPLES).map((i) => ({ set, file: files[i]! }));
      const failures = [...data.decision.oodAccepted, ...data.decision.idRejected];
      const maps = await sampleMaps(engine, [...pick('ID', id.files), ...oods.flatMap((o) => pick(o.name, o.c.files)), ...failures]);
      data.samples = maps.slice(0, maps.length - failures.length);
      failures.forEach((f, i) => { f.maps = maps[maps.length - failures.length + i]!; });
    }
    const comparisons = boot ? fusionComparisons(methods, idScores, oodScores, boot) : null;
    return { data, ks, failed, comparisons, table: formatTable(results, oods.map((o) => o.name), io.columns ? { width: io.columns } : {}) };
  } finally {
    await opened.dispose();
  }
}

/** The config's classifier names as methods.ts names them (as \`fsta score\` maps them). */
const CONFIG_CLASSIFIER: Record<string, string> = { msp: 'MSP', maxlogit: 'MaxLogit', energy: 'Energy', odin: 'ODIN', gradnorm: 'GradNorm', ash: 'ASH', scale: 'SCALE' };

/**
 * Per-image scores of --config's own detector, as \`fsta score --config\` computes them:
 * its feature score (FS, or FS+TA at its k) plus λ times its classifier score. When this
 * run cannot reproduce it (stages or k overridden, no threshold), says why instead.
 */
function configScores(cfg: FstaConfig, inputs: EvalInputs, ks: readonly KSetting[], id: Collected, oods: readonly { c: Collected }[], head: Engine['head']): { id: Float64Array; ood: Float64Array[] } | { unused: string } {
  const { choice } = inputs;
  if (cfg.threshold === null) return { unused: 'the config has no threshold (not calibrated)' };
  if (choice.fsStage !== cfg.fsStage || choice.taStage !== cfg.taStage) return { unused: `this run scores FS at ${choice.fsStage}, TA at ${choice.taStage ?? 'none'}; the config has FS at ${cfg.fsStage}, TA at ${cfg.taStage ?? 'none'}` };
  if (cfg.taStage !== null && (ks.length !== 1 || ks[0]!.k !== cfg.k)) return { unused: `this run scores k=${ks.map((k) => k.k).join(', ')}; the config has k=${cfg.k}` };
  const fused = cfg.classifier && cfg.lambda !== 0;
  const cls = fused ? CONFIG_CLASSIFIER[cfg.classifier!] : undefined;
  if (fused && (!cls || id.numClasses === 0)) return { unused: `the config fuses "${cfg.classifier}", which this run cannot compute` };
  const of = (c: Collected) => {
    const feat = cfg.featureScore === 'fs_ta' && cfg.taStage !== null ? c.fsTa[0]! : c.fs;
    return cls ? fuse(feat, methodScores(c, [cls], head, NO_FITS, { ...defaultMethodSettings, odinTemperature: cfg.temperature })[cls]!, cfg.lambda) : Float64Array.from(feat);
  };
  return { id: of(id), ood: oods.map((o) => of(o.c)) };
}

/** The recommended method and threshold, the share of ID kept and OOD caught there, and the worst failures. */
export function decide(data: ReportData, boot: { resamples: number; seed: number } | null): Decision {
  const cfg = data.config && !data.config.unused ? data.config.cfg : null;
  const method = cfg ? CALIBRATED : Object.keys(data.results).sort((a, b) => data.results[b]!.average!.auroc - data.results[a]!.average!.auroc)[0]!;
  const s = data.scores[method]!;
  const targetTpr = cfg?.targetTpr ?? 0.95;
  const threshold = cfg ? cfg.threshold! : thresholdAtTpr(s.id, targetTpr);
  const op = operatingPoint(threshold, s.id, s.ood, boot ?? { resamples: 0 });
  const ood: Failure[] = Object.entries(s.ood).flatMap(([set, v]) => v.map((score, i) => ({ set, file: data.files.ood[set]![i]!, score }))).filter((f) => f.score >= threshold).sort((a, b) => b.score - a.score);
  const idr: Failure[] = s.id.map((score, i) => ({ set: 'ID', file: data.files.id[i]!, score })).filter((f) => f.score < threshold).sort((a, b) => a.score - b.score);
  return {
    method, source: cfg ? 'config' : 'comparison', threshold, targetTpr, kept: op.kept, caught: op.caught,
    oodAccepted: ood.slice(0, REPORT_FAILURES), idRejected: idr.slice(0, REPORT_FAILURES), oodAcceptedTotal: ood.length, idRejectedTotal: idr.length,
  };
}

export function printEval(r: EvalResult, io: Io): void {
  const s = r.data.settings as { fsStage: string; taStage: string | null; counts: { id: number; ood: Record<string, number> } };
  io.out(`ID: ${s.counts.id} images; OOD: ${Object.entries(s.counts.ood).map(([n, c]) => `${n} ${c}`).join(', ')}; FS at ${s.fsStage}${s.taStage ? `, TA at ${s.taStage} with ${describeKs(r.ks)}` : ''}\n`);
  if (r.data.accuracy) io.out(`ID accuracy: top-1 ${r.data.accuracy.top1.toFixed(2)}%${r.data.accuracy.top5 !== null ? `, top-5 ${r.data.accuracy.top5.toFixed(2)}%` : ''} (${r.data.accuracy.n} images)\n`);
  io.out('\n' + r.table);
  if (r.comparisons?.length) {
    const fmt = (v: number, ci: readonly [number, number]) => {
      const d = intervalDigits(ci);
      const sign = (x: number) => (Number(x.toFixed(d)) === 0 ? (0).toFixed(d) : (x > 0 ? '+' : '') + x.toFixed(d));
      return `${sign(v)} [${sign(ci[0])}, ${sign(ci[1])}]`;
    };
    const w = Math.max(...r.comparisons.map((c) => `${c.a} − ${c.b}`.length));
    io.out('\n' + wrap('Each fusion against its parts, average over the OOD sets (percent points; paired 95% bootstrap interval):') + '\n');
    const auroc = r.comparisons.map((c) => fmt(c.average.difference.auroc, c.average.ci.auroc));
    const aw = Math.max(...auroc.map((x) => x.length));
    r.comparisons.forEach((c, i) => io.out(`  ${`${c.a} − ${c.b}`.padEnd(w)}  AUROC ${auroc[i]!.padEnd(aw)}  FPR95 ${fmt(c.average.difference.fpr95, c.average.ci.fpr95)}\n`));
  }
  if (r.data.decision) io.out('\n' + describeDecision(r.data) + '\n');
}

/** Words wrapped at `width` columns; continuation lines indented by `indent`. */
export function wrap(text: string, width = 100, indent = '  '): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && (line + ' ' + word).length > width) { lines.push(line); line = indent + word; } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

const share = (p: Share) => `${p.value.toFixed(1)}%${p.ci ? ` [${p.ci[0].toFixed(1)}–${p.ci[1].toFixed(1)}]` : ''}`;

/** The decision in two or three wrapped lines: where the threshold comes from, then what it keeps and catches. */
export function describeDecision(data: ReportData): string {
  const d = data.decision!;
  const where = d.source === 'config'
    ? `Threshold from ${basename(data.config!.path)}: ${d.method} score ≥ ${d.threshold.toPrecision(4)} (set at ${(d.targetTpr * 100).toFixed(0)}% ID TPR on calibration images).`
    : `No threshold was calibrated${data.config?.unused ? ` (the config's is not used: ${data.config.unused})` : ''}. For comparison only: ${d.method}, the best method here by average AUROC, at its ${(d.targetTpr * 100).toFixed(0)}% ID TPR threshold ${d.threshold.toPrecision(4)} on these images; run \`fsta calibrate\` and pass --config for a threshold chosen without OOD test data.`;
  const sets = Object.entries(d.caught).filter(([n]) => n !== 'all OOD').map(([n, p]) => `${n} ${share(p)}`);
  const what = `At it: keeps ${share(d.kept)} of ID; catches ${share(d.caught['all OOD']!)} of all OOD${sets.length > 1 ? ` (${sets.join(', ')})` : ''}${d.kept.ci ? '; 95% bootstrap intervals' : ''}.`;
  return wrap(where) + '\n' + wrap(what);
}

/** The JSON file of `--json`; schema in docs/cli.md. */
export const evalJson = (r: EvalResult) => JSON.stringify({ settings: r.data.settings, accuracy: r.data.accuracy, results: r.data.results, comparisons: r.comparisons, ...(r.data.notes ? { notes: r.data.notes } : {}) }, null, 2) + '\n';

export async function evalCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v } = parse('eval', argv, evalOptions);
  if (v.help) { io.out(evalHelp + '\n'); return 0; }
  const inputs = evalInputs(v);
  reportSkipped(io, [inputs.id, ...inputs.ood.map((o) => o.set)].flatMap((s) => s.skipped));
  const outOpts = { force: Boolean(v.force), inputs: inputFiles(v, inputs.choice.spec.modelPath), flag: '--json' };
  checkOutputs([{ path: v.json as string | undefined, flag: '--json' }, { path: v.report as string | undefined, flag: '--report' }, { path: v.csv as string | undefined, flag: '--csv' }], outOpts);
  const r = await runEval(inputs, io, { samples: typeof v.report === 'string' });
  printEval(r, io);
  if (typeof v.json === 'string') {
    writeFileAtomic(v.json, evalJson(r), outOpts);
    io.out(`\nwrote ${printable(v.json)}\n`);
  }
  if (typeof v.csv === 'string') {
    writeFileAtomic(v.csv, resultsCsv(r.data), { ...outOpts, flag: '--csv' });
    io.out(`wrote ${v.csv}\n`);
  }
  if (typeof v.report === 'string') {
    await writeReport(r.data, v.report, outOpts);
    io.out(`wrote report ${printable(v.report)}\n`);
  }
  return r.failed > 0 ? 1 : 0;
}
