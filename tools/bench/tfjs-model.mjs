// @ts-check
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './images.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;

/** model.json of a CIFAR ResNet rebuilt for tfjs from its ONNX weights (made once, in the git-ignored .cache). */
export async function cifarResnetTfjsJson(depth = 56) {
  const dir = join(ROOT, `.cache/tfjs/cifar10-resnet${depth}`);
  if (!existsSync(join(dir, 'model.json'))) {
    const { convertResnet } = await import(join(ROOT, 'tools/onnx-to-tfjs-resnet.mjs'));
    convertResnet(join(SHARED, `models/cifar10-resnet${depth}.onnx`), dir);
  }
  return join(dir, 'model.json');
}
