import { MAX_JSON_BYTES, MAX_MODEL_BYTES, readRegularFileSync } from '@fsta/onnxruntime-node/read-file';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FstaError, defaultConfig, parseConfig } from '@fsta/core';
import type { ClassifierScoreName, FstaConfig } from '@fsta/core';
import { IN_GRAPH_CLASSIFIERS, decodeModel, encodeModel, patchForConfig, tritonConfig } from '@fsta/onnx';
import { numberFlag, parse, requireString, usageError } from '../args.js';
import type { Io } from '../io.js';
import { printable } from '../printable.js';
import { readManifestFile } from '../engine/model.js';
import { checkOutput, inputFiles, writeFileAtomic } from '../write-file.js';

export const patchHelp = `Usage: fsta patch IN.onnx (-o OUT.onnx | --triton DIR) [options]

Writes a copy of the model with FS, FS+TA, MSP/MaxLogit/Energy and the fused score
as extra [N] outputs (fsta/fs, fsta/fs_ta, fsta/msp, fsta/maxlogit, fsta/energy,
fsta/score; fsta/ash or fsta/scale when the config fuses ASH or SCALE, computed from
the head's own weights); the model's own outputs are unchanged (bit for bit in branch mode).
With a config that has a threshold, also fsta/verdict: bool [N], true where
fsta/score >= threshold (in-distribution). The settings (stages, k, classifier, λ,
threshold, preprocessing, provenance) go into the model's metadata_props (fsta.*):
\`fsta inspect\` prints them and createDetector runs the file with no config.
See docs/deploy.md.

  -o, --out OUT.onnx     where to write (never the input; an existing file only with --force)
  --triton DIR           also (or instead) write a Triton model repository entry:
                         DIR/NAME/1/model.onnx and DIR/NAME/config.pbtxt
  --name NAME            the Triton model name (default: the input file's name)
  --max-batch N          Triton max_batch_size where the model has a dynamic batch
                         axis (default 32)
  --backbone NAME|auto   backbone manifest (@fsta/backbones; default auto)
  --config FILE          a config from \`fsta calibrate\`; the flags below override it
  --fs-stage S           FS stage (default: the backbone's, C5)
  --ta-stage S|none      TA stage (default: the backbone's, C4)
  --k K                  TA threshold ≥ 0
  --classifier C         msp | maxlogit | energy | ash | scale | none: fused into
                         fsta/score (ash, scale: need a linear head and --lambda or a
                         config; their settings come from the config, else ASH-S
                         p90 and SCALE p85; fdbd, react, odin, gradnorm: fsta eval)
  --lambda L             fusion weight (default: the paper's for the classifier)
  --mode M               branch (default): the TA pass re-runs the layers after the TA
                         stage as a weight-sharing copy, the model's outputs stay bit
                         for bit; double-batch: runs them once on [x, TA(x)] (not for
                         graphs that merge earlier stages in between), the model's
                         outputs then agree within float rounding, not bit for bit
  --manifest FILE        stages and head by tensor name (the format eval and score
                         take; \`fsta inspect\` lists the tensors); replaces --backbone
  --force-config         use a config calibrated on another model (refused otherwise)
  --force                overwrite an existing OUT`;

export async function patchCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse('patch', argv, {
    out: { type: 'string', short: 'o' }, backbone: { type: 'string' }, config: { type: 'string' }, 'fs-stage': { type: 'string' }, 'ta-stage': { type: 'string' },
    k: { type: 'string' }, classifier: { type: 'string' }, lambda: { type: 'string' }, mode: { type: 'string' }, manifest: { type: 'string' }, force: { type: 'boolean' }, 'force-config': { type: 'boolean' },
    triton: { type: 'string' }, name: { type: 'string' }, 'max-batch': { type: 'string' },
  }, true);
  if (v.help) { io.out(patchHelp + '\n'); return 0; }
  if (positionals.length !== 1) throw usageError('give exactly one input model', 'patch');
  const input = positionals[0]!;
  const triton = typeof v.triton === 'string' ? v.triton : null;
  const out = triton !== null && v.out === undefined ? null : requireString(v.out, '-o', 'patch');
  const maxBatch = numberFlag(v['max-batch'], '--max-batch', 'patch', (n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1');
  if (triton === null && (v.name !== undefined || maxBatch !== undefined)) throw usageError('--name and --max-batch go with --triton DIR', 'patch');
  const tritonName = typeof v.name === 'string' ? v.name : basename(input).replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  const tritonFiles = triton === null ? null : { model: join(triton, tritonName, '1', 'model.onnx'), config: join(triton, tritonName, 'config.pbtxt') };
  const k = numberFlag(v.k, '--k', 'patch', (n) => n >= 0, 'a number ≥ 0');
  const lambda = numberFlag(v.lambda, '--lambda', 'patch');
  const classifier = v.classifier === undefined ? undefined : v.classifier === 'none' ? null : (v.classifier as string);
  if (classifier && !(IN_GRAPH_CLASSIFIERS as readonly string[]).includes(classifier)) throw usageError(`--classifier must be ${IN_GRAPH_CLASSIFIERS.join(', ')} or none, got "${classifier}"${classifier === 'fdbd' || classifier === 'react' || classifier === 'odin' || classifier === 'gradnorm' || classifier === 'dice' ? ' (it cannot be computed inside the graph; compare FS+TA with it using fsta eval)' : ''}`, 'patch');
  const mode = v.mode as string | undefined;
  if (mode !== undefined && mode !== 'branch' && mode !== 'double-batch') throw usageError(`--mode must be branch or double-batch, got "${mode}"`, 'patch');
  let bytes: Uint8Array;
  try {
    bytes = readRegularFileSync(input, { maxBytes: MAX_MODEL_BYTES, what: 'model' });
  } catch (e) {
    if (e instanceof FstaError) throw e;
    throw new FstaError('NOT_FOUND', `cannot read model ${input}`, 'pass the path of an existing .onnx file');
  }
  if (out !== null) checkOutput(out, { force: Boolean(v.force), inputs: inputFiles(v, input) });
  if (tritonFiles) {
    if (!existsSync(triton!)) throw new FstaError('CANNOT_WRITE', `cannot write the Triton repository ${triton}: the folder does not exist`, 'create the model repository folder first or choose another path');
    for (const f of Object.values(tritonFiles)) if (existsSync(f) && !v.force) throw new FstaError('OUTPUT_EXISTS', `${f} already exists`, 'pass --force to overwrite it, or choose another --name or --triton folder');
  }
  let config: FstaConfig | undefined;
  if (typeof v.config === 'string') {
    let text: string;
    try { text = readRegularFileSync(v.config, { maxBytes: MAX_JSON_BYTES, what: 'config' }).toString('utf8'); } catch (e) { if (e instanceof FstaError) throw e; throw new FstaError('NOT_FOUND', `config ${v.config} cannot be read`, 'pass --config with the file written by `fsta calibrate`'); }
    config = parseConfig(text);
  }
  if (v['fs-stage'] !== undefined || v['ta-stage'] !== undefined) {
    const ta = v['ta-stage'] === 'none' ? null : (v['ta-stage'] as string | undefined);
    config = parseConfig({ ...(config ?? defaultConfig()), ...(v['fs-stage'] ? { fsStage: v['fs-stage'] } : {}), ...(ta !== undefined ? { taStage: ta, featureScore: ta === null ? 'fs' : 'fs_ta' } : {}) });
  }
  if (typeof v.manifest === 'string' && typeof v.backbone === 'string') throw usageError('give --manifest or --backbone, not both', 'patch');
  const manifest = typeof v.manifest === 'string' ? readManifestFile(v.manifest) : undefined;
  const prepared = patchForConfig(decodeModel(bytes), {
    ...(manifest ? { manifest } : {}),
    ...(typeof v.backbone === 'string' ? { backbone: v.backbone } : {}),
    ...(config ? { config } : {}),
    ...(k !== undefined ? { k } : {}),
    ...(lambda !== undefined ? { lambda } : {}),
    ...(classifier !== undefined ? { classifier: classifier as ClassifierScoreName | null } : {}),
    ...(mode ? { mode } : {}),
    allowForeignConfig: Boolean(v['force-config']),
  });
  const encoded = encodeModel(prepared.model);
  const triton_ = tritonFiles ? tritonConfig(prepared.model, tritonName, maxBatch !== undefined ? { maxBatchSize: maxBatch } : {}) : null;
  if (out !== null) writeFileAtomic(out, encoded, { force: Boolean(v.force), inputs: inputFiles(v, input) });
  if (tritonFiles && triton_) {
    mkdirSync(join(triton!, tritonName, '1'), { recursive: true });
    writeFileAtomic(tritonFiles.model, encoded, { force: Boolean(v.force), inputs: inputFiles(v, input), flag: '--triton' });
    writeFileAtomic(tritonFiles.config, triton_.text, { force: Boolean(v.force), inputs: inputFiles(v, input), flag: '--triton' });
  }
  for (const w of prepared.warnings ?? []) io.err(`fsta: warning: ${printable(w)}\n`);
  const c = prepared.config;
  const written = [out, ...(tritonFiles ? [tritonFiles.model, tritonFiles.config] : [])].filter(Boolean).join(', ');
  const batching = triton_ ? `; Triton: max_batch_size ${triton_.maxBatchSize}${triton_.maxBatchSize ? ' with dynamic batching' : ' (no dynamic batch axis)'}` : '';
  io.out(`wrote ${printable(written)}: ${prepared.backbone.source === 'detected automatically' ? 'stages detected automatically' : prepared.backbone.source}, FS at ${c.fsStage}${c.taStage ? `, TA at ${c.taStage} with k=${c.k}` : ''}${c.classifier ? `, fused with ${c.classifier} (${c.classifier === 'ash' ? `ASH-${c.ash!.variant.toUpperCase()} p${c.ash!.percentile}, ` : c.classifier === 'scale' ? `p${c.scale!.percentile}, ` : ''}λ=${c.lambda})` : ''}${c.threshold !== null ? `, fsta/verdict at threshold ${c.threshold}` : ''}, ${mode ?? 'branch'} mode; model outputs ${prepared.modelOutputs.map(printable).join(', ')} ${mode === 'double-batch' ? 'unchanged up to float rounding' : 'unchanged'}${batching}\n`);
  return 0;
}
