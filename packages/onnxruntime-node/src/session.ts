import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openFirstSession } from '@fsta/onnx';

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

/** CUDA then CPU where onnxruntime-node has its CUDA provider installed, else CPU alone (nothing to fall back from). */
export function installedProviders(): NodeExecutionProvider[] {
  return cudaMissingReason() === null ? ['cuda', 'cpu'] : ['cpu'];
}

/**
 * onnxruntime's intra-op threads spin between the operators of a run (quick hand-offs), and by
 * default keep spinning for tens of milliseconds after run() returns: on a small machine that
 * takes a core from the sharp decodes of the next batch, which run exactly then.
 * force_spinning_stop ends the spinning when a run ends.
 */
export const DETECTOR_SESSION_OPTIONS = { extra: { session: { force_spinning_stop: '1' } } } as const;

/**
 * The physical cores this process may use, from Linux's CPU topology (distinct package and
 * core ids), capped by the CPUs it is allowed to run on; null where that cannot be read.
 * onnxruntime's own default (intra-op threads = physical cores) measured 1 thread on a 2-core
 * Linux VM whose topology lists 2 cores, which halved the model's speed there.
 */
export function physicalCores(root = '/sys/devices/system/cpu'): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const ids = new Set<string>();
    for (const cpu of readdirSync(root).filter((d) => /^cpu\d+$/.test(d))) {
      const at = (f: string) => readFileSync(`${root}/${cpu}/topology/${f}`, 'utf8').trim();
      ids.add(`${at('physical_package_id')}:${at('core_id')}`);
    }
    return ids.size > 0 ? Math.min(ids.size, availableParallelism()) : null;
  } catch {
    return null;
  }
}

/**
 * Opens one session on the given bytes, trying providers in order. A provider that
 * cannot load falls through to the next with one log line saying why; only when none
 * loads does this throw.
 */
export async function openSession(model: Uint8Array, providers: readonly NodeExecutionProvider[], log: (line: string) => void, intraOpNumThreads: number | null = physicalCores()): Promise<OpenedSession> {
  return openFirstSession(providers, {
    runtime: '@fsta/onnxruntime-node',
    supported: ['cuda', 'cpu'],
    unavailable: (provider) => {
      const missing = provider === 'cuda' ? cudaMissingReason() : null;
      return missing ? `CUDA unavailable: ${missing}` : null;
    },
    create: (provider) => ort.InferenceSession.create(model, { executionProviders: [provider], ...DETECTOR_SESSION_OPTIONS, ...(intraOpNumThreads !== null ? { intraOpNumThreads } : {}) }),
    log,
    fix: "include 'cpu' in executionProviders, or install onnxruntime-node's CUDA provider",
    example: "['cuda', 'cpu'] (the default) or ['cpu']",
  });
}
