import { decodeImage } from '@fsta/onnxruntime-web';
import { decodeImageFile } from '../../src/decode.js';

export interface Decoded { file: string; width: number; height: number; adapter: number[]; app: number[]; error?: string }

const rgb = (d: ArrayLike<number>, channels: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < d.length; i += channels) out.push(d[i]!, d[i + 1]!, d[i + 2]!);
  return out;
};

/** In the page: each fixture decoded by @fsta/onnxruntime-web (bytes) and by the inspector (a dropped File). */
export async function run(args: { files: string[] }): Promise<Decoded[]> {
  const out: Decoded[] = [];
  for (const file of args.files) {
    try {
      const bytes = new Uint8Array(await (await fetch(`/icc/${file}`)).arrayBuffer());
      const a = await decodeImage(bytes, 0);
      const b = await decodeImageFile(new File([bytes], file, { type: file.endsWith('.png') ? 'image/png' : 'image/jpeg' }));
      out.push({ file, width: a.width, height: a.height, adapter: rgb(a.data, a.channels ?? 4), app: rgb(b.data, b.channels ?? 4) });
    } catch (e) {
      out.push({ file, width: 0, height: 0, adapter: [], app: [], error: String((e as Error).stack ?? e) });
    }
  }
  return out;
}
