import { FstaError, evaluateOod, topkAccuracy } from '@fsta/core';
import type { FstaConfig, OodMetrics } from '@fsta/core';
import { parse, parseOod, positiveInt, numberFlag, requireString, usageError } from '../args.js';
import type { Io } from '../io.js';
import { listImages } from '../images.js';
import type { ImageSet, LabelMode } from '../images.js';
import { modelChoice, modelHelp, modelOptions } from '../model-options.js';
import type { ModelChoice } from '../model-options.js';
import { loadConfig } from '../config-file.js';
import { defaultK, percentileKs, percentileList } from '../k-choice.js';
import type { KSetting } from '../k-choice.js';
import { FeatureRunner } from '../engine/runner.js';
import { checkConfigFile } from '../config-model.js';
import { collect } from '../engine/collect.js';
import type { Collected } from '../engine/collect.js';
import { defaultMethodSettings, fitReactFromId, methodScores, parseMethods } from '../methods.js';
import { progress } from '../progress.js';
import { formatTable } from '../table.js';
import { checkOutput, writeFileAtomic } from '../write-file.js';
import type { ReportData } from '../report/data.js';
import { writeReport } from '../report/write-report.js';
import { sampleMaps, spreadPicks } from '../engine/sample-maps.js';

/** Sample images per set whose feature maps the report shows. */
const REPORT_SAMPLES = 2;

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
                         ASH, FS, FS+TA, FS+TA+MSP, FS+TA+Energy, FS+TA+ODIN,
                         FS+TA+GradNorm, FS+TA+ReAct (default: all the model allows)
  --odin-temperature T   ODIN temperature (default 1000)
Output:
  --json OUT.json        write settings, accuracy and results (docs/cli.md)
  --report OUT.html      write a self-contained HTML report (ROC curves, score
                         histograms, feature maps of sample images)
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
  'k-percentile': { type: 'string' },
  config: { type: 'string' },
  'force-config': { type: 'boolean' },
  json: { type: 'string' },
  report: { type: 'string' },
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
  if (config) checkConfigFile(config.cfg, choice.spec.modelPath, Boolean(v['force-config']));
  return {
    choice, id, labels: labels as LabelMode, ood: oodSets, methods: undefined, methodList: v.methods as string | undefined,
    odinTemperature: numberFlag(v['odin-temperature'], '--odin-temperature', command, (n) => n > 0, 'a number > 0') ?? 1000,
    limit, kPercentiles, config,
  };
}

const percent = (m: OodMetrics): OodMetrics => ({ auroc: m.auroc * 100, fpr95: m.fpr95 * 100, auprIn: m.auprIn * 100, auprOut: m.auprOut * 100 });

/** The k values to score: --k and --k-percentile in that order, else the config's or the backbone's default k. */
export async function chooseKs(runner: FeatureRunner, inputs: EvalInputs): Promise<KSetting[]> {
  const { choice } = inputs;
  if (choice.taStage === null) return [];
  const fixed = (choice.ks ?? []).map((k): KSetting => ({ k, label: `k=${k}`, source: '--k' }));
  if (!inputs.kPercentiles) return fixed.length ? fixed : [defaultK(choice, inputs.config)];
  const step = Math.max(1, Math.floor(inputs.id.items.length / 200));
  const items = inputs.id.items.filter((_, i) => i % step === 0).slice(0, 200);
  const c = await collect(runner, { kind: 'files', items }, { ks: [], batch: choice.batch, taSampleSize: 200_000 });
  if (!c.taSample) throw new FstaError('NO_TA', 'no TA-stage activations were collected', 'check --ta-stage');
  return [...fixed, ...percentileKs(c.taSample, inputs.kPercentiles, choice.taStage, c.files.length)];
}

/** FS+TA and its fusions once per k, named `FS+TA@k=0.5` when there are several k. */
function expandTa(methods: readonly string[], ks: readonly KSetting[]): string[] {
  return methods.flatMap((m) => (m.startsWith('FS+TA') && ks.length > 1 ? ks.map((k) => `${m}@${k.label}`) : [m]));
}

/** Scores of every method on one set, FS+TA methods once per k from the same collected pass. */
function scoresPerK(c: Collected, methods: readonly string[], ks: readonly KSetting[], head: FeatureRunner['head'], react: ReturnType<typeof fitReactFromId>, settings: typeof defaultMethodSettings): Record<string, Float64Array> {
  const plain = methods.filter((m) => !m.startsWith('FS+TA'));
  const ta = methods.filter((m) => m.startsWith('FS+TA'));
  const out = methodScores(c, plain, head, react, settings);
  if (ks.length === 1) Object.assign(out, methodScores(c, ta, head, react, settings, 0));
  else ks.forEach((k, j) => {
    const s = methodScores(c, ta, head, react, settings, j);
    for (const m of ta) out[`${m}@${k.label}`] = s[m]!;
  });
  return out;
}

const describeKs = (ks: readonly KSetting[]): string => {
  const sources = [...new Set(ks.map((k) => k.source))];
  return ks.length === 1 ? `k=${ks[0]!.k.toPrecision(4)} (${ks[0]!.source})` : `${ks.length} k: ${ks.map((k) => `${k.label}${k.label.includes('p') ? ` = ${k.k.toPrecision(4)}` : ''}`).join(', ')} (${sources.join('; ')})`;
};

/** `opts.samples`: also compute the report's per-image feature maps for a few images per set (one extra small batch). */
export async function runEval(inputs: EvalInputs, io: Io, opts: { samples?: boolean } = {}): Promise<EvalResult> {
  const { choice } = inputs;
  const runner = await FeatureRunner.open(choice.spec, { fsStage: choice.fsStage, taStage: choice.taStage });
  try {
    const baseMethods = parseMethods(inputs.methodList, runner.head !== null).filter((m) => choice.taStage !== null || !m.startsWith('FS+TA'));
    const ks = await chooseKs(runner, inputs);
    const methods = expandTa(baseMethods, ks);
    let failed = 0;
    const run = async (label: string, set: ImageSet): Promise<Collected> => {
      const bar = progress(io, label, set.items.length);
      const c = await collect(runner, { kind: 'files', items: set.items }, {
        ks: ks.map((k) => k.k), batch: choice.batch, onProgress: (n) => bar.tick(n),
        onFailure: (path, reason) => { failed++; io.err(`fsta: skipped ${path}: ${reason}\n`); },
      });
      bar.end();
      if (c.files.length === 0) throw new FstaError('NO_IMAGES', `none of the ${set.items.length} images in ${set.dir} could be read`, 'check the files in that folder');
      return c;
    };
    const id = await run('ID', inputs.id);
    const oods: { name: string; c: Collected }[] = [];
    for (const o of inputs.ood) oods.push({ name: o.name, c: await run(o.name, o.set) });

    const settings = { ...defaultMethodSettings, odinTemperature: inputs.odinTemperature };
    const react = fitReactFromId(id, methods, settings.reactPercentile);
    const idScores = scoresPerK(id, baseMethods, ks, runner.head, react, settings);
    const oodScores = oods.map((o) => ({ name: o.name, s: scoresPerK(o.c, baseMethods, ks, runner.head, react, settings) }));
    const results: ReportData['results'] = {};
    const scores: ReportData['scores'] = {};
    for (const m of methods) {
      const row: Record<string, OodMetrics> = {};
      for (const o of oodScores) row[o.name] = percent(evaluateOod(idScores[m]!, o.s[m]!));
      const avg = (key: keyof OodMetrics) => oodScores.reduce((s, o) => s + row[o.name]![key], 0) / oodScores.length;
      row.average = { auroc: avg('auroc'), fpr95: avg('fpr95'), auprIn: avg('auprIn'), auprOut: avg('auprOut') };
      results[m] = row;
      scores[m] = { id: [...idScores[m]!], ood: Object.fromEntries(oodScores.map((o) => [o.name, [...o.s[m]!]])) };
    }
    let accuracy: ReportData['accuracy'] = null;
    if (inputs.labels !== 'none') {
      const K = id.numClasses;
      accuracy = { top1: topkAccuracy(id.logits, K, id.labels, 1) * 100, top5: K >= 5 ? topkAccuracy(id.logits, K, id.labels, 5) * 100 : null, n: id.files.length };
    }
    const data: ReportData = {
      title: `fsta eval: ${choice.spec.modelPath}`,
      settings: {
        model: choice.spec.modelPath, stagesFrom: choice.spec.source, fsStage: choice.fsStage, taStage: choice.taStage,
        // One k keeps the single-k schema (k, kSource); several are listed in ks.
        k: ks.length === 0 ? 0 : ks.length === 1 ? ks[0]!.k : null,
        kSource: ks.length === 0 ? 'no TA stage' : ks.length === 1 ? ks[0]!.source : 'several k: see ks',
        ks: ks.map((k) => ({ label: k.label, k: k.k, source: k.source })),
        labels: inputs.labels, limit: inputs.limit, id: inputs.id.dir, ood: Object.fromEntries(inputs.ood.map((o) => [o.name, o.set.dir])),
        counts: { id: id.files.length, ood: Object.fromEntries(oods.map((o) => [o.name, o.c.files.length])) },
        methods, ...settings, fusionLambda: 'paper (core PAPER_LAMBDA): MSP 0.1, Energy 0.016, ODIN 1300, GradNorm 0.4, ReAct 0.028',
      },
      accuracy, results, scores,
      files: { id: id.files, ood: Object.fromEntries(oods.map((o) => [o.name, o.c.files])) },
    };
    if (opts.samples) {
      const pick = (set: string, files: string[]) => spreadPicks(files.length, REPORT_SAMPLES).map((i) => ({ set, file: files[i]! }));
      data.samples = await sampleMaps(runner, [...pick('ID', id.files), ...oods.flatMap((o) => pick(o.name, o.c.files))], ks.length ? ks[0]!.k : null);
    }
    return { data, ks, failed, table: formatTable(results, oods.map((o) => o.name)) };
  } finally {
    await runner.dispose();
  }
}

export function printEval(r: EvalResult, io: Io): void {
  const s = r.data.settings as { fsStage: string; taStage: string | null; counts: { id: number; ood: Record<string, number> } };
  io.out(`ID: ${s.counts.id} images; OOD: ${Object.entries(s.counts.ood).map(([n, c]) => `${n} ${c}`).join(', ')}; FS at ${s.fsStage}${s.taStage ? `, TA at ${s.taStage} with ${describeKs(r.ks)}` : ''}\n`);
  if (r.data.accuracy) io.out(`ID accuracy: top-1 ${r.data.accuracy.top1.toFixed(2)}%${r.data.accuracy.top5 !== null ? `, top-5 ${r.data.accuracy.top5.toFixed(2)}%` : ''} (${r.data.accuracy.n} images)\n`);
  io.out('\n' + r.table);
}

/** The JSON file of `--json`; schema in docs/cli.md. */
export const evalJson = (r: EvalResult) => JSON.stringify({ settings: r.data.settings, accuracy: r.data.accuracy, results: r.data.results }, null, 2) + '\n';

export async function evalCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v } = parse('eval', argv, evalOptions);
  if (v.help) { io.out(evalHelp + '\n'); return 0; }
  const inputs = evalInputs(v);
  const outOpts = { force: Boolean(v.force), inputs: [inputs.choice.spec.modelPath], flag: '--json' };
  if (typeof v.json === 'string') checkOutput(v.json, outOpts);
  if (typeof v.report === 'string') checkOutput(v.report, { ...outOpts, flag: '--report' });
  const r = await runEval(inputs, io, { samples: typeof v.report === 'string' });
  printEval(r, io);
  if (typeof v.json === 'string') {
    writeFileAtomic(v.json, evalJson(r), outOpts);
    io.out(`\nwrote ${v.json}\n`);
  }
  if (typeof v.report === 'string') {
    await writeReport(r.data, v.report, { force: Boolean(v.force) });
    io.out(`wrote report ${v.report}\n`);
  }
  return r.failed > 0 ? 1 : 0;
}
