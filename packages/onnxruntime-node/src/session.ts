import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FstaError } from '@fsta/core';

export type NodeExecutionProvider = 'cuda' | 'cpu';

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider the session was created with. */
  provider: NodeExecutionProvider;
}

/**
 * Why CUDA cannot load, known before trying: onnxruntime-node downloads its CUDA
 * provider at install time only when asked, and trying without it makes onnxruntime
 * print its own error line on top of ours.
 */
function cudaMissingReason(): string | null {
  if (process.platform !== 'linux' && process.platform !== 'win32') return `onnxruntime-node has no CUDA provider for ${process.platform}`;
  let binDir: string;
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    binDir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null; // unusual layout: let onnxruntime try and report
  }
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!existsSync(join(binDir, lib))) return `onnxruntime-node was installed without its CUDA provider (${lib} is not in ${binDir}; reinstall with \`npm i onnxruntime-node --onnxruntime-node-install=cuda12\` on a machine with CUDA 12)`;
  return null;
}

/**
 * Opens one session on the given bytes, trying providers in order. A provider that
 * cannot load falls through to the next with one log line saying why; only when none
 * loads does this throw.
 */
export async function openSession(model: Uint8Array, providers: readonly NodeExecutionProvider[], log: (line: string) => void): Promise<OpenedSession> {
  if (providers.length === 0) throw new FstaError('BAD_OPTION', 'executionProviders is empty', "pass ['cuda', 'cpu'] (the default) or ['cpu']");
  const reasons: string[] = [];
  for (const provider of providers) {
    if (provider !== 'cuda' && provider !== 'cpu') throw new FstaError('BAD_OPTION', `execution provider "${String(provider)}" is not supported by @fsta/onnxruntime-node`, "use 'cuda' and/or 'cpu'");
    const missing = provider === 'cuda' ? cudaMissingReason() : null;
    if (missing) { reasons.push(`CUDA unavailable: ${missing}`); continue; }
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
      if (reasons.length > 0) log(`@fsta/onnxruntime-node: running on ${provider}. ${reasons.join('; ')}`);
      return { session, provider };
    } catch (e) {
      reasons.push(`${provider} failed to start (${(e as Error).message.split('\n')[0]})`);
    }
  }
  throw new FstaError('NO_PROVIDER', `no execution provider could run the model: ${reasons.join('; ')}`, "include 'cpu' in executionProviders, or install onnxruntime-node's CUDA provider");
}
