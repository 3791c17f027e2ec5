// @ts-check
// Section 4 of issue 7: the same patched model in onnxruntime-web (WASM, in Node)
// against onnxruntime-node, and the same tfjs model on the wasm and cpu backends.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { encodeModel, patchModel } from '@fsta/onnx';
import { createDetector as createTfjsDetector } from '@fsta/tfjs';
import { fileHandler } from '@fsta/tfjs/node';
import { interleaved, median } from './timing.mjs';
import { ROOT, probeInput } from './models.mjs';
import { cifarResnetTfjsJson } from './tfjs-model.mjs';
import { SESSION_OPTIONS } from './overhead.mjs';

/** @param {ReturnType<typeof import('./models.mjs').loadModel>} m */
export async function ortWebSection(m, batch, reps) {
  const bytes = encodeModel(patchModel(m.model, { fsStageTensor: m.fsTensor, taStageTensor: m.taTensor, k: m.k, ...(m.head ? { head: m.head } : {}) }).model);
  ortWeb.env.wasm.numThreads = 2;
  const node = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  let web;
  let threads = 2;
  try {
    web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  } catch {
    // Multi-threaded WASM needs worker support that some Node builds lack.
    threads = 1;
    ortWeb.env.wasm.numThreads = 1;
    web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  }
  const shape = [batch, ...m.chw];
  const x = probeInput(shape);
  const input = node.inputNames[0];
  const t = await interleaved([
    { name: 'onnxruntime-node (CPU)', run: () => node.run({ [input]: new ort.Tensor('float32', x, shape) }) },
    { name: `onnxruntime-web (WASM, ${threads} thread${threads > 1 ? 's' : ''})`, run: () => web.run({ [input]: new ortWeb.Tensor('float32', x, shape) }) },
  ], { reps });
  await node.release();
  await web.release();
  return { model: m.label, batch, variants: t };
}

/**
 * The tfjs CIFAR ResNet-56 (rebuilt from the ONNX weights by tools/onnx-to-tfjs-resnet.mjs)
 * through @fsta/tfjs's detector on each backend. tfjs backends are global, so the
 * backends alternate in blocks (cpu, wasm, wasm, cpu, …) rather than run by run.
 */
export async function tfjsSection(batch, rounds, runsPerBlock) {
  const json = await cifarResnetTfjsJson();
  setWasmPaths(join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
  const shape = [batch, 3, 32, 32];
  const data = probeInput(shape);
  /** @type {Record<string, number[]>} */
  const times = { cpu: [], wasm: [] };
  const order = [];
  for (let r = 0; r < rounds; r++) order.push(...(r % 2 ? ['wasm', 'cpu'] : ['cpu', 'wasm']));
  for (const backend of order) {
    if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) throw new Error(`tfjs backend ${backend} did not start`);
    await tf.ready();
    const model = await tfl.loadLayersModel(fileHandler(json));
    const det = await createTfjsDetector({ model, stages: { fs: 'layer3', ta: 'layer2' }, k: 0.5, logits: 'logits', batchSize: batch });
    await det.score({ data, shape });
    await det.score({ data, shape });
    for (let i = 0; i < runsPerBlock; i++) {
      const t0 = performance.now();
      await det.score({ data, shape });
      /** @type {number[]} */ (times[backend]).push(performance.now() - t0);
    }
    await det.dispose();
    model.dispose();
  }
  const cpu = median(/** @type {number[]} */ (times.cpu));
  const wasm = median(/** @type {number[]} */ (times.wasm));
  return { model: 'CIFAR ResNet-56 (tfjs LayersModel)', batch, cpuMs: cpu, wasmMs: wasm, ratio: wasm / cpu };
}
