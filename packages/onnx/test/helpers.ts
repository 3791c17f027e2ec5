import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

/** ../shared, relative to the repository root. */
export const SHARED = fileURLToPath(new URL('../../../../shared/', import.meta.url));
export const MODELS = `${SHARED}models/`;
export const haveShared = existsSync(MODELS);
export const modelFiles = haveShared ? readdirSync(MODELS).filter((f) => f.endsWith('.onnx')).sort() : [];
export const readModel = (f: string) => new Uint8Array(readFileSync(MODELS + f));

/** Deterministic pseudo-random inputs (mulberry32). */
export function seeded(n: number, seed = 1, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

export async function runOrt(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v.data, v.dims);
  const out = await session.run(inputs);
  const res: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [k, v] of Object.entries(out)) res[k] = { data: v.data as Float32Array, dims: [...v.dims] };
  await session.release();
  return res;
}

/** Input side length of the shared models (CIFAR 32, ImageNet 224). */
export const inputSize = (f: string) => (f.startsWith('cifar') ? 32 : 224);

/**
 * The path of the first difference between two decoded models, or null. Byte fields
 * compare by content (a Node Buffer equals a Uint8Array with the same bytes); far
 * faster than toEqual on multi-megabyte weights.
 */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (a === b) return null;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0 ? null : `${path} (bytes differ)`;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${path}: ${String(a)} vs ${String(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
  if (ka.join() !== kb.join()) return `${path}: keys [${ka.join()}] vs [${kb.join()}]`;
  for (const k of ka) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}
