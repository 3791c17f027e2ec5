import * as ort from 'onnxruntime-web';
import { FstaError, imageHeader, type PixelInput } from '@fsta/core';
import { createDetector, decodeImage } from '@fsta/onnxruntime-web';
import { mutate, rng } from '../../../onnx/test/fuzz.js';

/** What one call gave: the pixels' size, a score, or the error's code and message. */
export interface Outcome { label: string; width?: number; height?: number; fs?: number; code?: string; message?: string }

async function outcome(label: string, job: () => Promise<PixelInput | number>): Promise<Outcome> {
  try {
    const r = await job();
    return typeof r === 'number' ? { label, fs: r } : { label, width: r.width, height: r.height };
  } catch (e) {
    return { label, code: e instanceof FstaError ? e.code : `not an FstaError: ${(e as Error)?.name}`, message: String((e as Error)?.message ?? e) };
  }
}

export interface MutantArgs { files: string[]; perFile: number; seed: number; skipAbove: number }

/** One mutant: the size imageHeader reads and the size Chromium decodes (null: none read, or not decoded). */
export interface Mutant { file: string; index: number; kind: string; header: [number, number] | null; decoded: [number, number] | null }

/**
 * In the page: mutated and truncated copies of each file (the fuzzer of packages/onnx/test),
 * through imageHeader and through createImageBitmap. Mutants whose header claims over
 * `skipAbove` pixels are not decoded (the cap refuses them; decoding one could take gigabytes).
 */
async function mutants(args: MutantArgs): Promise<Mutant[]> {
  const out: Mutant[] = [];
  for (const file of args.files) {
    const src = new Uint8Array(await (await fetch(`/img/${file}`)).arrayBuffer());
    const r = rng(args.seed ^ file.length);
    for (let index = 0; index < args.perFile; index++) {
      const { bytes, kind } = mutate(src, r, { hot: [[0, Math.min(src.length, 256)]] });
      const h = imageHeader(bytes);
      const m: Mutant = { file, index, kind, header: h && [h.width, h.height], decoded: null };
      out.push(m);
      if (h && h.width * h.height > args.skipAbove) continue;
      try {
        const bitmap = await createImageBitmap(new Blob([bytes as BlobPart]), { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
        m.decoded = [bitmap.width, bitmap.height];
        bitmap.close();
      } catch { /* not decodable: nothing to compare */ }
    }
  }
  return out;
}

/** In the page: the adapter's decodeImage and createDetector({ maxImagePixels }) on the header fixtures (tools/fixtures/header_images.py). */
export async function run(args: { huge: string[]; modelUrl: string; mutants: MutantArgs }): Promise<{ outcomes: Outcome[]; mutants: Mutant[] }> {
  ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
  const get = async (f: string) => new Uint8Array(await (await fetch(`/img/${f}`)).arrayBuffer());
  const out: Outcome[] = [];
  for (const f of args.huge) {
    const bytes = await get(f);
    out.push(await outcome(`${f} bytes`, () => decodeImage(bytes, 3)));
    out.push(await outcome(`${f} File`, () => decodeImage(new File([bytes], f), 3, undefined, { name: `"${f}"` })));
  }
  const png = await get('rgb.png'), jpeg = await get('orientation6.jpg'), ico = await get('icon.ico');
  out.push(
    await outcome('png cap 850', () => decodeImage(png, 0, 850)),
    await outcome('png cap 851', () => decodeImage(png, 0, 851)),
    await outcome('png url cap 850', () => decodeImage('/img/rgb.png', 1, 850)),
    await outcome('jpeg exif6 cap 850', () => decodeImage(jpeg, 0, 850)),
    await outcome('jpeg exif6 cap 851', () => decodeImage(jpeg, 0, 851)),
    await outcome('ico cap 159', () => decodeImage(ico, 0, 159)),
    await outcome('ico cap 160', () => decodeImage(ico, 0, 160)),
    await outcome('bitmap cap 100', async () => {
      const bitmap = await createImageBitmap(new Blob([png as BlobPart]));
      try { return await decodeImage(bitmap, 2, 100); } finally { bitmap.close(); }
    }),
    await outcome('empty File', () => decodeImage(new File([], 'empty.png', { type: 'image/png' }), 0, undefined, { name: '"empty.png"' })),
    await outcome('text File', () => decodeImage(new File(['this is not an image'], 'notes.txt', { type: 'text/plain' }), 0, undefined, { name: '"notes.txt"' })),
    await outcome('png cut before its image data', () => decodeImage(png.subarray(0, 40), 0)),
    await outcome('png cut in its image data', () => decodeImage(png.subarray(0, png.length - 30), 0)),
    await outcome('jpeg cut in half', () => decodeImage(jpeg.subarray(0, jpeg.length >> 1), 0)),
  );
  for (const cap of [100, undefined]) {
    const logs: string[] = [];
    const det = await createDetector({ model: args.modelUrl, backbone: 'cifar_resnet20', executionProviders: ['wasm'], logger: (l) => logs.push(l), ...(cap !== undefined ? { maxImagePixels: cap } : {}) });
    try {
      out.push(await outcome(`detector cap ${cap ?? 'default'}`, async () => (await det.score([png]))[0]!.fs));
    } finally {
      await det.dispose();
    }
  }
  out.push(await outcome('detector cap 0', async () => (await createDetector({ model: args.modelUrl, backbone: 'cifar_resnet20', maxImagePixels: 0 })).runtime.length));
  return { outcomes: out, mutants: await mutants(args.mutants) };
}
