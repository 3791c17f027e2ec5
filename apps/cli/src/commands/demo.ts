import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { parse } from '../args.js';
import type { Io } from '../io.js';
import { printable } from '../printable.js';
import { evalCommand } from './eval.js';
import { calibrateCommand } from './calibrate.js';
import { checkOutput } from '../write-file.js';

/** The bundled demo: a small ResNet trained on Fashion-MNIST by tools/train_demo_model.py, and sample images. */
export const DEMO_DIR = fileURLToPath(new URL('../../assets/demo/', import.meta.url));

export const demoHelp = `Usage: fsta demo [--out DIR] [--force]

Runs fsta on the bundled demo: a small ResNet trained on Fashion-MNIST
(tools/train_demo_model.py), 300 Fashion-MNIST test images as ID and MNIST digits,
Gaussian and uniform noise as OOD. Prints the eval table, then what calibration
picks from the ID images and noise alone, and writes into DIR (default:
fsta-demo/ in the current folder, created if missing):
  fsta-demo-report.html    the HTML report (ROC curves, score histograms,
                           sample feature maps and GMM fits)
  fsta-demo-results.json   the eval results (schema: docs/cli.md)
  fsta-demo.config.json    the calibrated config
Existing files are not overwritten: a numbered name is used instead, unless --force.`;

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
  const model = ['--model', join(DEMO_DIR, 'model.onnx'), '--manifest', join(DEMO_DIR, 'demo.json')];
  const limit = typeof v.limit === 'string' ? ['--limit', v.limit] : [];
  const images = join(DEMO_DIR, 'images');
  io.out('fsta demo: MiniResNet on Fashion-MNIST (ID) vs MNIST digits and noise (OOD)\n\n');
  const evalCode = await evalCommand([...model, '--id', join(images, 'id'), '--labels', 'folder', ...['mnist', 'gaussian', 'uniform'].flatMap((n) => ['--ood', `${n}=${join(images, 'ood', n)}`]), ...limit, '--json', json, '--report', report, ...(force ? ['--force'] : [])], io);
  io.out('\nCalibration (ID images and synthetic noise only):\n');
  const calCode = await calibrateCommand([...model, '--id', join(images, 'id'), ...limit, '-o', config, ...(force ? ['--force'] : [])], io);
  io.out(`\nReport: ${printable(report)}\n`);
  return Math.max(evalCode, calCode);
}
