import { decodeImage } from '@fsta/onnxruntime-web';
import { decodeFile } from '../../src/decode.js';

export interface Decoded { file: string; width: number; height: number; bytes: number[]; dropped: number[]; error?: string }

const rgb = (d: ArrayLike<number>, channels: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < d.length; i += channels) out.push(d[i]!, d[i + 1]!, d[i + 2]!);
  return out;
};

/**
 * In the page: each fixture through the one browser decoder, @fsta/onnxruntime-web's
 * decodeImage, as a library user calls it (bytes) and as the inspector does (a dropped File).
 */
export async function run(args: { files: string[] }): Promise<Decoded[]> {
  const out: Decoded[] = [];
  for (const file of args.files) {
    try {
      const bytes = new Uint8Array(await (await fetch(`/icc/${file}`)).arrayBuffer());
      const a = await decodeImage(bytes, 0);
      const b = await decodeFile(new File([bytes], file, { type: file.endsWith('.png') ? 'image/png' : 'image/jpeg' }));
      if (a.width !== b.width || a.height !== b.height) throw new Error(`bytes decode to ${a.width}x${a.height}, the File to ${b.width}x${b.height}`);
      out.push({ file, width: a.width, height: a.height, bytes: rgb(a.data, a.channels ?? 4), dropped: rgb(b.data, b.channels ?? 4) });
    } catch (e) {
      out.push({ file, width: 0, height: 0, bytes: [], dropped: [], error: String((e as Error).stack ?? e) });
    }
  }
  return out;
}
