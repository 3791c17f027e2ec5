#!/usr/bin/env node
// Exports the torchvision test models into .cache/models/ unless they are all there.
// Tests and CI call this before running: `node tools/ensure-models.mjs`.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const models = ['resnet18', 'resnet50', 'densenet121', 'fcn_resnet50', 'fasterrcnn_resnet50_fpn'];
const dir = join(root, '.cache', 'models');
const missing = models.filter((m) => !existsSync(join(dir, `${m}.onnx`)) || !existsSync(join(dir, `${m}.json`)));
if (missing.length === 0) process.exit(0);
const python = process.env.FSTA_PYTHON ?? '/usr/bin/python3';
console.log(`exporting ${missing.join(', ')} with ${python}`);
const r = spawnSync(python, [join(root, 'tools', 'export_torchvision.py'), '--only', ...missing], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
