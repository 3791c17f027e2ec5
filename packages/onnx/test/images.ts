import sharp, { type Sharp } from 'sharp';
import { SHARED } from './helpers.js';

const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];

async function toNCHW(img: Sharp, size: number): Promise<Float32Array> {
  const { data } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const out = new Float32Array(3 * size * size);
  for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) out[c * size * size + p] = (data[p * 3 + c]! / 255 - MEAN[c]!) / STD[c]!;
  return out;
}

/** A batch of real images preprocessed as ../shared/README.md says (CIFAR 32x32, or ImageNet resize 256 + center crop 224). */
export async function imageBatch(kind: 'cifar' | 'imagenet', count: number): Promise<{ data: Float32Array; dims: number[] }> {
  const size = kind === 'cifar' ? 32 : 224;
  const files = kind === 'cifar'
    ? ['airplane/0000.png', 'bird/0000.png', 'cat/0000.png', 'truck/0000.png'].map((f) => `${SHARED}data/cifar10-test-png-1k/${f}`)
    : ['n01440764_tench.JPEG', 'n01443537_goldfish.JPEG'].map((f) => `${SHARED}data/imagenet-val-1k/${f}`);
  const out = new Float32Array(count * 3 * size * size);
  for (let i = 0; i < count; i++) {
    const f = files[i % files.length]!;
    const img = kind === 'cifar' ? sharp(f) : sharp(f).resize(256, 256, { fit: 'outside', kernel: 'linear' }).resize(size, size, { fit: 'cover', position: 'centre' });
    out.set(await toNCHW(img, size), i * 3 * size * size);
  }
  return { data: out, dims: [count, 3, size, size] };
}
