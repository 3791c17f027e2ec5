import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as tfCore from '@tensorflow/tfjs-core';
import type { io } from '@tensorflow/tfjs-core';
import { FstaError } from '@fsta/core';

/**
 * A tfjs IOHandler that reads a model.json and its weight shards from disk, so that
 * `tf.loadGraphModel(fileHandler(path))` and `tf.loadLayersModel(...)` work in Node
 * without tfjs-node.
 */
export function fileHandler(modelJsonPath: string): io.IOHandler {
  const dir = dirname(resolve(modelJsonPath));
  return {
    async load() {
      let json: io.ModelJSON;
      try {
        json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as io.ModelJSON;
      } catch (e) {
        throw new FstaError('MODEL_LOAD', `cannot read the tfjs model at ${modelJsonPath} (${(e as Error).message})`, 'pass the path of a model.json written by tensorflowjs_converter or model.save()');
      }
      return tfCore.io.getModelArtifactsForJSON(json, async (manifest) => {
        const shards = await Promise.all(manifest.flatMap((group) => group.paths.map((p) => readFile(resolve(dir, p)))));
        const buffers = shards.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        return [tfCore.io.getWeightSpecs(manifest), tfCore.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}
