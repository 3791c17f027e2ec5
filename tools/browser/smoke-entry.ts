import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';

/** Reports which GPU paths the page has, and one reduction on each tfjs backend. */
export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const backend of ['webgl', 'webgpu']) {
    try {
      await tf.setBackend(backend);
      await tf.ready();
      const x = tf.tensor2d([[1, 2], [3, 4]]);
      out[backend] = { backend: tf.getBackend(), mean: Array.from(await tf.mean(x, 1).data()) };
    } catch (e) {
      out[backend] = { error: String(e) };
    }
  }
  return out;
}
