import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { parse } from '../args.js';
import type { Io } from '../io.js';
import { printable } from '../printable.js';
import { CALIBRATED, evalInputs, evalJson, evalOptions, printEval, runEval, wrap } from './eval.js';
import { FstaError } from '@fsta/core';
import { modelChoice } from '../model-options.js';
import { defaultK } from '../k-choice.js';
import { calibrateCommand } from './calibrate.js';
import { checkOutput, writeFileAtomic } from '../write-file.js';
import { writeReport } from '../report/write-report.js';
import { demoFindings, type DemoSet } from './demo-findings.js';

/** The row of the paper's fixed setting (FS+TA at the backbone's default TA stage and k) beside the calibrated one. */
export const PAPER_ROW = 'FS+TA (paper)';

/** The bundled demo: torchvision's ImageNet MobileNetV2 (int8 weights) and redistributable images, made by tools/make_photo_demo.py. */
export const DEMO_DIR = fileURLToPath(new URL('../../assets/photo-demo/', import.meta.url));

/**
 * What the demo shows, read from the asset folder's demo.json, which the web page
 * (apps/web) reads too: the OOD sets, one where feature maps give OOD away and one where
 * they do not (the limit, said in every output), and the calibration grid.
 */
export interface DemoSpec {
  title: string;
  backbone: string;
  calibration: { taStages: string[]; kPercentiles: number[]; syntheticCount: number };
  sets: DemoSet[];
}
export const DEMO_SPEC: DemoSpec = JSON.parse(readFileSync(join(DEMO_DIR, 'demo.json'), 'utf8')) as DemoSpec;
export const DEMO_SETS: readonly DemoSet[] = DEMO_SPEC.sets;

export const demoHelp = `Usage: fsta demo [--out DIR] [--force] [--limit N]

Runs fsta on the bundled demo: torchvision's ImageNet MobileNetV2 (int8 weights),
129 photographs of animals, fish, household things and monuments as ID, and two
OOD sets: generated textures (where FS clearly beats the classifier's confidence)
and cartoon drawings of animals and fruit (where it does not: the honest limit).
Every bundled file is redistributable; apps/cli/assets/photo-demo/NOTICE names
each one's source and licence. First calibrates on the ID images and synthetic
OOD alone (no OOD test data), then evaluates with that config: the "calibrated"
row is what a user would deploy, "FS+TA (paper)" the paper's fixed setting beside
it. Writes into DIR (default: fsta-demo/ in the current folder, created if missing):
  fsta-demo-report.html    the HTML report (summary ending in the calibrated
                           threshold, ROC and PR curves, histograms, worst
                           failures, sample feature maps and GMM fits)
  fsta-demo-results.json   the eval results (schema: docs/cli.md)
  fsta-demo.config.json    the calibrated config
Existing files are not overwritten: a numbered name is used instead, unless --force.
--limit N takes at most N images of each set and N per synthetic set (a quick run).`;

/** `base.ext`, or `base-2.ext`, `base-3.ext`, … : the first name not taken. */
export function freshName(dir: string, base: string, ext: string, force: boolean): string {
  const first = join(dir, `${base}${ext}`);
  if (force || !existsSync(first)) return first;
  for (let i = 2; ; i++) {
    const p = join(dir, `${base}-${i}${ext}`);
    if (!existsSync(p)) return p;
  }
}

export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v } = parse('demo', argv, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, limit: { type: 'string' } });
  if (v.help) { io.out(demoHelp + '\n'); return 0; }
  // The default folder keeps the demo's files out of the way (the repository ignores it); a folder given with --out must exist.
  const dir = resolve(io.cwd, typeof v.out === 'string' ? v.out : 'fsta-demo');
  if (typeof v.out !== 'string') mkdirSync(dir, { recursive: true });
  const force = Boolean(v.force);
  const json = freshName(dir, 'fsta-demo-results', '.json', force);
  const config = freshName(dir, 'fsta-demo.config', '.json', force);
  const report = freshName(dir, 'fsta-demo-report', '.html', force);
  checkOutput(json, { force });
  const model = ['--model', join(DEMO_DIR, 'model.onnx'), '--backbone', DEMO_SPEC.backbone];
  const limit = typeof v.limit === 'string' ? ['--limit', v.limit] : [];
  const images = join(DEMO_DIR, 'images');
  io.out(`fsta demo: ${DEMO_SPEC.title}\n\n`);
  io.out('Calibration (ID images and synthetic OOD only, no OOD test data):\n');
  // demo.json's grid (smaller than calibrate's default, to keep the demo near a minute; the web page uses the same).
  // --limit (a quick run) caps the synthetic sets too.
  const cal = DEMO_SPEC.calibration;
  const grid = ['--ta-stages', cal.taStages.join(','), '--k-percentiles', cal.kPercentiles.join(','), '--noise-count', typeof v.limit === 'string' ? v.limit : String(cal.syntheticCount)];
  const calCode = await calibrateCommand([...model, '--id', join(images, 'id'), ...grid, ...limit, '-o', config, ...(force ? ['--force'] : [])], io);
  const evalArgs = [...model, '--id', join(images, 'id'), ...DEMO_SETS.map((d) => d.name).flatMap((n) => ['--ood', `${n}=${join(images, 'ood', n)}`]), ...limit];
  checkOutput(report, { force, flag: '--report' });
  io.out('\n' + wrap(`Evaluation with ${config} ("calibrated"), and the paper's fixed setting ("${PAPER_ROW}"):`) + '\n');
  // The paper's fixed setting: the backbone's default TA stage and k, as `fsta eval` without --config scores them.
  const paperChoice = modelChoice(parse('eval', model, evalOptions).values, 'eval');
  if (paperChoice.taStage === null) throw new FstaError('UNKNOWN_STAGE', 'the demo model\'s backbone has no default TA stage for the paper\'s setting', 'run the demo with its bundled model (mobilenet_v2)');
  const pk = defaultK(paperChoice, null);
  // One pass over the images scores the calibrated config and the paper's setting (one more TA tail in the same graph).
  const r = await runEval(evalInputs(parse('eval', [...evalArgs, '--config', config], evalOptions).values), io, { samples: true, extraTa: [{ row: PAPER_ROW, taStage: paperChoice.taStage, k: pk.k }] });
  r.data.settings.paperSetting = { row: PAPER_ROW, taStage: paperChoice.taStage, k: pk.k, kSource: pk.source };
  io.out(`("${PAPER_ROW}": TA at ${paperChoice.taStage}, k=${pk.k}, ${pk.source})\n`);
  printEval(r, io);
  r.data.notes = demoFindings(r.data.results, DEMO_SETS, ['FS', CALIBRATED, PAPER_ROW]);
  io.out('\nWhere FS works, and where it does not (AUROC %, 95% bootstrap interval):\n' + r.data.notes.map((l) => wrap(`- ${l}`)).join('\n') + '\n');
  writeFileAtomic(json, evalJson(r), { force });
  await writeReport(r.data, report, { force });
  io.out(`\nwrote ${printable(json)}\nReport: ${printable(report)}\n`);
  return Math.max(calCode, r.failed > 0 ? 1 : 0);
}
