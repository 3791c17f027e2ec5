import * as ort from 'onnxruntime-web';
import { openFirstSession } from '@fsta/onnx';
import { inNode } from './decode-image.js';

export type WebExecutionProvider = 'webgpu' | 'wasm';

/** WebGPU where the browser exposes it, WASM otherwise (and always in Node). */
export const defaultProviders = (): WebExecutionProvider[] =>
  !inNode() && typeof navigator !== 'undefined' && 'gpu' in navigator ? ['webgpu', 'wasm'] : ['wasm'];

/** Opens one session, trying providers in order; a fallback is reported in one log line. */
export async function openSession(model: Uint8Array, providers: readonly WebExecutionProvider[], log: (line: string) => void): Promise<{ session: ort.InferenceSession; provider: WebExecutionProvider }> {
  return openFirstSession(providers, {
    runtime: '@fsta/onnxruntime-web',
    supported: ['webgpu', 'wasm'],
    unavailable: (provider) =>
      provider === 'webgpu' && (inNode() || typeof navigator === 'undefined' || !('gpu' in navigator)) ? 'WebGPU unavailable: this environment has no navigator.gpu' : null,
    create: (provider) => ort.InferenceSession.create(model, { executionProviders: [provider] }),
    log,
    fix: "include 'wasm' in executionProviders",
    example: "['webgpu', 'wasm'] or ['wasm']",
  });
}
