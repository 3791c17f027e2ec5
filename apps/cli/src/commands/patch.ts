import { readFileSync } from 'node:fs';
import { FstaError, defaultConfig, parseConfig } from '@fsta/core';
import type { ClassifierScoreName, FstaConfig } from '@fsta/core';
import { decodeModel, encodeModel, patchForConfig } from '@fsta/onnx';
import { numberFlag, parse, requireString, usageError } from '../args.js';
import type { Io } from '../io.js';
import { specFromManifest } from '../engine/spec.js';
import { checkOutput, writeFileAtomic } from '../write-file.js';

export const patchHelp = `Usage: fsta patch IN.onnx -o OUT.onnx [options]

Writes a copy of the model with FS, FS+TA, MSP/MaxLogit/Energy and the fused score
as extra [N] outputs (fsta/fs, fsta/fs_ta, fsta/msp, fsta/maxlogit, fsta/energy,
fsta/score); the model's own outputs are unchanged.

  -o, --out OUT.onnx     where to write (never the input; an existing file only with --force)
  --backbone NAME|auto   backbone manifest (@fsta/backbones; default auto)
  --config FILE          a config from \`fsta calibrate\`; the flags below override it
  --fs-stage S           FS stage (default: the backbone's, C5)
  --ta-stage S|none      TA stage (default: the backbone's, C4)
  --k K                  TA threshold ≥ 0
  --classifier C         msp | maxlogit | energy | none: fused into fsta/score
  --lambda L             fusion weight (default: the paper's for the classifier)
  --mode M               branch (default): the TA pass re-runs the layers after the TA
                         stage as a weight-sharing copy; double-batch: runs them once on
                         [x, TA(x)] (not for graphs that merge earlier stages in between)
  --manifest FILE        accepted for symmetry with eval/score; patching needs no preprocessing
  --force-config         use a config calibrated on another model (refused otherwise)
  --force                overwrite an existing OUT`;

export async function patchCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse('patch', argv, {
    out: { type: 'string', short: 'o' }, backbone: { type: 'string' }, config: { type: 'string' }, 'fs-stage': { type: 'string' }, 'ta-stage': { type: 'string' },
    k: { type: 'string' }, classifier: { type: 'string' }, lambda: { type: 'string' }, mode: { type: 'string' }, manifest: { type: 'string' }, force: { type: 'boolean' }, 'force-config': { type: 'boolean' },
  }, true);
  if (v.help) { io.out(patchHelp + '\n'); return 0; }
  if (positionals.length !== 1) throw usageError('give exactly one input model', 'patch');
  const input = positionals[0]!;
  const out = requireString(v.out, '-o', 'patch');
  const k = numberFlag(v.k, '--k', 'patch', (n) => n >= 0, 'a number ≥ 0');
  const lambda = numberFlag(v.lambda, '--lambda', 'patch');
  const classifier = v.classifier === undefined ? undefined : v.classifier === 'none' ? null : (v.classifier as string);
  if (classifier && !['msp', 'maxlogit', 'energy'].includes(classifier)) throw usageError(`--classifier must be msp, maxlogit, energy or none, got "${classifier}"`, 'patch');
  const mode = v.mode as string | undefined;
  if (mode !== undefined && mode !== 'branch' && mode !== 'double-batch') throw usageError(`--mode must be branch or double-batch, got "${mode}"`, 'patch');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(input);
  } catch {
    throw new FstaError('NOT_FOUND', `cannot read model ${input}`, 'pass the path of an existing .onnx file');
  }
  checkOutput(out, { force: Boolean(v.force), inputs: [input] });
  let config: FstaConfig | undefined;
  if (typeof v.config === 'string') {
    let text: string;
    try { text = readFileSync(v.config, 'utf8'); } catch { throw new FstaError('NOT_FOUND', `config ${v.config} cannot be read`, 'pass --config with the file written by `fsta calibrate`'); }
    config = parseConfig(text);
  }
  if (v['fs-stage'] !== undefined || v['ta-stage'] !== undefined) {
    const ta = v['ta-stage'] === 'none' ? null : (v['ta-stage'] as string | undefined);
    config = parseConfig({ ...(config ?? defaultConfig()), ...(v['fs-stage'] ? { fsStage: v['fs-stage'] } : {}), ...(ta !== undefined ? { taStage: ta, featureScore: ta === null ? 'fs' : 'fs_ta' } : {}) });
  }
  // Validates the manifest file when given; the patch itself needs no preprocessing.
  if (typeof v.manifest === 'string') specFromManifest(input, v.manifest);
  const prepared = patchForConfig(decodeModel(bytes), {
    ...(typeof v.backbone === 'string' ? { backbone: v.backbone } : {}),
    ...(config ? { config } : {}),
    ...(k !== undefined ? { k } : {}),
    ...(lambda !== undefined ? { lambda } : {}),
    ...(classifier !== undefined ? { classifier: classifier as ClassifierScoreName | null } : {}),
    ...(mode ? { mode } : {}),
    allowForeignConfig: Boolean(v['force-config']),
  });
  writeFileAtomic(out, encodeModel(prepared.model), { force: Boolean(v.force), inputs: [input] });
  const c = prepared.config;
  io.out(`wrote ${out}: ${prepared.backbone.manifest ? `backbone ${prepared.backbone.manifest.name}` : 'stages detected automatically'}, FS at ${c.fsStage}${c.taStage ? `, TA at ${c.taStage} with k=${c.k}` : ''}${c.classifier ? `, fused with ${c.classifier} (λ=${c.lambda})` : ''}, ${mode ?? 'branch'} mode; model outputs ${prepared.modelOutputs.join(', ')} unchanged\n`);
  return 0;
}
