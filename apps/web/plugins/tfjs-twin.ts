import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs tool without type declarations
import { convertResnet } from '../../../tools/onnx-to-tfjs-resnet.mjs';

/**
 * Converts the demo ONNX model to a tfjs LayersModel (tools/onnx-to-tfjs-resnet.mjs)
 * unless an up-to-date copy is already in `outDir`. Returns false, so the page offers
 * no tfjs model, when the ONNX file is missing or is not a ResNet that tool reads.
 */
export function tfjsTwin(onnxPath: string, outDir: string): boolean {
  if (!existsSync(onnxPath)) return false;
  const json = path.join(outDir, 'model.json');
  if (existsSync(json) && statSync(json).mtimeMs >= statSync(onnxPath).mtimeMs && statSync(fileURLToPath(new URL('../../../tools/onnx-to-tfjs-resnet.mjs', import.meta.url))).mtimeMs <= statSync(json).mtimeMs) return true;
  try {
    (convertResnet as (a: string, b: string) => unknown)(onnxPath, outDir);
    return true;
  } catch (e) {
    console.warn(`fsta web: no TensorFlow.js version of ${onnxPath} (${(e as Error).message})`);
    return false;
  }
}
