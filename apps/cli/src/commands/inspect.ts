import { FstaError } from '@fsta/core';
import { imageInput } from '@fsta/backbones';
import { describePatchMetadata, readPatchMetadata, toNumber } from '@fsta/onnx';
import { measureTensorShapes } from '@fsta/onnxruntime-node';
import { parse, usageError } from '../args.js';
import type { Io } from '../io.js';
import { loadModelSpec } from '../engine/model.js';
import { checkOutput, writeFileAtomic } from '../write-file.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '@fsta/backbones';
import type { BackboneResolution } from '@fsta/backbones';
import { printable } from '../printable.js';

export const inspectHelp = `Usage: fsta inspect IN.onnx [--backbone NAME|auto | --manifest F.json] [--write-manifest OUT.json [--force]]

Prints the backbone manifest that matched (or the user manifest, or that the stages
were detected automatically), each stage with its tensor, producing node and shape
(measured by running the model once on a blank image), and the classifier head.
On a model \`fsta patch\` wrote, first what the patch recorded in the model's
metadata_props: fsta version, stages, k, classifier, λ, threshold, target TPR,
preprocessing and the calibration's provenance.

  --write-manifest OUT   writes what was found as a manifest JSON that eval, score,
                         calibrate, patch (--manifest) and createDetector({ manifest })
                         take unchanged: stages and head by tensor name, and the
                         preprocessing. Preprocessing no manifest gave is guessed from
                         the input shape (ImageNet mean and std) and listed under
                         "guessed": check it before trusting the scores.`;

/** The user-manifest JSON for what `inspect` found (format: @fsta/backbones parseUserManifest). */
function manifestJson(path: string, inputName: string, r: BackboneResolution, hw: readonly number[]): Record<string, unknown> {
  const guessed: string[] = [];
  let preprocess: Record<string, unknown>;
  if (r.preprocess) preprocess = { ...r.preprocess, size: [...hw] };
  else {
    guessed.push('preprocess');
    preprocess = { size: [...hw], resizeShorter: Math.max(hw[0]!, hw[1]!), crop: 'center', mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  }
  const stages = Object.fromEntries(Object.entries(r.stages).filter(([, s]) => s).map(([name, s]) => [name, { tensor: s!.tensor, node: s!.node, ...(s!.layout === 'nchw' || s!.layout === 'ncl' ? {} : { layout: s!.layout, prefixTokens: s!.prefixTokens }) }]));
  const h = r.head;
  return {
    name: path.split('/').pop()!.replace(/\.onnx$/, ''),
    description: `written by fsta inspect from ${r.source}`,
    input: inputName,
    ...(h ? { output: h.logits } : {}),
    preprocess,
    stages,
    ...(h ? { head: { penultimate: h.penultimate, weight: h.weightInitializer ?? h.weight, bias: h.biasInitializer ?? h.bias } } : {}),
    defaults: { ...r.defaults },
    guessed,
  };
}

export async function inspectCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse('inspect', argv, { backbone: { type: 'string' }, manifest: { type: 'string' }, 'write-manifest': { type: 'string' }, force: { type: 'boolean' } }, true);
  if (v.help) { io.out(inspectHelp + '\n'); return 0; }
  if (positionals.length !== 1) throw usageError('give exactly one model file', 'inspect');
  const path = positionals[0]!;
  if (typeof v.manifest === 'string' && typeof v.backbone === 'string') throw usageError('give --manifest or --backbone, not both', 'inspect');
  const writeTo = typeof v['write-manifest'] === 'string' ? v['write-manifest'] : null;
  const inputs = [path, ...(typeof v.manifest === 'string' ? [v.manifest] : [])];
  if (writeTo) checkOutput(writeTo, { force: Boolean(v.force), inputs, flag: '--write-manifest' });
  const found = loadModelSpec(path, { ...(typeof v.manifest === 'string' ? { manifestPath: v.manifest } : {}), ...(typeof v.backbone === 'string' ? { backbone: v.backbone } : {}) });
  const resolution = found.resolution;
  const model = found.decoded.model;
  const inputName = imageInput(found.graph) ?? (model.graph!.input ?? [])[0]?.name ?? 'input';
  const spec = resolution.preprocess ? { preprocess: resolution.preprocess } : null;
  io.out(`${printable(path)}\n`);
  const patchedBy = readPatchMetadata(model);
  if (patchedBy) {
    io.out(`patched by fsta ${patchedBy.version}: outputs ${patchedBy.outputs.join(', ')}\n`);
    for (const line of describePatchMetadata(model)) io.out(`  ${printable(line)}\n`);
  }
  io.out(`backbone: ${resolution.manifest ? `${resolution.manifest.name} (${resolution.manifest.description})` : resolution.userManifest ? `from ${found.source}` : 'no manifest matched; stages detected automatically'}\n`);
  const stages = Object.entries(resolution.stages).filter(([, s]) => s);
  // Static shapes are rarely in exported graphs: measure them with one run on a blank image.
  const dims = (model.graph!.input ?? []).find((i) => i.name === inputName)?.type?.tensorType?.shape?.dim ?? [];
  const declared = dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : -1));
  // A size fixed in the model wins over the manifest's default (FCN exported at 224, not
  // torchvision's 520; a detector at its export size); a detector may take one [C, H, W] image.
  const fixedHW = declared.slice(-2);
  const fixed = declared.length >= 3 && fixedHW.every((d) => d > 0);
  const hw = fixed ? fixedHW : spec ? [...spec.preprocess.size] : fixedHW;
  const measured = new Map<string, readonly number[]>();
  if (hw.length === 2 && hw.every((d) => d > 0)) {
    const c = declared.length >= 3 && declared.at(-3)! > 0 ? declared.at(-3)! : 3;
    const shape = declared.length === 3 ? [c, hw[0]!, hw[1]!] : [1, c, hw[0]!, hw[1]!];
    for (const [t, dims] of await measureTensorShapes(model, { name: inputName, shape }, stages.map(([, s]) => s!.tensor))) measured.set(t, dims);
    const size = spec?.preprocess.size;
    const resized = size !== undefined && (size[0] !== hw[0] || size[1] !== hw[1]);
    io.out(`input: ${printable(inputName)} [${shape.join(', ')}]${spec ? ` (preprocess: ${JSON.stringify({ ...spec.preprocess, size: hw })}${resized ? `; the model's fixed ${hw.join('x')} replaces the manifest's default ${size!.join('x')}` : ''})` : ''}\n`);
  }
  io.out('stages:\n');
  for (const [name, s] of stages) {
    const shape = measured.get(s!.tensor) ?? s!.shape;
    const layout = s!.layout === 'nhwc' ? '  layout NHWC (channels last)' : s!.layout === 'nlc' ? `  layout (N, L, C) tokens${s!.prefixTokens ? `, FS leaves out ${s!.prefixTokens} class token${s!.prefixTokens > 1 ? 's' : ''}` : ''}` : '';
    io.out(`  ${name}  [${shape.join(', ')}]${s!.stride ? `  stride ${s!.stride}` : ''}${layout}${s!.nonNegative ? '  ≥0 (TA applies)' : ''}\n      tensor ${printable(s!.tensor)}\n      node   ${printable(s!.node)}\n`);
  }
  const d = resolution.defaults;
  io.out(`defaults: FS at ${d.fsStage}, TA at ${d.taStage ?? 'none'}, k ${d.k}${d.kPercentile !== undefined ? ` (p${d.kPercentile})` : ''}\n`);
  if (resolution.ta?.note) io.out(`TA: ${printable(resolution.ta.note)}\n`);
  for (const w of resolution.warnings) io.out(`warning: ${printable(w)}\n`);
  const h = resolution.head;
  io.out(h ? `head: ${printable(h.weight)} [${h.weightShape.join(', ')}] on ${printable(h.penultimate)} -> ${printable(h.logits)}\n` : 'head: none found\n');
  if (writeTo) {
    if (!(hw.length === 2 && hw.every((x) => x > 0))) throw new FstaError('NO_INPUT_SIZE', `the model's input size is dynamic and no manifest gives one, so no manifest can be written for ${path}`, 'write the manifest by hand with "preprocess": {"size": [h, w], …}, or export the model with a fixed H and W');
    const json = manifestJson(path, inputName, resolution, hw);
    writeFileAtomic(writeTo, JSON.stringify(json, null, 2) + '\n', { force: Boolean(v.force), inputs, flag: '--write-manifest' });
    io.out(`wrote ${writeTo}${(json.guessed as string[]).length ? ` (guessed: ${(json.guessed as string[]).join(', ')}: check it)` : ''}\n`);
  }
  return 0;
}
