// @ts-check
// Section 5 of issue 7 (and issue 8's long run), run in a child process of its own
// so that peak RSS belongs to this measurement only:
//   node tools/bench/memory.mjs peak N        peak RSS while scoring N ImageNet JPEGs (MobileNetV2)
//   node tools/bench/memory.mjs calls N       RSS over N score() calls on one onnxruntime-node detector (ResNet-56)
//   node tools/bench/memory.mjs tfjs N        RSS and tf.memory().numTensors over N score() calls (tfjs cpu, ResNet-20:
//                                            a leak does not depend on depth, and 20 layers keep 1,000 calls short)
// Prints one JSON line.
import { join } from 'node:path';
import { SHARED, imageList } from './images.mjs';
import { cifarResnetTfjsJson } from './tfjs-model.mjs';

// Imported per mode, so the tfjs run loads no onnxruntime and the others no tfjs.
const ortDetector = async () => (await import('@fsta/onnxruntime-node')).createDetector;

const MiB = 2 ** 20;
const rss = () => process.memoryUsage().rss / MiB;

/** RSS (and numTensors) at 10 evenly spaced points over `n` calls of `call`. */
async function sampled(n, call, extra = () => ({})) {
  const samples = [];
  for (let i = 1; i <= n; i++) {
    await call(i);
    if (i % Math.max(1, Math.floor(n / 10)) === 0 || i === n) {
      global.gc?.();
      samples.push({ calls: i, rssMiB: rss(), ...extra() });
    }
  }
  return samples;
}

async function main() {
  const [mode, count] = process.argv.slice(2);
  const n = Number(count);
  if (mode === 'peak') {
    const files = imageList('imagenet-val-1k', n);
    const det = await (await ortDetector())({ model: join(SHARED, 'models/imagenet-mobilenetv2.onnx'), backbone: 'mobilenet_v2', executionProviders: ['cpu'], batchSize: 16 });
    const before = process.resourceUsage().maxRSS / 1024;
    for (let i = 0; i < files.length; i += 16) await det.score(files.slice(i, i + 16));
    await det.dispose();
    console.log(JSON.stringify({ mode, images: files.length, peakRssLoadingMiB: before, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
  } else if (mode === 'calls') {
    const files = imageList('cifar10-test', 100);
    const det = await (await ortDetector())({ model: join(SHARED, 'models/cifar10-resnet56.onnx'), backbone: 'cifar_resnet56', executionProviders: ['cpu'] });
    const samples = await sampled(n, (i) => det.score(files[i % files.length]));
    await det.dispose();
    console.log(JSON.stringify({ mode, calls: n, samples }));
  } else if (mode === 'tfjs') {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    const tfl = await import('@tensorflow/tfjs-layers');
    const { createDetector: tfjsDetector } = await import('@fsta/tfjs');
    const { fileHandler } = await import('@fsta/tfjs/node');
    await tf.setBackend('cpu');
    const model = await tfl.loadLayersModel(fileHandler(await cifarResnetTfjsJson(20)));
    const det = await tfjsDetector({ model, stages: { fs: 'layer3', ta: 'layer2' }, k: 0.5, logits: 'logits' });
    const shape = [1, 3, 32, 32];
    const data = Float32Array.from({ length: 3072 }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const samples = await sampled(n, () => det.score({ data, shape }), () => ({ numTensors: tf.memory().numTensors }));
    await det.dispose();
    console.log(JSON.stringify({ mode, model: 'CIFAR ResNet-20', calls: n, samples }));
  } else throw new Error(`unknown mode ${mode}`);
}

await main();
