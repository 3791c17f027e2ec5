import { readRegularFileSync } from '@fsta/onnxruntime-node/read-file';
import { statSync } from 'node:fs';
import { FstaError, fusedScore, verdictOf } from '@fsta/core';
import { IN_GRAPH_CLASSIFIERS } from '@fsta/onnx';
import type { FstaConfig } from '@fsta/core';
import { parse, usageError } from '../args.js';
import type { Io } from '../io.js';
import { fileKind } from '@fsta/onnxruntime-node/read-file';
import { reportSkipped, walkImages, type Skipped } from '../images.js';
import { modelChoice, modelHelp, modelOptions } from '../model-options.js';
import { loadConfig } from '../config-file.js';
import { defaultK } from '../k-choice.js';
import { openEngine } from '../engine/open-detector.js';
import { checkConfigFile } from '../config-model.js';
import { collect } from '../engine/collect.js';
import { NO_FITS, defaultMethodSettings, methodScores } from '../methods.js';

/** A list of a million paths fits. */
const MAX_LIST_BYTES = 256 << 20;

export const scoreHelp = `Usage: fsta score --model M.onnx --manifest F.json [--config fsta.config.json] [--files-from LIST] FILES|DIRS...

Writes one JSON line per image to stdout:
  {"file", "fs", "fsTa", "classifier": {"msp", "maxlogit", "energy"} | null, "score", "verdict"}
The numbers are createDetector's for the same files and config: FS, FS+TA, the
classifier scores, the fused score and the verdict all come from the patched graph
("classifier" also has "ash" or "scale" when the config fuses it). A config that
fuses ODIN or GradNorm, which have no graph form, is fused on the host, and
"classifier" then has "odin" or "gradnorm".
verdict is "ID" (score ≥ threshold), "OOD", or null when the config has no threshold.
A file that cannot be read gets {"file", "error"} and the rest go on.

${modelHelp}
  --files-from LIST      also score the paths listed in LIST, one per line (for
                         thousands of files: a long command line crashes
                         onnxruntime-node 1.30)
  --config FILE          settings from \`fsta calibrate\` (stages, k, λ, threshold);
                         --fs-stage, --ta-stage and --k override it
  --force-config         use a config calibrated on another model (refused otherwise)

Exit status: 0 all scored, 1 some file failed, 2 usage or fatal error.`;

const CLS: Record<string, string> = { msp: 'MSP', maxlogit: 'MaxLogit', energy: 'Energy', odin: 'ODIN', gradnorm: 'GradNorm', ash: 'ASH', scale: 'SCALE' };
/** Classifier scores computed from the penultimate features and the head. */
const NEEDS_HEAD = new Set(['gradnorm', 'ash', 'scale']);

/**
 * Files given on the command line, with folders expanded (sorted, recursive). Missing
 * paths and named non-regular files become error lines; non-regular entries of
 * folders are skipped (and reported).
 */
function expand(paths: readonly string[], skipped: Skipped[]): ({ path: string } | { path: string; error: string })[] {
  return paths.flatMap((p) => {
    let st;
    try { st = statSync(p); } catch { return [{ path: p, error: 'no such file or folder' }]; }
    if (st.isDirectory()) return walkImages(p, skipped).map((path) => ({ path }));
    const kind = fileKind(st);
    return [kind === null ? { path: p } : { path: p, error: `${kind}, not a regular file` }];
  });
}

export async function scoreCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v, positionals: given } = parse('score', argv, { ...modelOptions, config: { type: 'string' }, 'force-config': { type: 'boolean' }, 'files-from': { type: 'string' } }, true);
  // Thousands of paths go in a list file: onnxruntime-node 1.30 crashes (SIGSEGV) creating a session when the command line is long (~30 kB).
  const positionals = [...given, ...(typeof v['files-from'] === 'string' ? readRegularFileSync(v['files-from'], { maxBytes: MAX_LIST_BYTES, what: 'file list' }).toString('utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '') : [])];
  if (v.help) { io.out(scoreHelp + '\n'); return 0; }
  if (positionals.length === 0) throw usageError('give at least one image file or folder', 'score');
  const config = loadConfig(v.config as string | undefined);
  const choice = modelChoice({ ...v, 'fs-stage': v['fs-stage'] ?? config.fsStage, 'ta-stage': v['ta-stage'] ?? config.taStage ?? 'none' }, 'score');
  if (typeof v.config === 'string') checkConfigFile(config, choice.spec, Boolean(v['force-config']));
  if (choice.ks && choice.ks.length > 1) throw usageError(`fsta score takes one --k, got ${choice.ks.length} (${choice.ks.join(', ')})`, 'score');
  const k = choice.k ?? defaultK(choice, typeof v.config === 'string' ? { path: v.config, cfg: config } : null).k;
  const cfg: FstaConfig = { ...config, fsStage: choice.fsStage, taStage: choice.taStage, k, featureScore: choice.taStage === null ? 'fs' : config.featureScore };
  const clsName = cfg.classifier && cfg.lambda !== 0 ? CLS[cfg.classifier] : undefined;
  if (cfg.classifier && cfg.lambda !== 0 && !clsName) throw new FstaError('UNSUPPORTED', `the config fuses "${cfg.classifier}", which fsta score does not compute (it needs statistics fitted on ID features, which a config does not carry)`, 'calibrate with a classifier of msp, maxlogit, energy, odin, gradnorm, ash or scale; compare FS+TA with it using fsta eval');
  if (clsName && NEEDS_HEAD.has(cfg.classifier!) && choice.spec.resolution.head?.weightInitializer == null) throw new FstaError('NO_HEAD', `the config fuses "${cfg.classifier}", which needs the penultimate features and classifier head, and this model's manifest names no head`, 'add a "head" to the manifest, or calibrate with msp, maxlogit or energy');
  // The detector runs the config as createDetector does for a library user: classifier scores,
  // fusion and verdict in its graph. ODIN and GradNorm have no graph form (createDetector refuses
  // them), so for those the detector scores FS alone and core's formulas fuse on the host.
  const onHost = clsName !== undefined && !(IN_GRAPH_CLASSIFIERS as readonly string[]).includes(cfg.classifier!) ? clsName : null;
  const detectorCfg: FstaConfig = onHost ? { ...cfg, classifier: null, lambda: 0, temperature: 1, threshold: null } : cfg;
  const engine = await openEngine(choice.spec, { fsStage: cfg.fsStage, taStage: cfg.taStage }, cfg.taStage === null ? [] : [k], choice.batch, (l) => io.err(l + '\n'), [], detectorCfg);
  let failed = 0;
  try {
    const skipped: Skipped[] = [];
    const files = expand(positionals, skipped);
    reportSkipped(io, skipped);
    if (files.length === 0) throw new FstaError('EMPTY_FOLDER', `no images found in ${positionals.join(', ')}`, 'pass image files or folders that contain images');
    if (clsName && engine.logits === null) throw new FstaError('NO_LOGITS', `the config fuses "${cfg.classifier}", but this model has no (N, classes) logits output`, 'use a config calibrated for this model (classifier none), or name the logits output in a manifest ("output")');
    // Lines are written per window of 64 batches: collect decodes the next batch while the model runs
    // the current one, which a window of one batch would not let it do.
    const window = choice.batch * 64;
    for (let start = 0; start < files.length; start += window) {
      const chunk = files.slice(start, start + window);
      const readable = chunk.filter((f) => !('error' in f));
      const c = await collect(engine, { kind: 'files', items: readable.map((f) => ({ path: f.path, label: -1 })) });
      const host = onHost && c.files.length ? methodScores(c, [onHost], engine.head, NO_FITS, { ...defaultMethodSettings, odinTemperature: cfg.temperature })[onHost]! : null;
      const reasons = new Map(c.failed.map((f) => [f.path, f.reason]));
      let i = 0;
      for (const f of chunk) {
        const error = 'error' in f ? f.error : reasons.get(f.path);
        if (error !== undefined) {
          failed++;
          io.out(JSON.stringify({ file: f.path, error }) + '\n');
          continue;
        }
        const fs = c.fs[i]!, fsTa = cfg.taStage === null ? null : c.fsTa[0]![i]!;
        const d = c.scored[i]!;
        // On the host only for ODIN / GradNorm: the detector's score is then the feature score alone.
        const score = host ? fusedScore(d.score, host[i]!, cfg.lambda) : d.score;
        const verdict = host ? verdictOf(score, cfg.threshold) : d.verdict;
        const classifier = engine.logits === null ? null : { ...d.classifier, ...(host ? { [cfg.classifier!]: host[i]! } : {}) };
        io.out(JSON.stringify({ file: f.path, fs, fsTa, classifier, score, verdict }) + '\n');
        i++;
      }
    }
  } finally {
    await engine.dispose();
  }
  if (failed) io.err(`fsta score: ${failed} file(s) could not be scored (see the "error" lines)\n`);
  return failed > 0 ? 1 : 0;
}
