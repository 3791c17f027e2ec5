import * as ort from 'onnxruntime-node';
import { encodeModel, toNumber, withOutputs } from '@fsta/onnx';
import { parse, usageError } from '../args.js';
import type { Io } from '../io.js';
import { printable } from '../printable.js';
import { readModel, resolveBackbone } from '../engine/backbone-spec.js';

export const inspectHelp = `Usage: fsta inspect IN.onnx [--backbone NAME|auto]

Prints the backbone manifest that matched (or that the stages were detected
automatically), each stage with its tensor, producing node and shape (measured by
running the model once on a blank image), and the classifier head.`;

export async function inspectCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse('inspect', argv, { backbone: { type: 'string' } }, true);
  if (v.help) { io.out(inspectHelp + '\n'); return 0; }
  if (positionals.length !== 1) throw usageError('give exactly one model file', 'inspect');
  const path = positionals[0]!;
  const { resolution, spec, inputName } = resolveBackbone(path, typeof v.backbone === 'string' ? v.backbone : 'auto');
  const model = readModel(path);
  io.out(`${printable(path)}\n`);
  io.out(`backbone: ${resolution.manifest ? `${resolution.manifest.name} (${resolution.manifest.description})` : 'no manifest matched; stages detected automatically'}\n`);
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
    const session = await ort.InferenceSession.create(encodeModel(withOutputs(model, stages.map(([, s]) => s!.tensor))));
    try {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(c * hw[0]! * hw[1]!), shape) });
      for (const [, s] of stages) measured.set(s!.tensor, out[s!.tensor]!.dims);
    } finally {
      await session.release();
    }
    const size = spec?.preprocess.size;
    const resized = size !== undefined && (size[0] !== hw[0] || size[1] !== hw[1]);
    io.out(`input: ${printable(inputName)} [${shape.join(', ')}]${spec ? ` (preprocess: ${JSON.stringify({ ...spec.preprocess, size: hw })}${resized ? `; the model's fixed ${hw.join('x')} replaces the manifest's default ${size!.join('x')}` : ''})` : ''}\n`);
  }
  io.out('stages:\n');
  for (const [name, s] of stages) {
    const shape = measured.get(s!.tensor) ?? s!.shape;
    io.out(`  ${name}  [${shape.join(', ')}]${s!.stride ? `  stride ${s!.stride}` : ''}${s!.nonNegative ? '  ≥0 (TA applies)' : ''}\n      tensor ${printable(s!.tensor)}\n      node   ${printable(s!.node)}\n`);
  }
  const d = resolution.defaults;
  io.out(`defaults: FS at ${d.fsStage}, TA at ${d.taStage ?? 'none'}, k ${d.k}${d.kPercentile !== undefined ? ` (p${d.kPercentile})` : ''}\n`);
  const h = resolution.head;
  io.out(h ? `head: ${printable(h.weight)} [${h.weightShape.join(', ')}] on ${printable(h.penultimate)} -> ${printable(h.logits)}\n` : 'head: none found\n');
  return 0;
}
