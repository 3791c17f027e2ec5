import * as ort from 'onnxruntime-web';
import { FstaError } from '@fsta/core';
import { inNode } from './decode-image.js';

export type WebExecutionProvider = 'webgpu' | 'wasm';

/** WebGPU where the browser exposes it, WASM otherwise (and always in Node). */
export const defaultProviders = (): WebExecutionProvider[] =>
  !inNode() && typeof navigator !== 'undefined' && 'gpu' in navigator ? ['webgpu', 'wasm'] : ['wasm'];

/** Opens one session, trying providers in order; a fallback is reported in one log line. */
export async function openSession(model: Uint8Array, providers: readonly WebExecutionProvider[], log: (line: string) => void): Promise<{ session: ort.InferenceSession; provider: WebExecutionProvider }> {
  if (providers.length === 0) throw new FstaError('BAD_OPTION', 'executionProviders is empty', "pass ['webgpu', 'wasm'] or ['wasm']");
  const reasons: string[] = [];
  for (const provider of providers) {
    if (provider !== 'webgpu' && provider !== 'wasm') throw new FstaError('BAD_OPTION', `execution provider "${String(provider)}" is not supported by @fsta/onnxruntime-web`, "use 'webgpu' and/or 'wasm'");
    if (provider === 'webgpu' && (inNode() || typeof navigator === 'undefined' || !('gpu' in navigator))) { reasons.push('WebGPU unavailable: this environment has no navigator.gpu'); continue; }
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
      if (reasons.length > 0) log(`@fsta/onnxruntime-web: running on ${provider}. ${reasons.join('; ')}`);
      return { session, provider };
    } catch (e) {
      reasons.push(`${provider} failed to start (${(e as Error).message.split('\n')[0]})`);
    }
  }
  throw new FstaError('NO_PROVIDER', `no execution provider could run the model: ${reasons.join('; ')}`, "include 'wasm' in executionProviders");
}
