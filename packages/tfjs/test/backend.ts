import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type NodeBackend = 'cpu' | 'wasm';
export const nodeBackends: NodeBackend[] = ['cpu', 'wasm'];

const wasmDir = fileURLToPath(new URL('../../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));

/** Switches tf to `name` and proves it is really running there. */
export async function useBackend(name: NodeBackend): Promise<void> {
  if (name === 'wasm') setWasmPaths(wasmDir);
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tfjs backend ${name} did not start (active: ${tf.getBackend()})`);
}
