#!/usr/bin/env node
// Exports the torchvision test models into .cache/models/ unless they are all there.
// Tests and CI call this before running: `node tools/ensure-models.mjs`.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The files each export writes (tools/export_torchvision.py): ResNet-50 also saves its
// state_dict (save_state_dict there) for the benchmark's PyTorch reference, so an
// export from before that, with no .pt, is redone.
const models = {
  resnet18: ['onnx', 'json'],
  resnet50: ['onnx', 'json', 'pt'],
  densenet121: ['onnx', 'json'],
  fcn_resnet50: ['onnx', 'json'],
  fasterrcnn_resnet50_fpn: ['onnx', 'json'],
  // Small vision transformers (token stages): the sidecar carries PyTorch's FS on their tokens.
  vit_tiny: ['onnx', 'json'],
  swin_tiny: ['onnx', 'json'],
};
const dir = join(root, '.cache', 'models');
const missing = Object.entries(models).filter(([m, exts]) => exts.some((e) => !existsSync(join(dir, `${m}.${e}`)))).map(([m]) => m);
if (missing.length === 0) process.exit(0);
const python = process.env.FSTA_PYTHON ?? '/usr/bin/python3';
console.log(`exporting ${missing.join(', ')} with ${python}`);
const r = spawnSync(python, [join(root, 'tools', 'export_torchvision.py'), '--only', ...missing], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
